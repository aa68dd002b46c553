"""Camera motion in a flow field (spikevision.flow.camera) and the gate that follows it."""

import numpy as np
import pytest

from spikevision.flow.camera import CameraModel, CameraMotion, camera_motion, still_fraction

H, W = 60, 90


def _grid():
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    return np.stack([xs, ys], -1)


def test_pan_is_found_exactly():
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.5, -1.25
    m = camera_motion(flow)
    assert isinstance(m, CameraMotion) and m.support == pytest.approx(1.0)
    np.testing.assert_allclose(m.field(H, W), flow, atol=1e-4)


def test_zoom_and_rotation_are_affine():
    a = np.array([[1.01, -0.02, 0.5], [0.02, 1.01, -0.3]])
    flow = CameraMotion(a).field(H, W)
    m = camera_motion(flow)
    np.testing.assert_allclose(m.matrix, a, atol=1e-4)


def test_still_camera_with_a_moving_object_is_still():
    flow = np.zeros((H, W, 2), np.float32)
    flow[10:30, 20:50] = (4.0, 1.0)           # an object, a sixth of the frame
    assert camera_motion(flow) is None
    noisy = flow + np.random.default_rng(0).normal(0, 0.1, flow.shape).astype(np.float32)
    assert camera_motion(noisy) is None


def test_small_global_motion_counts_as_still():
    flow = np.full((H, W, 2), 0.3, np.float32)   # below min_motion (1 px)
    assert camera_motion(flow) is None
    assert camera_motion(flow, model=CameraModel(min_motion=0.1, threshold=0.1)) is not None


def test_moving_camera_with_an_object_keeps_the_camera():
    flow = np.zeros((H, W, 2), np.float32)
    flow[...] = (-3.0, 0.0)
    flow[10:30, 20:50] = (2.0, 2.0)
    m = camera_motion(flow)
    np.testing.assert_allclose(m.displacement(np.array([[5.0, 5.0]])), [[-3.0, 0.0]], atol=1e-4)


def test_deterministic():
    rng = np.random.default_rng(1)
    flow = np.full((H, W, 2), 2.0, np.float32) + rng.normal(0, 0.4, (H, W, 2)).astype(np.float32)
    a, b = camera_motion(flow), camera_motion(flow)
    np.testing.assert_array_equal(a.matrix, b.matrix)


@pytest.mark.parametrize("bad", [np.zeros((H, W)), np.zeros((H, W, 3)), np.full((H, W, 2), np.nan)])
def test_bad_flow(bad):
    with pytest.raises(ValueError):
        camera_motion(bad)


@pytest.mark.parametrize("kw", [{"threshold": 0}, {"threshold": -1}, {"min_support": 1.5}, {"grid": 0},
                                {"grid": 2.5}, {"snap": float("nan")}, {"confirm": -1}, {"min_motion": True},
                                {"min_still": 1.5}, {"min_still": -0.1}, {"retry_threshold": -1}])
def test_bad_model(kw):
    with pytest.raises(ValueError):
        CameraModel(**kw)


def test_bad_model_type():
    with pytest.raises(TypeError):
        camera_motion(np.zeros((H, W, 2), np.float32), model={"threshold": 1})


def test_tiny_flow_is_still():
    assert camera_motion(np.ones((4, 4, 2), np.float32)) is None


def test_gate_keeps_a_panning_smooth_background():
    """A smooth background panning with the camera changes no firing rate; the gate must keep its motion
    (the gate that takes every camera as still zeroes it) and still zero a still camera's background."""
    pytest.importorskip("scipy")
    cv2 = pytest.importorskip("cv2")
    from spikevision.flow import StillGate, apply_still_gate
    from spikevision.sim import fire

    rng = np.random.default_rng(0)
    h, w, t, speed = 64, 96, 90, 0.15   # px per frame: 3 px per dt = 20
    big = cv2.GaussianBlur(rng.random((h + 40, w + 60)).astype(np.float32), (0, 0), 20)
    big = (big - big.min()) / (big.max() - big.min()) * 0.6 + 0.2
    frames = np.stack([cv2.warpAffine(big, np.float32([[1, 0, speed * k], [0, 1, 0]]), (w, h),
                                      flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP) for k in range(t)])
    spikes = fire(frames, seed=0)
    w0, w1 = spikes[15:56], spikes[35:76]
    truth = np.zeros((h, w, 2), np.float32)
    truth[..., 0] = -speed * 20                # the scene moves left as the camera pans right
    estimate = truth + rng.normal(0, 0.3, truth.shape).astype(np.float32)
    kept = apply_still_gate(estimate, w0, w1, dt=20)
    zeroed = apply_still_gate(estimate, w0, w1, dt=20, gate=StillGate(camera=None))
    err = lambda f: float(np.linalg.norm(f - truth, axis=-1).mean())   # noqa: E731
    assert err(zeroed) > 1.0 and err(kept) < 0.5 * err(zeroed), (err(kept), err(zeroed))


def test_still_fraction():
    flow = np.zeros((H, W, 2), np.float32)
    assert still_fraction(flow) == 1.0
    flow[:, : W // 2, 0] = 3.0
    assert 0.3 < still_fraction(flow) < 0.7
    assert still_fraction(flow, model=CameraModel(threshold=5.0)) == 1.0
    with pytest.raises(ValueError):
        still_fraction(np.zeros((H, W)))


def test_gate_leaves_a_field_that_is_neither_still_nor_one_camera_motion():
    """A fast pan (16 px per dt = 20) whose network flow no affine map explains and where nearly nothing is
    still: the camera is unknown, so the gate must leave the flow as it is instead of pulling it towards
    zero where no firing rate changed (as it did before); the old behaviour stays as ``min_still=0``."""
    pytest.importorskip("scipy")
    cv2 = pytest.importorskip("cv2")
    from spikevision.flow import StillGate, apply_still_gate, still_gate_weight
    from spikevision.sim import fire

    rng = np.random.default_rng(0)
    h, w, t, speed = 64, 96, 90, 0.8
    big = cv2.resize(rng.random((12, 20)).astype(np.float32), (w + 80, h), interpolation=cv2.INTER_CUBIC)
    big = big.clip(0.05, 1) * 0.8 + 0.1
    big[:, 50:130] = 0.5   # a flat band: no rate changes inside it while it pans
    frames = np.stack([cv2.warpAffine(big, np.float32([[1, 0, speed * k], [0, 1, 0]]), (w, h),
                                      flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP) for k in range(t)])
    spikes = fire(frames, seed=0)
    w0, w1 = spikes[15:56], spikes[35:76]
    flow = rng.uniform(1.0, 6.0, (h, w, 2)).astype(np.float32) * rng.choice([-1, 1], (h, w, 2))
    assert camera_motion(flow) is None and still_fraction(flow) == 0.0
    weight = still_gate_weight(w0, w1, dt=20)
    assert weight.min() < 1   # some pixels change no rate: the old gate pulled them to zero
    np.testing.assert_array_equal(apply_still_gate(flow, w0, w1, dt=20), flow)
    old = StillGate(camera=CameraModel(min_still=0.0))   # every camera not found moving counts as still
    np.testing.assert_allclose(apply_still_gate(flow, w0, w1, dt=20, gate=old), flow * weight[..., None])
