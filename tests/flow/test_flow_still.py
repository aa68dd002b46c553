"""The static-background gate: firing rates, their change, the weight and its use in the learned method."""

import numpy as np
import pytest

from spikevision.flow import (StillGate, apply_still_gate, estimate_flow, firing_rates, flow_between, rate_change,
                              still_gate_weight)

pytest.importorskip("scipy")
cv2 = pytest.importorskip("cv2")

H, W, T = 64, 96, 90


def _texture(seed, h, w, cell=6):
    rng = np.random.default_rng(seed)
    g = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC).clip(0.05, 1)


def _scene(seed=0):
    """A still background (a smooth ramp) and a textured square moving 0.2 px/frame to the right."""
    from spikevision.sim import fire

    ramp = np.linspace(0.6, 0.3, W, dtype=np.float32)[None, :].repeat(H, 0)
    tex = _texture(seed, 24, 24, cell=4)
    frames = []
    for t in range(T):
        img = ramp.copy()
        x = 10 + 0.2 * t
        m = np.float32([[1, 0, x], [0, 1, 20]])
        warped = cv2.warpAffine(tex, m, (W, H), flags=cv2.INTER_LINEAR, borderValue=-1)
        inside = warped >= 0
        img[inside] = warped[inside]
        frames.append(img)
    return fire(np.stack(frames), seed=seed)


@pytest.fixture(scope="module")
def scene():
    return _scene()


def test_firing_rates_known_values():
    f = np.zeros((30, 1, 4), np.uint8)
    f[2::4, 0, 0] = 1   # every 4 frames: 7 spikes, 24 frames apart
    f[5, 0, 1] = 1      # one spike: n / T
    f[[3, 10], 0, 3] = 1
    rate, n = firing_rates(f)
    np.testing.assert_allclose(rate[0], [0.25, 1 / 30, 0.0, 1 / 7], rtol=1e-6)
    assert n[0].tolist() == [7, 1, 0, 2] and rate.dtype == np.float32
    assert firing_rates(f.astype(bool))[0].tolist() == rate.tolist()


def test_rate_change_still_versus_moving(scene):
    still = scene[:, 50:, 60:]   # background only: the square never reaches it
    d_still = rate_change(still[:30], still[-30:])
    assert d_still.max() < StillGate().low
    d = rate_change(scene[20:50], scene[50:80])
    assert np.median(d[24:40, 28:40]) > StillGate().high   # where the square passes


def test_weight_keeps_the_moving_square_and_zeroes_the_background(scene):
    w0, w1 = scene[15:56], scene[35:76]   # windows centred on 35 and 55
    g = still_gate_weight(w0, w1, dt=20)
    assert g.shape == (H, W) and g.dtype == np.float32 and 0 <= g.min() and g.max() <= 1
    assert (g[50:, 60:] == 0).all()          # still ramp
    assert g[24:40, 22:38].mean() > 0.95     # inside the textured square
    flow = np.ones((H, W, 2), np.float32)
    gated = apply_still_gate(flow, w0, w1, dt=20)
    np.testing.assert_array_equal(gated, flow * g[..., None])


def test_halves_cover_the_span():
    from spikevision.flow.still import _halves

    w0 = np.arange(41)[:, None, None] * np.ones((1, 2, 2), int)
    w1 = w0 + 20
    a, b = _halves(w0, w1, 20)
    assert a[:, 0, 0].tolist() == list(range(0, 30)) and b[:, 0, 0].tolist() == list(range(31, 61))
    a, b = _halves(w0, w0 + 60, 60)   # windows apart: each whole window
    assert len(a) == len(b) == 41


@pytest.mark.parametrize("kw", [dict(sigma=0), dict(sigma=-1), dict(low=0.05, high=0.04), dict(low=-0.1),
                                dict(high=float("nan")), dict(sigma=True), dict(low="0.1")])
def test_gate_parameters_refused(kw):
    with pytest.raises(ValueError):
        StillGate(**kw)


def test_bad_inputs(scene):
    w = scene[:41]
    with pytest.raises(ValueError, match="one shape"):
        still_gate_weight(w, scene[:41, :32], dt=20)
    with pytest.raises(TypeError, match="dtype"):
        still_gate_weight(w.astype(np.float32), w, dt=20)
    with pytest.raises(ValueError):
        still_gate_weight(w, w, dt=0)
    with pytest.raises(TypeError, match="StillGate"):
        still_gate_weight(w, w, dt=20, gate={"sigma": 4})
    with pytest.raises(ValueError, match="frame size"):
        apply_still_gate(np.zeros((H, W - 1, 2)), w, w, dt=20)
    with pytest.raises(ValueError, match="NaN"):
        apply_still_gate(np.full((H, W, 2), np.nan), w, w, dt=20)
    with pytest.raises(ValueError, match="T >= 1"):
        firing_rates(np.zeros((0, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="no pixels"):
        firing_rates(np.zeros((3, 0, 4), np.uint8))
    with pytest.raises(ValueError, match="still_gate"):
        estimate_flow(scene, 30, 20, method="classical", still_gate="on")
    with pytest.raises(ValueError, match="still_gate"):
        flow_between(w, w, dt=20, method="classical", still_gate=1)


def test_classical_methods_take_the_gate_when_asked(scene):
    w0, w1 = scene[15:56], scene[35:76]
    plain = estimate_flow(scene, 35, 20, method="classical")   # the baseline stays ungated
    np.testing.assert_array_equal(plain, flow_between(w0, w1, dt=20, method="classical", still_gate=False))
    gated = estimate_flow(scene, 35, 20, method="classical", still_gate=True)
    np.testing.assert_allclose(gated, apply_still_gate(plain, w0, w1, dt=20), atol=1e-6)
    assert np.abs(gated[50:, 60:]).max() == 0 and np.abs(plain[50:, 60:]).max() > 0


def test_learned_method_applies_the_gate(scene, tiny_checkpoint):
    kw = dict(method="spikeflow", weights=str(tiny_checkpoint))
    w0, w1 = scene[25:46], scene[45:66]   # the tiny net reads 21-frame windows
    for chain in (True, False):
        raw = estimate_flow(scene, 35, 20, chain=chain, still_gate=False, **kw)
        gated = estimate_flow(scene, 35, 20, chain=chain, **kw)
        np.testing.assert_allclose(gated, apply_still_gate(raw, w0, w1, dt=20), atol=1e-6)
    raw = flow_between(w0, w1, dt=20, still_gate=False, **kw)
    custom = StillGate(sigma=2, low=0.1, high=0.2)
    np.testing.assert_allclose(flow_between(w0, w1, dt=20, still_gate=custom, **kw),
                               apply_still_gate(raw, w0, w1, dt=20, gate=custom), atol=1e-6)
    with pytest.raises(ValueError, match="still_gate"):
        estimate_flow(scene, 35, 20, still_gate="yes", **kw)


def test_shipped_weights_keep_the_background_still(scene):
    pytest.importorskip("torch")
    from spikevision.weights import registry

    if "flow_spikeflow" not in registry():
        pytest.skip("flow weights not registered")
    raw = estimate_flow(scene, 35, 20, still_gate=False)
    flow = estimate_flow(scene, 35, 20)
    bg = np.linalg.norm(flow[50:, 60:], axis=-1)
    assert bg.max() == 0.0 and np.linalg.norm(raw[50:, 60:], axis=-1).max() > 0
    assert np.median(flow[26:38, 24:36, 0]) == pytest.approx(4.0, abs=1.0)   # the square: 0.2 px/frame x 20


def test_method_defaults():
    from spikevision.flow import UnknownFlowMethodError, get_flow_method

    assert get_flow_method("spikeflow").still_gate is True
    assert get_flow_method("classical").still_gate is False and get_flow_method("farneback").still_gate is False
    with pytest.raises(UnknownFlowMethodError):
        get_flow_method("raft")


def test_training_loss_uses_the_training_gate_not_the_inference_default(scene):
    from spikevision.flow.still import TRAINING_GATE
    from spikevision.learned import load_config
    from spikevision.learned.tasks.flow import sample_gate

    w0, w1 = scene[15:56], scene[35:76]
    trained = still_gate_weight(w0, w1, dt=20, gate=TRAINING_GATE)
    assert not np.array_equal(trained, still_gate_weight(w0, w1, dt=20))   # the two settings differ here
    settings = load_config(None, task="flow", overrides={"still_gate": True}).settings
    np.testing.assert_array_equal(sample_gate(settings, w0, w1, 20), trained)
