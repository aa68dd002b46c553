"""Photo scenes of the flow training (spikevision.flow.synthetic.photo_scene): exact flow, clear errors."""

import numpy as np
import pytest

from spikevision.flow.synthetic import SceneConfig, make_sample, photo_files, photo_scene


def _warp(img, flow):
    import cv2

    h, w = img.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR)


@pytest.fixture
def photo_dir(tmp_path):
    """Three small textured 'photographs' (one in a sub-folder) and a file that is not one."""
    import cv2

    rng = np.random.default_rng(0)
    (tmp_path / "sub").mkdir()
    for i, name in enumerate(["a.png", "b.jpg", "sub/c.png"]):
        g = rng.random((12 + 4 * i, 16 + 4 * i)).astype(np.float32)
        img = cv2.resize(g, (120, 90), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(tmp_path / name), np.clip(img * 255, 0, 255).astype(np.uint8))
    (tmp_path / "notes.txt").write_text("not a photo")
    return tmp_path


def test_photo_files_are_found_recursively(photo_dir):
    assert [p.rsplit("/", 1)[-1] for p in photo_files(str(photo_dir))] == ["a.png", "b.jpg", "c.png"]


@pytest.mark.parametrize("seed", range(6))
def test_photo_scene_flow_is_exact(photo_dir, seed):
    cfg = SceneConfig(photo_dir=str(photo_dir), photo_fraction=1.0)
    sc = photo_scene(np.random.default_rng(seed), 48, 64, cfg)
    sc.gain, sc.offset, sc.gain_rate = 1.0, 0.0, 0.0  # brightness constancy for the check
    i0, i1 = sc.intensity(10.0), sc.intensity(30.0)
    fl, valid = sc.flow(10.0, 30.0)
    assert fl.shape == (48, 64, 2) and valid.shape == (48, 64) and valid.mean() > 0.5
    inner = np.zeros_like(valid)
    inner[4:-4, 4:-4] = True
    ys, xs = np.mgrid[0:48, 0:64]
    inside = (xs + fl[..., 0] >= 1) & (xs + fl[..., 0] <= 62) & (ys + fl[..., 1] >= 1) & (ys + fl[..., 1] <= 46)
    m = valid & inner & inside  # pixels whose point stays in view
    err = np.abs(_warp(i1, fl) - i0)[m]
    assert np.median(err) < 2e-3
    mm = m & (np.hypot(fl[..., 0], fl[..., 1]) > 1.0)
    if mm.sum() > 50:  # on the pixels that move, warping by no flow is clearly worse than by the GT
        moving = np.abs(_warp(i1, fl) - i0)[mm]
        assert np.median(np.abs(i1 - i0)[mm]) > 3 * np.median(moving)


def test_piecewise_motion_flow_is_exact_across_the_turn(photo_dir):
    cfg = SceneConfig(photo_dir=str(photo_dir), photo_fraction=1.0)
    sc = photo_scene(np.random.default_rng(1), 48, 64, cfg)
    sc.gain, sc.offset, sc.gain_rate = 1.0, 0.0, 0.0
    sc.layers = sc.layers[:1]  # the background only
    bg = sc.layers[0]
    bg.v, bg.w, bg.z = np.array([0.3, -0.2]), 0.0, 0.0
    bg.turn, bg.v2, bg.w2, bg.z2 = 20.0, np.array([-0.4, 0.1]), 0.002, 0.001
    np.testing.assert_allclose(bg.matrix(20.0), bg.matrix(20.0 + 1e-9), atol=1e-6)  # continuous at the turn
    fl, valid = sc.flow(10.0, 30.0)
    assert valid.all()
    # pure translation before and after: the centre pixel moves 10 * v + 10 * v2 (plus a little zoom / rotation)
    c = fl[24, 32]
    np.testing.assert_allclose(c, 10 * bg.v + 10 * bg.v2, atol=0.5)
    err = np.abs(_warp(sc.intensity(30.0), fl) - sc.intensity(10.0))[4:-4, 4:-4]
    assert np.median(err) < 2e-3


def test_photo_samples_are_deterministic_and_dim_ones_occur(photo_dir):
    cfg = SceneConfig(photo_dir=str(photo_dir), photo_fraction=1.0, noisy_fraction=0.0)
    a = make_sample(np.random.default_rng(5), height=32, width=40, dt=10, window=9, cfg=cfg)
    b = make_sample(np.random.default_rng(5), height=32, width=40, dt=10, window=9, cfg=cfg)
    assert a[0].shape == (9, 32, 40) and a[2].shape == (32, 40, 2) and a[3].dtype == np.bool_
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    gains = [photo_scene(np.random.default_rng(i), 16, 16, cfg).gain for i in range(100)]
    assert min(gains) < 0.1 < max(gains)  # log-uniform down to 0.05


def test_missing_or_empty_photo_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        make_sample(np.random.default_rng(0), height=16, width=16, dt=10, window=9,
                    cfg=SceneConfig(photo_dir=str(tmp_path / "missing"), photo_fraction=1.0))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="holds no photographs"):
        make_sample(np.random.default_rng(0), height=16, width=16, dt=10, window=9,
                    cfg=SceneConfig(photo_dir=str(tmp_path / "empty"), photo_fraction=1.0))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_text("not an image")
    with pytest.raises(ValueError, match="not a readable photograph"):
        make_sample(np.random.default_rng(0), height=16, width=16, dt=10, window=9,
                    cfg=SceneConfig(photo_dir=str(tmp_path / "bad"), photo_fraction=1.0))


def test_photo_fraction_needs_a_photo_dir_and_sane_values():
    with pytest.raises(ValueError, match="photo_dir"):
        SceneConfig(photo_fraction=0.5)
    with pytest.raises(ValueError, match="photo_fraction"):
        SceneConfig(photo_dir="x", photo_fraction=1.5)
    with pytest.raises(ValueError, match="photo_max_pan"):
        SceneConfig(photo_max_pan=-1.0)
    assert SceneConfig().photo_fraction == 0.0  # off by default: the earlier recipes draw the same samples


def test_training_source_checks_the_photo_dir_up_front(tmp_path):
    from spikevision.learned.tasks.flow import FlowSettings, SyntheticFlow

    settings = FlowSettings(scene=SceneConfig(photo_dir=str(tmp_path / "missing"), photo_fraction=0.5))
    with pytest.raises(FileNotFoundError, match="photo_dir"):
        SyntheticFlow(settings)


def test_moving_camera_samples_can_train_ungated():
    from spikevision.learned.tasks.flow import FlowSettings, _finish

    w = np.zeros((41, 24, 24), np.uint8)
    w[::3] = 1  # a constant rate in both windows: the gate zeroes
    fl, va = np.zeros((2, 24, 24), np.float32), np.ones((24, 24), bool)
    gated = FlowSettings(still_gate=True)
    ungated = FlowSettings(still_gate=True, gate_moving_cameras=False)
    g_still = _finish(ungated, np.random.default_rng(1), w, w.copy(), fl, va, 20, camera_moving=False)[5]
    g_moving = _finish(ungated, np.random.default_rng(1), w, w.copy(), fl, va, 20, camera_moving=True)[5]
    g_default = _finish(gated, np.random.default_rng(1), w, w.copy(), fl, va, 20, camera_moving=True)[5]
    assert g_still.mean() < 0.5 and np.array_equal(g_default, g_still)
    assert (g_moving == 1).all()
