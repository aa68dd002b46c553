"""Learned reconstructors: building blocks, shapes, gradients, weights loading, bad input."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spikevision.learned import Checkpoint, save_checkpoint  # noqa: E402
from spikevision.recon.learned import load_model, reconstruct_learned  # noqa: E402
from spikevision.recon.learned.blocks import frame_groups, warp_groups, warp_window  # noqa: E402
from spikevision.recon.learned.cnn import AlignedReconNet, CNNConfig  # noqa: E402
from spikevision.weights import WeightsError, registry  # noqa: E402


def test_frame_groups_partition_the_window():
    for t, size in [(41, 5), (41, 3), (21, 5), (9, 9)]:
        g = frame_groups(t, size)
        covered = [i for a, b in g for i in range(a, b)]
        assert covered == list(range(t)), (t, size, g)
        centre = [(a, b) for a, b in g if a <= (t - 1) // 2 < b][0]
        assert (centre[0] + centre[1] - 1) / 2 == (t - 1) // 2  # centre group is centred


def test_warp_window_aligns_a_translating_pattern():
    # A dot moving right at 1 px/frame (integral, so bilinear resampling is exact):
    # after alignment every frame matches the centre frame.
    t, h, w = 9, 16, 32
    frames = torch.zeros(1, t, h, w)
    for i in range(t):
        frames[0, i, 8, 12 + (i - 4)] = 1
    vel = torch.zeros(1, 2, h, w)
    vel[:, 0] = 1.0
    out = warp_window(frames, vel)
    for i in range(t):
        assert torch.allclose(out[0, i], frames[0, 4], atol=1e-5)
    g = warp_groups(frames, vel, [(0, 3), (3, 6), (6, 9)])
    assert torch.allclose(g[0, 0], g[0, 1], atol=1e-5) and torch.allclose(g[0, 2], g[0, 1], atol=1e-5)


def test_zero_velocity_is_identity(rng):
    x = torch.from_numpy((rng.random((2, 5, 6, 7)) < 0.5).astype(np.float32))
    assert torch.allclose(warp_window(x, torch.zeros(2, 2, 6, 7)), x, atol=1e-6)


def test_cnn_shapes_odd_sizes_and_gradients():
    net = AlignedReconNet(CNNConfig())
    x = (torch.rand(2, 41, 30, 45) < 0.3).float()
    img, vel = net(x)
    assert img.shape == (2, 1, 30, 45) and vel.shape == (2, 2, 30, 45)
    img.mean().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    with pytest.raises(ValueError, match="41-frame"):
        net(torch.zeros(1, 40, 16, 16))


def test_cnn_kink_head_starts_as_the_constant_velocity_model():
    torch.manual_seed(0)
    plain = AlignedReconNet(CNNConfig())
    kinked = AlignedReconNet(CNNConfig(kink=True))
    missing, unexpected = kinked.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all("kink_head" in k for k in missing)
    x = (torch.rand(1, 41, 24, 32) < 0.3).float()
    with torch.no_grad():
        (a, va), (b, vb) = plain(x), kinked(x)
    assert vb.shape == (1, 4, 24, 32) and torch.allclose(a, b, atol=1e-6) and torch.allclose(vb[:, 2:], torch.zeros(1))
    # a kink moves the groups before and after the centre in opposite extra directions
    k = torch.zeros(1, 2, 24, 32)
    k[:, 0] = 1.0
    frames = (torch.rand(1, 41, 24, 32) < 0.5).float()
    g = warp_groups(frames, torch.zeros(1, 2, 24, 32), [(0, 5), (18, 23), (36, 41)], kink=k)
    g0 = warp_groups(frames, torch.zeros(1, 2, 24, 32), [(0, 5), (18, 23), (36, 41)])
    assert torch.allclose(g[:, 1], g0[:, 1]) and not torch.allclose(g[:, 0], g0[:, 0])


def test_mixed_block_equals_mix_of_the_concatenation():
    # The part-by-part channel mix (before upsampling) is the same function as the
    # block applied to the concatenated, upsampled inputs.
    from spikevision.recon.learned.blocks import ConvBlock
    from spikevision.recon.learned.cnn import _mixed

    torch.manual_seed(0)
    block = ConvBlock(7 + 3, 5, mix=True)
    low, high = torch.randn(2, 7, 6, 9), torch.randn(2, 3, 12, 18)
    up = torch.nn.functional.interpolate(low, scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(_mixed(block, [low, high], upsampled=1), block(torch.cat([up, high], 1)), atol=1e-5)
    a, b = torch.randn(1, 4, 5, 6), torch.randn(1, 6, 5, 6)
    assert torch.allclose(_mixed(block, [a, b]), block(torch.cat([a, b], 1)), atol=1e-5)


@pytest.mark.parametrize("smooth_base", [False, True])
def test_snn_shapes_and_gradients(smooth_base):
    pytest.importorskip("spikingjelly")
    from spikevision.recon.learned.snn import SNNConfig, SpikingReconNet

    net = SpikingReconNet(SNNConfig(width=8, smooth_base=smooth_base))
    x = (torch.rand(2, 41, 20, 28) < 0.3).float()
    img = net(x)
    assert img.shape == (2, 1, 20, 28)
    img.mean().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads[:2])


def test_load_model_from_file_and_bad_files(tmp_path):
    net = AlignedReconNet(CNNConfig())
    save_checkpoint(tmp_path / "w.pt", Checkpoint("recon", "cnn", {}, net.state_dict()))
    m = load_model("cnn", str(tmp_path / "w.pt"))
    window = (np.random.default_rng(0).random((41, 16, 24)) < 0.3).astype(np.uint8)
    out = reconstruct_learned(window, model="cnn", weights=str(tmp_path / "w.pt"))
    assert out.shape == (16, 24) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    batch = reconstruct_learned(np.stack([window, window]), model="cnn", weights=str(tmp_path / "w.pt"))
    assert batch.shape == (2, 16, 24) and np.allclose(batch[0], out, atol=1e-5)
    assert m is load_model("cnn", str(tmp_path / "w.pt"))  # cached
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_model("cnn", str(tmp_path / "bad.pt"))
    with pytest.raises(ValueError, match="model 'cnn', expected one of \\['snn'\\]"):
        load_model("snn", str(tmp_path / "w.pt"))
    with pytest.raises(FileNotFoundError):
        load_model("cnn", str(tmp_path / "missing.pt"))
    with pytest.raises(ValueError, match="unknown learned model"):
        load_model("gan")
    with pytest.raises(ValueError, match="41-frame"):
        reconstruct_learned(window[:40], model="cnn", weights=str(tmp_path / "w.pt"))
    with pytest.raises(TypeError):
        reconstruct_learned(window.astype(np.float32) * 0.5, model="cnn", weights=str(tmp_path / "w.pt"))
    with pytest.raises(ValueError, match="shape"):
        reconstruct_learned(window[0], model="cnn", weights=str(tmp_path / "w.pt"))


@pytest.mark.parametrize("model", ["cnn", "snn"])
def test_shipped_weights_load_and_reconstruct(model):
    name = {"cnn": "recon_cnn", "snn": "recon_snn"}[model]
    if name not in registry():
        pytest.skip(f"{name} weights not shipped")
    if model == "snn":
        pytest.importorskip("spikingjelly")
    window = (np.random.default_rng(0).random((41, 24, 32)) < 0.3).astype(np.uint8)
    out = reconstruct_learned(window, model=model)
    assert out.shape == (24, 32) and np.isfinite(out).all()


def test_missing_shipped_weights_error(monkeypatch):
    import spikevision.weights as W

    monkeypatch.setattr(W, "registry", lambda path=None: {})
    load_model.cache_clear()
    with pytest.raises(WeightsError, match="unknown weights"):
        load_model("cnn")


def _trained_snn(x):
    """A small SNN config and a network of it whose weights and batch-norm statistics are not the
    defaults (as after some training)."""
    pytest.importorskip("spikingjelly")
    from spikevision.recon.learned.snn import SNNConfig, SpikingReconNet

    torch.manual_seed(0)
    cfg = SNNConfig(width=4, group=7, smooth_base=True)
    net = SpikingReconNet(cfg)
    for _ in range(2):
        net(x).mean().backward()
    for p in net.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    return cfg, net


def _assert_same_images(grown, net, x):
    """``grown`` computes what ``net`` computes, in training and in evaluation mode."""
    for mode in (False, True):
        net.train(mode)
        grown.train(mode)
        with torch.no_grad():
            torch.testing.assert_close(grown(x), net(x), atol=1e-5, rtol=1e-5)


def test_snn_widening_keeps_the_function_and_checks_its_input():
    import dataclasses

    from spikevision.recon.learned.snn import SpikingReconNet, widen_state

    torch.manual_seed(1)
    x = (torch.rand(2, 41, 20, 28) < 0.3).float()
    cfg, narrow = _trained_snn(x)
    wide = SpikingReconNet(dataclasses.replace(cfg, width=7))
    wide.load_state_dict(widen_state(narrow.state_dict(), cfg, 7))
    _assert_same_images(wide, narrow, x)
    for p in wide.parameters():  # the new neurons' zeroed output weights learn from the first step
        p.grad = None
    wide(x).mean().backward()
    assert float(wide.readout.weight.grad[:, 4:].abs().sum()) > 0
    assert float(wide.dec0[0].weight.grad[:4, 8:14].abs().sum()) > 0
    for bad in (4, 3, 5.0):
        with pytest.raises(ValueError, match="width"):
            widen_state(narrow.state_dict(), cfg, bad)
    state = narrow.state_dict()
    with pytest.raises(ValueError, match="not those of a width-4 SNN"):
        widen_state({k: v for k, v in state.items() if k != "readout.bias"}, cfg, 7)
    with pytest.raises(ValueError, match="not those of a width-4 SNN"):
        widen_state({}, cfg, 7)
    with pytest.raises(ValueError, match="not those of a width-4 SNN"):
        widen_state(SpikingReconNet(dataclasses.replace(cfg, width=5)).state_dict(), cfg, 7)


@pytest.mark.parametrize("more", [{"full_window": True}, {"group_rates": True}, {"full_window": True, "group_rates": True}])
def test_snn_added_inputs_start_silent_and_are_checked(more):
    import dataclasses

    from spikevision.recon.learned.snn import SpikingReconNet, add_inputs

    torch.manual_seed(1)
    x = (torch.rand(2, 41, 20, 28) < 0.3).float()
    cfg, net = _trained_snn(x)
    new = dataclasses.replace(cfg, **more)
    grown = SpikingReconNet(new)
    assert grown.enc0[0].weight.shape[1] == 7 + 1 + 41 * new.full_window + 7 * new.group_rates
    grown.load_state_dict(add_inputs(net.state_dict(), cfg, new))
    _assert_same_images(grown, net, x)
    grown(x).mean().backward()  # the new input weights learn from the first step
    assert float(grown.enc0[0].weight.grad[:, 8:].abs().sum()) > 0
    with pytest.raises(ValueError, match="takes no input"):
        add_inputs(grown.state_dict(), new, new)
    swapped = dataclasses.replace(cfg, full_window=not new.full_window, group_rates=not new.group_rates)
    with pytest.raises(ValueError, match="drops inputs" if len(more) == 1 else "takes no input"):
        add_inputs(grown.state_dict(), new, swapped)
    with pytest.raises(ValueError, match="only in their inputs"):
        add_inputs(net.state_dict(), cfg, dataclasses.replace(new, width=5))
    with pytest.raises(ValueError, match="not those of"):
        add_inputs({}, cfg, new)
    with pytest.raises(ValueError, match="not those of"):
        add_inputs(SpikingReconNet(dataclasses.replace(cfg, width=5)).state_dict(), cfg, new)


def test_cnn_fourth_level_starts_silent():
    torch.manual_seed(0)
    plain = AlignedReconNet(CNNConfig())
    for p in plain.parameters():
        p.data.add_(0.02 * torch.randn_like(p))
    deep = AlignedReconNet(CNNConfig(deep=True))
    missing, unexpected = deep.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("deep.") for k in missing)
    x = (torch.rand(2, 41, 24, 32) < 0.3).float()
    with torch.no_grad():
        torch.testing.assert_close(deep(x)[0], plain(x)[0], atol=1e-6, rtol=1e-6)
    deep(x)[0].mean().backward()  # the zero output layer learns from the first step
    assert float(deep.deep[-1].weight.grad.abs().sum()) > 0
    img, vel = deep((torch.rand(1, 41, 30, 45) < 0.3).float())  # sizes that are not multiples of 8
    assert img.shape == (1, 1, 30, 45) and vel.shape == (1, 2, 30, 45)


def test_snn_fourth_level_starts_silent_and_is_checked():
    import dataclasses

    from spikevision.recon.learned.snn import SpikingReconNet, deepen_state, widen_state

    torch.manual_seed(1)
    x = (torch.rand(2, 41, 16, 24) < 0.3).float()
    cfg, net = _trained_snn(x)
    deep_cfg = dataclasses.replace(cfg, deep=True)
    deep = SpikingReconNet(deep_cfg)
    deep.load_state_dict(deepen_state(net.state_dict(), cfg))
    _assert_same_images(deep, net, x)
    deep(x).mean().backward()  # the decoder's weights from the new level learn from the first step
    assert float(deep.dec1[0].weight.grad[:, 24:].abs().sum()) > 0
    wide = SpikingReconNet(dataclasses.replace(deep_cfg, width=6))  # a deep network widens too
    wide.load_state_dict(widen_state(deep.state_dict(), deep_cfg, 6))
    _assert_same_images(wide, deep, x)
    assert wide((torch.rand(1, 41, 30, 45) < 0.3).float()).shape == (1, 1, 30, 45)
    with pytest.raises(ValueError, match="already has the fourth level"):
        deepen_state(deep.state_dict(), deep_cfg)
    with pytest.raises(ValueError, match="not those of"):
        deepen_state({}, cfg)
    with pytest.raises(ValueError, match="not those of"):
        deepen_state(deep.state_dict(), cfg)


def test_snn_group_rates_need_the_aligned_base():
    from spikevision.recon.learned.snn import SNNConfig

    with pytest.raises(ValueError, match="needs align and smooth_base"):
        SNNConfig(group_rates=True)
    with pytest.raises(ValueError, match="needs align and smooth_base"):
        SNNConfig(group_rates=True, smooth_base=True, align=False)


def test_ensemble_maps_every_symmetry_back_and_checks_its_size(tmp_path):
    """The self-ensemble's outputs are mapped back: a network that is not symmetric still gives an
    image aligned with the input, equal to the mean of the eight mapped-back single runs."""
    from spikevision._symmetry import SYMMETRIES as _SYMMETRIES
    from spikevision.recon.learned.api import _run_symmetric

    torch.manual_seed(0)
    net = AlignedReconNet(CNNConfig())
    for p in net.parameters():  # not the zero-initialised correction: outputs depend on orientation
        p.data.add_(0.02 * torch.randn_like(p))
    net.eval()
    save_checkpoint(tmp_path / "w.pt", Checkpoint("recon", "cnn", {}, net.state_dict()))
    x = torch.from_numpy((np.random.default_rng(1).random((1, 41, 16, 24)) < 0.3).astype(np.float32))
    with torch.no_grad():
        single = [net(x.transpose(-1, -2).flip([-1]))[0].flip([-1]).transpose(-1, -2)]
        assert len(set(_SYMMETRIES)) == 8
        mean8 = _run_symmetric(net, x, 8)
        manual = []
        for t, fv, fh in _SYMMETRIES:
            y = x.transpose(-1, -2) if t else x
            dims = [d for d, on in ((-2, fv), (-1, fh)) if on]
            y = y.flip(dims) if dims else y
            o = net(y)[0]
            o = o.flip(dims) if dims else o
            manual.append(o.transpose(-1, -2) if t else o)
        torch.testing.assert_close(mean8, torch.stack(manual).mean(0), atol=1e-6, rtol=1e-5)
        assert mean8.shape == (1, 1, 16, 24) and single[0].shape == mean8.shape
        assert not torch.allclose(manual[0], manual[4], atol=1e-4)  # the orientations do differ
    w = x[0].numpy().astype(np.uint8)
    one = reconstruct_learned(w, model="cnn", weights=str(tmp_path / "w.pt"))
    assert np.allclose(reconstruct_learned(w, model="cnn", weights=str(tmp_path / "w.pt"), ensemble=1), one)
    four = reconstruct_learned(w, model="cnn", weights=str(tmp_path / "w.pt"), ensemble=4)
    assert four.shape == one.shape and np.allclose(four, torch.stack(manual[:4]).mean(0)[0, 0].clamp(0, 1).numpy(), atol=1e-5)
    for bad in (0, 3, 16, True, 2.0):
        with pytest.raises(ValueError, match="ensemble must be one of"):
            reconstruct_learned(w, model="cnn", weights=str(tmp_path / "w.pt"), ensemble=bad)
