"""Real and real-like car checks: a car-like object passing rightwards at 0.46 px/frame gives one track that
follows it (over a real static capture and over a static photo), and the static real capture alone raises no
lasting track — for each tracking method."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from spikevision.track import METHODS, track

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "real_like_track_check.py"
SPEED = 0.46


def _methods():
    out = ["classical"]
    try:
        import torch  # noqa: F401
    except ImportError:
        return out
    return out + ["learned"]


def _load_script():
    spec = importlib.util.spec_from_file_location("real_like_track_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _one_rightwards_track(res, boxes, *, min_frames: int) -> None:
    from spikevision.metrics.track import box_iou

    assert res.ids.tolist() == [1], f"expected one track, got {len(res.ids)}"
    r = res.track(1)
    assert r[-1, 0] - r[0, 0] >= min_frames
    v = np.polyfit(r[:, 0], r[:, 2] + r[:, 4] / 2, 1)[0]
    assert 0.35 < v < 0.55
    iou = [box_iou(row[2:6], boxes(int(row[0])))[0, 0] for row in r]
    assert np.mean(iou) > 0.4


def test_methods_listed():
    assert set(_methods()) <= set(METHODS)


@pytest.mark.parametrize("method", _methods())
def test_car_over_real_background(uhsr_sample, method):
    mod = _load_script()
    with np.load(uhsr_sample) as z:
        real = z["spk"]
    spikes, boxes = mod.car_sequence(real, repeat=2, speed=SPEED)
    _one_rightwards_track(track(spikes, every=10, method=method), lambda t: boxes[t], min_frames=300)


@pytest.mark.parametrize("method", _methods())
def test_static_real_capture_raises_no_lasting_track(uhsr_sample, method):
    with np.load(uhsr_sample) as z:
        real = z["spk"]
    res = track(np.concatenate([real] * 3), every=10, method=method)
    spans = [float(np.ptp(res.track(i)[:, 0])) for i in res.ids]
    assert all(s < 100 for s in spans), f"tracks on a static scene lasting {spans} frames"


@pytest.fixture(scope="module")
def photo_car():
    """A bright textured 56 x 26 rounded car passing rightwards at 0.46 px/frame over a static photo (160 x 256)."""
    from PIL import Image

    from spikevision.samples import sample
    from spikevision.sim import REDS_PRESET, simulate
    from spikevision.sim.scenes import Layer, Motion, Scene, Shape, Texture

    img = np.asarray(Image.open(sample().gt).convert("L"), np.float32) / 255.0
    bg = 0.15 + 0.5 * img[40:200, 60:316]
    h, w = bg.shape
    rng = np.random.default_rng(0)
    tex = 0.8 + 0.2 * rng.random((30, 60)).astype(np.float32)
    tex[12:16] *= 0.85
    car = Shape("polygon", [(-28, -13), (28, -13), (28, 13), (-28, 13)])
    scene = Scene(h, w, Layer(Shape("plane"), Texture(bg), Motion(center=((w - 1) / 2, (h - 1) / 2))),
                  (Layer(car, Texture(tex), Motion(center=(20.0, 0.6 * h), velocity=(SPEED, 0.0))),))
    spikes = simulate(scene, n_frames=460, settings=REDS_PRESET, seed=0).to_numpy()
    return spikes, lambda t: np.array([max(20 + SPEED * t - 28, 0), 0.6 * h - 13,
                                       min(20 + SPEED * t + 28, w) - max(20 + SPEED * t - 28, 0), 26])


@pytest.mark.parametrize("method", _methods())
def test_car_over_static_photo(photo_car, method):
    spikes, boxes = photo_car
    _one_rightwards_track(track(spikes, every=10, method=method), boxes, min_frames=300)
