"""A simulated car over the real (static) UHSR capture: one track follows it rightwards, none on the background."""

import importlib.util
from pathlib import Path

import numpy as np

from spikevision.track import track

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "real_like_track_check.py"


def test_car_over_real_background(uhsr_sample):
    spec = importlib.util.spec_from_file_location("real_like_track_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with np.load(uhsr_sample) as z:
        real = z["spk"]
    spikes, boxes = mod.car_sequence(real, repeat=2, speed=0.46)
    res = track(spikes, every=10)
    assert res.ids.tolist() == [1]
    r = res.track(1)
    assert r[-1, 0] - r[0, 0] >= 300
    v = np.polyfit(r[:, 0], r[:, 2] + r[:, 4] / 2, 1)[0]
    assert 0.35 < v < 0.55
