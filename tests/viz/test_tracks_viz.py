"""Boxes and ids drawn on images; video frames of a tracking result."""

import numpy as np
import pytest

from spikevision.track import track
from spikevision.viz.tracks import draw_tracks, track_video_frames


def test_draw_tracks_marks_the_box():
    img = draw_tracks(np.zeros((40, 60)), np.array([[0, 3, 10, 15, 20, 10, 1.0]]))
    assert img.shape == (40, 60) and img.dtype == np.uint8
    assert img[15, 10:30].min() == 255 and img[20, 20] == 0      # outline drawn, inside untouched
    assert draw_tracks(np.zeros((8, 8)), np.zeros((0, 7))).max() == 0


def test_draw_tracks_bad_input():
    with pytest.raises(ValueError):
        draw_tracks(np.zeros((2, 8, 8)), np.zeros((0, 7)))
    with pytest.raises(ValueError):
        draw_tracks(np.zeros((8, 8)), np.zeros((2, 3)))


def test_video_frames(bar_spikes_viz):
    res = track(bar_spikes_viz, every=20)
    frames = track_video_frames(bar_spikes_viz, res, window=41)
    assert frames.dtype == np.uint8 and frames.shape[1:] == bar_spikes_viz.shape[1:]
    assert len(frames) == len(range(20, 140, 20))


@pytest.fixture
def bar_spikes_viz(rng):
    s = (rng.random((160, 32, 48)) < 0.2).astype(np.uint8)
    return s
