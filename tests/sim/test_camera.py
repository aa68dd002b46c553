"""Camera model: physics checks, determinism, settings, fire() shapes and bad input."""

import dataclasses

import numpy as np
import pytest

from spikevision.sim import IDEAL_PRESET, NOISY_PRESET, REDS_PRESET, CameraSettings, expected_rate, fire, simulate


def const(i, t=20_000, shape=(4, 4)):
    return np.full((t, *shape), i, np.float32)


@pytest.mark.parametrize("i", [0.02, 0.3, 0.77, 1.0])
def test_rate_matches_gain_over_threshold(i):
    s = CameraSettings(threshold=50.0, gain=40.0)
    rate = fire(const(i), settings=s, seed=3).mean()
    assert rate == pytest.approx(min(1.0, 40.0 * i / 50.0), rel=0.01)


@pytest.mark.parametrize("i", [0.05, 0.4, 0.9])
def test_rate_with_shot_noise_and_dark_current(i):
    # Gaussian-approximation branch (gain >= 10 e-) and exact Poisson branch (gain < 10 e-).
    for s in (CameraSettings(threshold=100.0, gain=60.0, dark_current=2.0, shot_noise=True),
              CameraSettings(threshold=20.0, gain=5.0, dark_current=0.2, shot_noise=True)):
        rate = fire(const(i, shape=(8, 8)), settings=s, seed=1).mean()
        assert rate == pytest.approx(s.spike_rate(i), rel=0.01)


def test_counting_recovers_intensity_within_quantisation(rng):
    t = 2000
    img = rng.random((16, 16)).astype(np.float32)
    for s in (REDS_PRESET, IDEAL_PRESET):
        counts = fire(np.broadcast_to(img, (t, 16, 16)), settings=s, seed=5).sum(0)
        est = counts * s.threshold / (t * s.gain)
        q = s.threshold / (t * s.gain)  # one spike
        assert np.all(np.abs(est - img) <= q + 1e-6)


def test_ideal_first_spike_time_known_value():
    # No random initial charge: at rate 0.25 the first spike is at frame 3 and every 4th after.
    s = IDEAL_PRESET.replace(gain=25.0)
    spk = fire(np.ones((12, 1), np.float32), settings=s)
    assert spk[:, 0].tolist() == [0, 0, 0, 1] * 3


def test_at_most_one_spike_per_frame_and_saturation():
    s = CameraSettings(threshold=10.0, gain=30.0)  # 3 thresholds a step at I = 1
    spk = fire(const(1.0, t=100), settings=s)
    assert spk.all()
    spk = fire(const(0.2, t=3000), settings=s)  # 0.6 a step
    assert spk.mean() == pytest.approx(0.6, abs=1e-3)


def test_seed_determinism_and_variation(rng):
    x = rng.random((300, 5, 7)).astype(np.float32)
    a = fire(x, settings=NOISY_PRESET, seed=11)
    b = fire(x, settings=NOISY_PRESET, seed=11)
    c = fire(x, settings=NOISY_PRESET, seed=12)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_chunk_size_does_not_change_bits(rng):
    x = rng.random((301, 6, 5)).astype(np.float32)
    for s in (REDS_PRESET, NOISY_PRESET, NOISY_PRESET.replace(gain=4.0, threshold=6.0)):
        ref = fire(x, settings=s, seed=2, chunk=301)
        for ch in (1, 7, 64):
            assert np.array_equal(fire(x, settings=s, seed=2, chunk=ch), ref)


def test_independent_random_streams(rng):
    # Turning shot noise on must not change the initial charges: at t=0 with zero light
    # both runs see the same state, so their first spikes at I = 0 coincide (none).
    x = np.zeros((50, 10, 10), np.float32)
    x[:, 0, 0] = 0.5
    a = fire(x, settings=REDS_PRESET, seed=4)
    b = fire(x, settings=REDS_PRESET.replace(threshold_spread=0.1), seed=4)
    assert a[:, 1:].sum() == 0 and b[:, 1:].sum() == 0


def test_hot_and_dead_pixels():
    s = CameraSettings(hot_pixel_fraction=0.05, dead_pixel_fraction=0.1)
    spk = fire(const(0.5, t=200, shape=(100, 100)), settings=s, seed=0)
    per_pixel = spk.mean(0)
    assert (per_pixel == 1).mean() == pytest.approx(0.05, abs=0.01)
    assert (per_pixel == 0).mean() == pytest.approx(0.1 * 0.95, abs=0.015)


def test_threshold_spread_is_fixed_per_pixel():
    s = CameraSettings(threshold_spread=0.05, random_init=False)
    rates = fire(const(0.5, t=4000, shape=(40, 40)), settings=s, seed=0).mean(0)
    rel = rates / 0.3
    assert 0.03 < rel.std() < 0.07  # ~5 % spread of 1/theta
    again = fire(const(0.5, t=4000, shape=(40, 40)), settings=s, seed=0).mean(0)
    assert np.array_equal(rates, again)


def test_shapes_including_empty_and_batches():
    assert fire(np.zeros((0, 3, 4), np.float32)).shape == (0, 3, 4)
    assert fire(np.zeros((5, 0), np.float32)).shape == (5, 0)
    assert fire(np.full((9,), 0.5)).shape == (9,)
    out = fire(np.full((20, 2, 3, 4, 5), 0.5, np.float32))
    assert out.shape == (20, 2, 3, 4, 5) and out.dtype == np.uint8
    assert set(np.unique(out)) <= {0, 1}


@pytest.mark.parametrize("bad, err", [
    (np.zeros((4, 4), np.uint8), TypeError),
    (np.array([[0.1, np.nan]]), ValueError),
    (np.array([[0.1, 1.5]]), ValueError),
    (np.array([[-0.1, 0.5]]), ValueError),
    (np.zeros((4, 4), bool), TypeError),
    (np.float32(0.5), ValueError),
])
def test_fire_bad_input(bad, err):
    with pytest.raises(err):
        fire(bad)


def test_fire_bad_options():
    x = np.zeros((3, 2), np.float32)
    with pytest.raises(TypeError):
        fire(x, settings={"threshold": 1.0})
    with pytest.raises(TypeError):
        fire(x, seed=-1)
    with pytest.raises(TypeError):
        fire(x, seed=1.5)
    with pytest.raises(ValueError):
        fire(x, chunk=0)


@pytest.mark.parametrize("kw", [
    {"threshold": 0}, {"gain": -1}, {"rate_hz": float("nan")}, {"threshold_spread": -0.1},
    {"dark_current": -1}, {"hot_pixel_fraction": 1.5}, {"hot_pixel_fraction": 0.6, "dead_pixel_fraction": 0.6},
])
def test_settings_validation(kw):
    with pytest.raises(ValueError):
        CameraSettings(**kw)
    with pytest.raises(TypeError):
        CameraSettings(shot_noise="yes")


def test_settings_frozen_roundtrip_and_rate():
    s = NOISY_PRESET
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.gain = 1.0
    assert CameraSettings.from_dict(s.to_dict()) == s
    with pytest.raises(ValueError):
        CameraSettings.from_dict({"gian": 1.0})
    assert REDS_PRESET.spike_rate(1.0) == pytest.approx(0.6)
    assert expected_rate(np.array([0.0, 0.5]), settings=REDS_PRESET).tolist() == pytest.approx([0.0, 0.3])


def test_fire_matches_simulate_still(rng):
    """Function parity: a still image through simulate() equals fire() on the repeated image."""
    img = rng.random((6, 9)).astype(np.float32)
    for s in (REDS_PRESET, NOISY_PRESET):
        a = fire(np.broadcast_to(img, (500, 6, 9)), settings=s, seed=8)
        b = np.asarray(simulate(img, n_frames=500, settings=s, seed=8))
        assert np.array_equal(a, b)
