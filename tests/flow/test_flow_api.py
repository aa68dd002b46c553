"""estimate_flow / flow_between dispatch, the classical baseline and the learned method."""

from dataclasses import replace

import numpy as np
import pytest

from spikevision import SpikeStream
from spikevision.learned import Checkpoint, load_checkpoint, save_checkpoint
from spikevision.flow import (ClassicalFlow, UnknownFlowMethodError, classical_flow_images, classical_flow_windows,
                              estimate_flow, flow_between, list_flow_methods)


@pytest.fixture(scope="module")
def spikes(translating_spikes):
    return translating_spikes()


def test_methods_listed():
    assert {"spikeflow", "classical", "farneback"} <= set(list_flow_methods())


def test_classical_recovers_translation(spikes):
    flow = estimate_flow(spikes, 25, 20, method="classical")
    assert flow.shape == (64, 96, 2) and flow.dtype == np.float32
    inner = flow[12:-12, 12:-12]
    assert np.median(inner[..., 0]) == pytest.approx(3.0, abs=0.4)
    assert np.median(inner[..., 1]) == pytest.approx(2.0, abs=0.4)


def test_farneback_runs(spikes):
    flow = estimate_flow(SpikeStream(spikes), 25, 20, method="farneback")
    assert flow.shape == (64, 96, 2)
    assert np.median(flow[12:-12, 12:-12, 0]) == pytest.approx(3.0, abs=0.8)


def test_function_class_parity(spikes):
    w0, w1 = spikes[5:46], spikes[25:66]
    assert np.array_equal(ClassicalFlow()(w0, w1), classical_flow_windows(w0, w1))
    assert np.array_equal(flow_between(w0, w1, dt=20, method="classical"), estimate_flow(spikes, 25, 20, method="classical"))


def test_zero_flow_on_identical_images(rng):
    img = rng.random((40, 50)).astype(np.float32)
    assert np.abs(classical_flow_images(img, img)).max() < 1e-3


def test_bad_inputs(spikes):
    with pytest.raises(UnknownFlowMethodError):
        estimate_flow(spikes, 25, 20, method="raft")
    with pytest.raises(ValueError, match="needs frames"):
        estimate_flow(spikes, 5, 20, method="classical")
    with pytest.raises(ValueError, match="needs frames"):
        estimate_flow(spikes, 60, 20, method="classical")
    with pytest.raises(ValueError):
        estimate_flow(spikes, 25, 0, method="classical")
    with pytest.raises(TypeError):
        estimate_flow(spikes, 25.0, 20, method="classical")
    with pytest.raises(TypeError):
        estimate_flow(spikes.astype(np.float32), 25, 20, method="classical")
    with pytest.raises(ValueError, match="empty"):
        estimate_flow(np.zeros((90, 0, 4), np.uint8), 25, 20, method="classical")
    with pytest.raises(ValueError, match="needs windows"):
        flow_between(spikes[:11], spikes[:11], dt=20, method="classical")
    with pytest.raises(ValueError, match="same shape"):
        flow_between(spikes[:41], spikes[:41, :10], dt=20, method="classical")
    with pytest.raises(ValueError, match="algorithm"):
        classical_flow_images(np.zeros((8, 8)), np.zeros((8, 8)), algorithm="lk")
    with pytest.raises(ValueError, match="NaN"):
        classical_flow_images(np.full((8, 8), np.nan), np.zeros((8, 8)))


def test_learned_with_checkpoint(spikes, tiny_checkpoint):
    flow = estimate_flow(spikes, 25, 20, method="spikeflow", weights=str(tiny_checkpoint), chain=False)
    assert flow.shape == (64, 96, 2) and flow.dtype == np.float32 and np.isfinite(flow).all()
    again = flow_between(spikes[15:36], spikes[35:56], dt=20, method="spikeflow", weights=str(tiny_checkpoint))
    assert np.allclose(flow, again)
    longer = flow_between(spikes[5:46], spikes[25:66], dt=20, method="spikeflow", weights=str(tiny_checkpoint))
    assert np.allclose(flow, longer)  # the window length comes from the weights; longer windows are centred
    with pytest.raises(ValueError, match="needs windows of 21"):
        flow_between(spikes[15:34], spikes[35:54], dt=20, method="spikeflow", weights=str(tiny_checkpoint))
    with pytest.raises(ValueError, match="trained for dt"):
        estimate_flow(spikes, 25, 15, method="spikeflow", weights=str(tiny_checkpoint))
    assert estimate_flow(spikes, 25, 15, method="spikeflow", weights=str(tiny_checkpoint), strict_dt=False).shape == (64, 96, 2)


def test_learned_window_from_weights(spikes, tmp_path):
    torch = pytest.importorskip("torch")
    from spikevision.flow.net import FlowNetConfig, SpikeFlowNet

    cfg = FlowNetConfig(widths=(8, 8, 8), feature_dim=8, hidden=8, context=8, learned_channels=4, iters=2, init_window=41)
    p = tmp_path / "w41.pt"
    save_checkpoint(p, Checkpoint("flow", "spikeflow", cfg.to_dict(), SpikeFlowNet(cfg).state_dict(), {"dts": [20]}))
    flow = estimate_flow(spikes, 25, 20, method="spikeflow", weights=str(p), ensemble=1)
    # an untrained network returns its warm start: here the baseline on the same 41-frame windows
    # (one estimate: the default ensemble's flipped member has DIS on flipped images, not the same)
    assert np.allclose(flow, estimate_flow(spikes, 25, 20, method="classical"), atol=1e-4)
    with pytest.raises(ValueError, match="needs windows of 41"):
        flow_between(spikes[15:36], spikes[35:56], dt=20, method="spikeflow", weights=str(p))


def test_learned_bad_weights(tmp_path, spikes):
    with pytest.raises(FileNotFoundError):
        estimate_flow(spikes, 25, 20, method="spikeflow", weights=str(tmp_path / "none.pt"))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="readable"):
        estimate_flow(spikes, 25, 20, method="spikeflow", weights=str(bad))


def test_learned_weights_that_do_not_fit_their_config(tmp_path, spikes, tiny_checkpoint):
    torch = pytest.importorskip("torch")
    ck = load_checkpoint(tiny_checkpoint, task="flow")
    for name, broken in (("no_args.pt", replace(ck, model_args={})), ("no_model.pt", replace(ck, state={}))):
        save_checkpoint(tmp_path / name, broken)
        with pytest.raises(ValueError, match="do not fit"):
            estimate_flow(spikes, 25, 20, method="spikeflow", weights=str(tmp_path / name), chain=False)


def test_shipped_weights(spikes):
    pytest.importorskip("torch")
    from spikevision.weights import registry

    if "flow_spikeflow" not in registry():
        pytest.skip("flow weights not registered")
    flow = estimate_flow(spikes, 25, 20, method="spikeflow")
    inner = flow[12:-12, 12:-12]
    assert np.median(inner[..., 0]) == pytest.approx(3.0, abs=0.5)
    assert np.median(inner[..., 1]) == pytest.approx(2.0, abs=0.5)


@pytest.mark.parametrize("preset", ["smooth", "smooth-fast"])
def test_smooth_preset_recovers_translation_and_ignores_noise(spikes, preset):
    smooth = estimate_flow(spikes, 25, 20, method="classical", recon="atfi", preset=preset)
    inner = smooth[12:-12, 12:-12]
    assert np.median(inner[..., 0]) == pytest.approx(3.0, abs=0.3)
    assert np.median(inner[..., 1]) == pytest.approx(2.0, abs=0.3)
    # a still smooth gradient seen twice with independent noise: the medium preset matches the noise
    rng = np.random.default_rng(1)
    ramp = np.tile(np.linspace(0.2, 0.6, 128, dtype=np.float32), (96, 1))
    a, b = (np.clip(ramp + rng.normal(0, 0.01, ramp.shape), 0, 1).astype(np.float32) for _ in range(2))
    still = {p: np.linalg.norm(classical_flow_images(a, b, preset=p), axis=-1).mean() for p in ("medium", preset)}
    assert still[preset] < 0.5 * still["medium"]
    # smooth-fast places its patches more sparsely: a different (not a copied) estimate
    if preset == "smooth-fast":
        assert not np.allclose(smooth, estimate_flow(spikes, 25, 20, method="classical", recon="atfi", preset="smooth"))
    with pytest.raises(ValueError, match="preset"):
        estimate_flow(spikes, 25, 20, method="classical", preset="finest")


def test_warm_start_follows_the_network_config(spikes, tmp_path):
    torch = pytest.importorskip("torch")
    from spikevision.flow.classical import init_flow
    from spikevision.flow.net import FlowNetConfig, SpikeFlowNet

    cfg = FlowNetConfig(widths=(8, 8, 8), feature_dim=8, hidden=8, context=8, learned_channels=4, iters=2,
                        init_window=41, init_recon="atfi", init_preset="smooth")
    p = tmp_path / "atfi.pt"
    save_checkpoint(p, Checkpoint("flow", "spikeflow", cfg.to_dict(), SpikeFlowNet(cfg).state_dict(), {"dts": [20]}))
    flow = estimate_flow(spikes, 25, 20, method="spikeflow", weights=str(p), ensemble=1)
    w0, w1 = spikes[5:46], spikes[25:66]
    # untrained: the network returns its own warm start (ATFI images + smooth DIS), not the baseline's
    assert np.allclose(flow, init_flow(w0, w1, recon="atfi", preset="smooth"), atol=1e-4)
    assert not np.allclose(flow, init_flow(w0, w1), atol=1e-2)


@pytest.mark.parametrize("bad", [dict(init_recon="nope"), dict(init_preset="finest")])
def test_flow_net_config_rejects_unknown_warm_starts(bad):
    from spikevision.flow.net import FlowNetConfig

    with pytest.raises(ValueError, match=next(iter(bad))):
        FlowNetConfig(**bad)


def test_compose_flows_known_values():
    from spikevision.flow import compose_flows

    h, w = 20, 30
    first = np.zeros((h, w, 2), np.float32)
    first[..., 0] = 2.0
    second = np.zeros((h, w, 2), np.float32)
    second[..., 0] = 0.1 * np.arange(w, dtype=np.float32)[None, :]  # u grows along x
    second[..., 1] = -1.0
    out = compose_flows(first, second)
    # pixel x moves to x + 2, where the second step adds 0.1 * (x + 2) (border value beyond the edge)
    expect = 2.0 + 0.1 * np.minimum(np.arange(w) + 2.0, w - 1)
    np.testing.assert_allclose(out[..., 0], np.broadcast_to(expect, (h, w)), atol=1e-4)
    np.testing.assert_allclose(out[..., 1], -1.0, atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        compose_flows(first, second[:, :-1])
    bad = second.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        compose_flows(first, bad)
    with pytest.raises(ValueError, match="no pixels"):
        compose_flows(np.zeros((0, 4, 2), np.float32), np.zeros((0, 4, 2), np.float32))


def test_dt20_is_two_chained_steps_of_10(spikes, tiny_checkpoint):
    from spikevision.flow import compose_flows

    # one estimate (the ensemble: test_flow_ensemble.py; the gate: test_flow_still.py)
    kw = dict(method="spikeflow", weights=str(tiny_checkpoint), still_gate=False, ensemble=1)
    a = flow_between(spikes[25:46], spikes[35:56], dt=10, **kw)
    b = flow_between(spikes[35:56], spikes[45:66], dt=10, **kw)
    direct = flow_between(spikes[25:46], spikes[45:66], dt=20, **kw)
    np.testing.assert_allclose(estimate_flow(spikes, 35, 20, **kw), compose_flows(a, b), atol=1e-5)
    np.testing.assert_allclose(estimate_flow(spikes, 35, 20, chain=True, **kw), compose_flows(a, b), atol=1e-5)
    np.testing.assert_allclose(estimate_flow(spikes, 35, 20, chain=False, **kw), direct, atol=1e-5)
    np.testing.assert_allclose(estimate_flow(spikes, 35, 10, **kw), a, atol=1e-5)  # 5 was not trained: one step
    with pytest.raises(ValueError, match="odd"):
        estimate_flow(spikes, 35, 15, chain=True, strict_dt=False, **kw)
    with pytest.raises(ValueError, match="chain"):
        estimate_flow(spikes, 35, 20, chain="yes", **kw)


def test_checkpoint_inference_settings(spikes, tiny_checkpoint, tmp_path):
    """A checkpoint's ``inference`` settings replace training's at inference (the shipped weights run 3
    of the 6 refinement steps they were trained with, and a faster DIS warm start); ``iters=`` overrides
    them; bad settings are refused with a clear error, also at export."""
    torch = pytest.importorskip("torch")
    from spikevision.flow import load_flow_model
    from spikevision.flow.classical import init_flow

    ck = load_checkpoint(tiny_checkpoint, task="flow")
    assert ck.model_args["iters"] == 2 and ck.model_args["init_preset"] == "medium"
    p = tmp_path / "inference.pt"
    save_checkpoint(p, replace(ck, meta={**ck.meta, "inference": {"iters": 1, "init_preset": "smooth-fast"}}))
    cfg = load_flow_model(str(p))[0].cfg
    assert (cfg.iters, cfg.init_preset) == (1, "smooth-fast")
    kw = dict(method="spikeflow", ensemble=1, still_gate=False)
    # the tiny network's flow head is at its zero initialisation: it returns its warm start
    np.testing.assert_allclose(estimate_flow(spikes, 25, 10, weights=str(p), **kw),
                               init_flow(spikes[15:36], spikes[25:46], preset="smooth-fast"), atol=1e-4)
    p1 = tmp_path / "iters1.pt"
    save_checkpoint(p1, replace(ck, meta={**ck.meta, "inference": {"iters": 1}}))
    np.testing.assert_array_equal(estimate_flow(spikes, 25, 10, weights=str(p1), **kw),
                                  estimate_flow(spikes, 25, 10, weights=str(tiny_checkpoint), iters=1, **kw))
    for i, bad in enumerate([{"iters": 0}, {"iters": 1.5}, {"iters": True}, {"init_preset": "nope"},
                             {"window": 11}, [("iters", 2)]]):
        q = tmp_path / f"bad{i}.pt"
        save_checkpoint(q, replace(ck, meta={**ck.meta, "inference": bad}))
        with pytest.raises(ValueError, match="bad inference settings"):
            load_flow_model(str(q))
    for bad in (0, -2, 1.5, "3", True):
        with pytest.raises((TypeError, ValueError), match="iters"):
            estimate_flow(spikes, 25, 10, weights=str(tiny_checkpoint), iters=bad, **kw)
    from spikevision.weights import registry

    if "flow_spikeflow" in registry():
        shipped = load_flow_model()[0].cfg
        assert (shipped.iters, shipped.init_preset) == (3, "smooth-fast")
