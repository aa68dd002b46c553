"""Training scenes with exact flow (spikevision.flow.synthetic)."""

import numpy as np
import pytest

from spikevision.flow.synthetic import SceneConfig, make_batch, make_sample, random_layered_scene


def _warp(img, flow):
    import cv2

    h, w = img.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR)


def test_flow_is_exact_on_background():
    sc = random_layered_scene(np.random.default_rng(2), 48, 64, SceneConfig(sprites=(0, 0), background_still=0.0))
    i0, i1 = sc.intensity(5.0), sc.intensity(25.0)
    fl = sc.flow(5.0, 25.0)
    err = np.abs(_warp(i1, fl) - i0)[6:-6, 6:-6]
    assert np.median(err) < 1e-3
    assert np.abs(i1 - i0).mean() > 10 * np.median(err)


def test_sample_shapes_and_determinism():
    cfg = SceneConfig(sim_fraction=0.0)
    a = make_sample(np.random.default_rng(5), height=24, width=32, dt=10, window=9, cfg=cfg)
    b = make_sample(np.random.default_rng(5), height=24, width=32, dt=10, window=9, cfg=cfg)
    w1, w2, fl, va = a
    assert w1.shape == w2.shape == (9, 24, 32) and w1.dtype == np.uint8
    assert fl.shape == (24, 32, 2) and fl.dtype == np.float32 and va.dtype == np.bool_
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


def test_batch_from_sim_scenes():
    w1, w2, fl, va = make_batch(np.random.default_rng(1), 2, size=24, dts=(10,), window=9,
                                cfg=SceneConfig(sim_fraction=1.0))
    assert w1.shape == (2, 9, 24, 24) and fl.shape == (2, 2, 24, 24) and va.shape == (2, 24, 24)


def test_static_samples_have_zero_flow_and_identical_light():
    cfg = SceneConfig(static_fraction=1.0, noisy_fraction=0.0)
    w1, w2, fl, va = make_sample(np.random.default_rng(3), height=32, width=32, dt=20, window=41, cfg=cfg)
    assert not fl.any() and va.all()
    # nothing moves: the two windows see the same light, so their spike counts agree up to one spike
    assert np.abs(w1.astype(int).sum(0) - w2.astype(int).sum(0)).max() <= 1


def test_dimmed_sim_scenes_scale_light_not_flow():
    bright = SceneConfig(sim_fraction=1.0, noisy_fraction=0.0)
    dim = SceneConfig(sim_fraction=1.0, noisy_fraction=0.0, sim_gain_range=(0.1, 0.1))
    a = make_sample(np.random.default_rng(7), height=32, width=32, dt=10, window=41, cfg=bright)
    b = make_sample(np.random.default_rng(7), height=32, width=32, dt=10, window=41, cfg=dim)
    assert np.array_equal(a[2], b[2]) and np.array_equal(a[3], b[3])
    assert 0.05 < b[0].mean() / a[0].mean() < 0.2


def test_log_gain_draws_dim_scenes_often():
    cfg = SceneConfig(sim_fraction=0.0, gain_range=(0.05, 1.0), log_gain=True)
    gains = [random_layered_scene(np.random.default_rng(i), 8, 8, cfg).gain for i in range(200)]
    assert np.mean(np.asarray(gains) < 0.9 * 0.2) > 0.35  # log-uniform: 0.46 expected; uniform: 0.16


@pytest.mark.parametrize("bad", [dict(gain_range=(0.0, 1.0)), dict(sim_gain_range=(0.5, 0.1)),
                                 dict(static_fraction=1.5), dict(noisy_fraction=-0.1)])
def test_scene_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        SceneConfig(**bad)


def test_sim_size_cuts_windows_of_full_size_scenes():
    from spikevision.flow.synthetic import sim_scene
    from spikevision.sim import random_scene

    cfg = SceneConfig(sim_size=96)
    sc = sim_scene(np.random.default_rng(4), 32, 40, cfg)
    top, left, h, w = sc.info["crop"]
    assert (sc.height, sc.width, h, w) == (32, 40, 32, 40) and 0 <= top <= 64 and 0 <= left <= 56
    full = random_scene(seed=sc.info["seed"], height=96, width=96, max_speed=cfg.sim_max_speed)
    np.testing.assert_allclose(sc.intensity(200.0), full.intensity(200.0)[top:top + 32, left:left + 40], atol=1e-6)
    small = sim_scene(np.random.default_rng(4), 32, 40, SceneConfig())  # sim_size 0: drawn at the sample's size
    assert (small.height, small.width) == (32, 40) and "crop" not in small.info
    w1, _, fl, _ = make_sample(np.random.default_rng(4), height=32, width=40, dt=10, window=9,
                               cfg=SceneConfig(sim_fraction=1.0, sim_size=96))
    assert w1.shape == (9, 32, 40) and fl.shape == (32, 40, 2)


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_sim_size_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="sim_size"):
        SceneConfig(sim_size=bad)
