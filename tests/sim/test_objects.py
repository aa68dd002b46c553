"""Tracking ground truth: object scenes, boxes and visibility, MOTChallenge gt.txt next to the spikes."""

import json

import numpy as np
import pytest

from spikevision.io.mot import read_mot
from spikevision.sim import IDEAL_PRESET
from spikevision.sim.objects import (MIN_VISIBILITY, find_track_sequences, gt_rows, object_boxes, track_scene,
                                     write_track_dataset, write_track_sequence)
from spikevision.sim.scenes import Layer, Motion, Scene, Shape, Texture


def test_track_scene_is_deterministic_and_in_range():
    a = track_scene(seed=3, height=80, width=120, size=(12, 20))
    b = track_scene(seed=3, height=80, width=120, size=(12, 20))
    np.testing.assert_array_equal(a.intensity(40.0), b.intensity(40.0))
    assert 2 <= len(a.layers) <= 4 and a.info["ids"] == list(range(1, len(a.layers) + 1))
    for layer in a.layers:
        assert 0.15 - 1e-9 <= np.hypot(*layer.motion.velocity) <= 0.9 + 1e-9
    img = a.intensity(10.0)
    assert img.shape == (80, 120) and 0 <= img.min() and img.max() <= 1


def test_photo_scenes_use_other_photos_than_the_evaluation_set():
    pytest.importorskip("cv2")
    from spikevision.sim.objects import training_photos

    try:
        photos = training_photos()
    except ImportError:
        pytest.skip("neither matplotlib nor scikit-learn is installed (no sample photos)")
    assert photos and all(p.ndim == 2 and 0 <= p.min() and p.max() <= 1 for p in photos)
    a = track_scene(seed=3, height=80, width=120, size=(12, 20), photo_fraction=1.0)
    b = track_scene(seed=3, height=80, width=120, size=(12, 20), photo_fraction=1.0)
    np.testing.assert_array_equal(a.intensity(40.0), b.intensity(40.0))
    assert a.info["photo"] and {layer.texture.kind for layer in a.all_layers} == {"photo"}
    img = a.intensity(10.0)
    assert img.shape == (80, 120) and 0 <= img.min() and img.max() <= 1 and img.std() > 0.01
    # without photos the same seed draws the procedural scene it always drew
    c = track_scene(seed=3, height=80, width=120, size=(12, 20))
    assert not c.info["photo"] and "photo" not in {layer.texture.kind for layer in c.all_layers}
    from spikevision.sim.camera_motion import sample_photo_files

    assert all("skimage" not in str(f) for f in sample_photo_files())


def _two_boxes(t_cross=20.0):
    bg = Layer(Shape("plane"), Texture(np.full((4, 4), 0.4, np.float32)), Motion(center=(49.5, 19.5)))
    sq = Shape("polygon", [(-5, -4), (5, -4), (5, 4), (-5, 4)])
    tex = Texture(np.full((4, 4), 0.9, np.float32))
    a = Layer(sq, tex, Motion(center=(50.0, 20.0), velocity=(1.0, 0.0), t_ref=t_cross))
    b = Layer(sq, tex, Motion(center=(50.0, 20.0), velocity=(-1.0, 0.0), t_ref=t_cross))
    return Scene(40, 100, bg, (a, b))


def test_boxes_and_visibility_through_an_occlusion():
    sc = _two_boxes()
    early = object_boxes(sc, 0.0)
    np.testing.assert_array_equal(early[:, 0], [1, 2])
    np.testing.assert_allclose(early[:, 3:5], [[10, 8], [10, 8]], atol=1)
    assert (early[:, 5] == 1).all()
    mid = object_boxes(sc, 20.0)
    assert mid[0, 5] == 0 and mid[1, 5] == 1      # object 1 is fully behind object 2
    rows = gt_rows(sc, [0, 20])
    assert rows.shape == (4, 10) and rows[0, 0] == 1 and rows[2, 0] == 21
    assert rows[2, 6] == 0 and rows[3, 6] == 1    # the hidden one is "do not care"
    assert MIN_VISIBILITY == 0.25


def test_boxes_are_clipped_and_leave_the_image():
    sc = _two_boxes(t_cross=0.0)
    b = object_boxes(sc, 48.0)                     # object 1 half out on the right
    assert b[0, 1] + b[0, 3] == 100 and 0.3 < b[0, 5] < 0.7
    assert len(object_boxes(sc, 200.0)) == 0


def test_write_sequence_and_dataset(tmp_path):
    seq = write_track_sequence(_two_boxes(), tmp_path / "s", n_frames=40, gt_every=10, settings=IDEAL_PRESET)
    meta = json.loads((seq / "spikes.json").read_text())
    assert meta["height"] == 40 and meta["width"] == 100 and meta["tracking"]["gt_every"] == 10
    gt = read_mot(seq / "gt" / "gt.txt")
    assert sorted(set(gt[:, 0])) == [1, 11, 21, 31]
    assert find_track_sequences(seq) == [seq]
    seqs = write_track_dataset(tmp_path / "d", n_sequences=2, seed=1, n_frames=20,
                               scene_options={"height": 48, "width": 64, "size": (10, 16)})
    assert [p.name for p in seqs] == ["seq_0000", "seq_0001"]
    assert find_track_sequences(tmp_path / "d") == seqs


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError):
        track_scene(seed=-1)
    with pytest.raises(ValueError):
        track_scene(seed=0, speed=(0.5, 0.1))
    with pytest.raises(ValueError):
        track_scene(seed=0, textures=("plaid",))
    with pytest.raises(ValueError, match="photo_fraction"):
        track_scene(seed=0, photo_fraction=1.5)
    with pytest.raises(TypeError, match="gt="):
        write_track_sequence(lambda t: np.zeros((8, 8), np.float32), tmp_path / "x", n_frames=4)
    with pytest.raises(FileNotFoundError):
        find_track_sequences(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no tracking sequence"):
        find_track_sequences(tmp_path / "empty")
