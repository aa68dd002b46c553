"""track(): arrays out, MOTChallenge rows, static scenes raise nothing, bad input."""

import numpy as np
import pytest

from spikevision import write_dat
from spikevision.io.dat import read_dat
from spikevision.metrics.track import box_iou
from spikevision.sim import IDEAL_PRESET, simulate
from spikevision.track import METHODS, Tracks, TrackSettings, track


def test_one_moving_object_gives_one_track(bar_spikes):
    spikes, _, gt = bar_spikes
    res = track(spikes, every=10)
    assert isinstance(res, Tracks) and res.rows.shape[1] == 7
    assert res.ids.tolist() == [1]
    assert set(res.rows[:, 0] % 10) == {0}
    ious = []
    for row in res.rows:
        g = gt[gt[:, 0] == row[0] + 1]
        ious.append(box_iou(row[2:6], g[:, 2:6]).max())
    assert np.median(ious) > 0.5
    r = res.track(1)
    v = np.polyfit(r[:, 0], r[:, 2] + r[:, 4] / 2, 1)[0]
    assert v == pytest.approx(0.5, abs=0.1)


def test_mot_rows_are_one_based(bar_spikes):
    res = track(bar_spikes[0], every=20)
    mot = res.to_mot()
    assert mot.shape == (len(res.rows), 10)
    np.testing.assert_array_equal(mot[:, 0], res.rows[:, 0] + 1)
    assert (mot[:, 7:] == -1).all()
    assert len(res.at(int(res.rows[0, 0]))) == 1


def test_dat_stream_gives_the_same_tracks(tmp_path, bar_spikes):
    spikes = bar_spikes[0]
    p = write_dat(tmp_path / "bar.dat", spikes)
    with read_dat(p, height=64, width=96) as st:
        a = track(st)
    np.testing.assert_allclose(a.rows, track(spikes).rows)


def test_static_scenes_raise_no_track(make_bar_scene):
    assert track(np.zeros((200, 32, 48), np.uint8)).rows.shape == (0, 7)
    still = simulate(make_bar_scene(speed=0.0), n_frames=200, settings=IDEAL_PRESET, seed=1).to_numpy()
    assert len(track(still).rows) == 0


def test_short_and_empty_streams():
    assert track(np.zeros((5, 16, 16), np.uint8)).rows.shape == (0, 7)


def test_bad_input():
    z = np.zeros((50, 16, 16), np.uint8)
    with pytest.raises(ValueError, match="unknown tracking method"):
        track(z, method="magic")
    with pytest.raises(ValueError):
        track(z, every=0)
    with pytest.raises(TypeError):
        track(z, settings={"step": 5})
    with pytest.raises((ValueError, TypeError)):
        track(np.full((50, 16, 16), 2, np.uint8))
    assert "classical" in METHODS
    with pytest.raises(ValueError):
        TrackSettings(smear=2.0)


def test_learned_method_on_short_empty_and_noise_streams():
    pytest.importorskip("torch", reason="the learned detector needs torch")
    assert "learned" in METHODS
    assert track(np.zeros((5, 16, 16), np.uint8), method="learned").rows.shape == (0, 7)
    assert track(np.zeros((100, 3, 5), np.uint8), method="learned").rows.shape == (0, 7)
    noise = (np.random.default_rng(0).random((200, 64, 96)) < 0.1).astype(np.uint8)
    assert len(track(noise, method="learned").rows) == 0


def test_learned_method_follows_the_bar(bar_spikes):
    pytest.importorskip("torch", reason="the learned detector needs torch")
    spikes, _, gt = bar_spikes
    res = track(spikes, method="learned", every=10)
    assert len(res.ids) == 1
    r = res.track(res.ids[0])
    v = np.polyfit(r[:, 0], r[:, 2] + r[:, 4] / 2, 1)[0]
    assert v == pytest.approx(0.5, abs=0.15)


def test_method_settings():
    from spikevision.track import method_settings

    assert method_settings("classical") == TrackSettings()
    assert method_settings("learned", weights="w.pt").learned.weights == "w.pt"
    with pytest.raises(ValueError, match="only 'learned' takes weights"):
        method_settings("classical", weights="w.pt")
    with pytest.raises(ValueError, match="unknown tracking method"):
        method_settings("magic")
