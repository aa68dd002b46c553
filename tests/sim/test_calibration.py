"""REDS calibration: the preset reproduces the real clips' spike rates; fit_gain recovers known gains."""

import numpy as np
import pytest

from spikevision import read_dat
from spikevision.sim import REDS_PRESET, CameraSettings, fit_gain, rate_ratio, simulate

CLIPS = ("203_part2_key_id151", "203_part3_key_id151")


def _gt(path):
    from PIL import Image

    return np.asarray(Image.open(path))


def test_preset_matches_reds_clips(reds_sample_dir):
    pytest.importorskip("PIL")
    for name in CLIPS:
        real = read_dat(reds_sample_dir / "spike" / f"{name}.dat", sensor="vidar")
        gt = _gt(reds_sample_dir / "gt" / f"{name}.png")
        real_rate, _ = rate_ratio(real, gt, center=150, window=41)
        sim_rate = simulate(gt, n_frames=301, settings=REDS_PRESET, seed=0).mean_rate()
        assert sim_rate == pytest.approx(real_rate, rel=0.05)
        assert sim_rate == pytest.approx(real.mean_rate(), rel=0.05)


def test_fit_gain_on_reds_gives_preset(reds_sample_dir):
    pytest.importorskip("PIL")
    pairs = [(read_dat(reds_sample_dir / "spike" / f"{n}.dat", sensor="vidar"), _gt(reds_sample_dir / "gt" / f"{n}.png"))
             for n in CLIPS]
    s = fit_gain(pairs, center=150)
    assert s.gain / s.threshold == pytest.approx(REDS_PRESET.gain / REDS_PRESET.threshold, rel=0.01)


def test_fit_gain_recovers_known_ratio(rng):
    img = rng.random((20, 30)).astype(np.float32)
    true = CameraSettings(threshold=100.0, gain=45.0)
    stream = simulate(img, n_frames=401, settings=true, seed=1)
    s = fit_gain([(stream, img)], window=401)
    assert s.gain == pytest.approx(45.0, rel=0.01)
    assert s.threshold == REDS_PRESET.threshold and s.random_init == REDS_PRESET.random_init


def test_bad_input(rng):
    stream = simulate(rng.random((4, 5)), n_frames=50)
    with pytest.raises(ValueError):
        fit_gain([])
    with pytest.raises(ValueError):
        rate_ratio(stream, np.zeros((5, 4)))
    with pytest.raises(ValueError):
        fit_gain([(stream, np.zeros((4, 5)))], window=41)
    with pytest.raises(ValueError):
        rate_ratio(stream, np.zeros((4, 5)), center=2, window=41)  # window outside the stream
