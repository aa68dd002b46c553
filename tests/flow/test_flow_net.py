"""The spike-flow network's parts: representation, correlation, upsampling, forward/backward."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spikevision.flow.corr import CorrPyramid  # noqa: E402
from spikevision.flow.net import FlowNetConfig, SpikeFlowNet, convex_upsample  # noqa: E402
from spikevision.flow.representation import SpikeRepresentation, firing_interval, multiscale_rates  # noqa: E402


def test_firing_interval_known_values():
    x = torch.zeros(1, 9, 1, 3)
    x[0, [2, 6], 0, 0] = 1       # spikes at 2 and 6 around centre 4: interval 4
    x[0, [4, 5], 0, 1] = 1       # spike on the centre and the next frame: interval 1
    out = firing_interval(x)      # pixel 2 silent: 1 / (9 - (-1)) = 0.1
    assert out.shape == (1, 1, 1, 3)
    assert out[0, 0, 0].tolist() == pytest.approx([0.25, 1.0, 0.1])


def test_multiscale_rates():
    x = torch.zeros(2, 21, 3, 4)
    x[:, ::2] = 1
    r = multiscale_rates(x, (5, 21))
    assert r.shape == (2, 2, 3, 4)
    assert r[0, 1, 0, 0].item() == pytest.approx(11 / 21)
    assert r[0, 0, 0, 0].item() == pytest.approx(3 / 5)   # frames 8..12: 8, 10, 12


def test_representation_shapes():
    rep = SpikeRepresentation(21, 8, learned=4, stride=2)
    out = rep((torch.rand(2, 21, 16, 20) < 0.3).float())
    assert out.shape == (2, 8, 8, 10)


def test_corr_lookup_peaks_at_true_shift():
    torch.manual_seed(0)
    f1 = torch.randn(1, 16, 8, 10)
    f2 = torch.roll(f1, shifts=2, dims=3)  # content moves 2 px right
    corr = CorrPyramid(f1, f2, levels=2, radius=2)
    ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(10.0), indexing="ij")
    vol = corr(torch.stack([xs, ys])[None])
    assert vol.shape == (1, 2 * 25, 8, 10)
    level0 = vol[0, :25, 4, 4].view(5, 5)   # (dy, dx) offsets -2..2
    assert divmod(int(level0.argmax()), 5) == (2, 4)  # dy = 0, dx = +2


def test_corr_tiny_maps_do_not_fail():
    f = torch.randn(1, 4, 1, 1)
    assert CorrPyramid(f, f, levels=3, radius=1)(torch.zeros(1, 2, 1, 1)).shape == (1, 27, 1, 1)


def test_convex_upsample_constant():
    f = torch.ones(1, 2, 3, 4)
    f[:, 1] = -2
    up = convex_upsample(f, torch.randn(1, 9 * 64, 3, 4))
    assert up.shape == (1, 2, 24, 32)
    assert torch.allclose(up[0, 0], torch.full((24, 32), 8.0), atol=1e-5)
    assert torch.allclose(up[0, 1], torch.full((24, 32), -16.0), atol=1e-5)


def test_forward_backward_odd_size():
    cfg = FlowNetConfig(widths=(8, 8, 8), feature_dim=8, hidden=8, context=8, learned_channels=4, iters=2)
    net = SpikeFlowNet(cfg)
    w = (torch.rand(2, 21, 19, 27) < 0.3).float()
    outs = net(w, w, all_iters=True)
    assert len(outs) == 2 and outs[-1].shape == (2, 2, 19, 27)
    (outs[-1] - 1).abs().mean().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)
    net.eval()
    with torch.inference_mode():
        assert len(net(w, w)) == 1


def test_untrained_net_returns_its_warm_start():
    torch.manual_seed(0)
    cfg = FlowNetConfig(widths=(8, 8, 8), feature_dim=8, hidden=8, context=8, learned_channels=4, iters=3)
    net = SpikeFlowNet(cfg).eval()
    w = (torch.rand(1, 21, 20, 28) < 0.3).float()
    init = torch.randn(1, 2, 20, 28)
    with torch.inference_mode():
        out = net(w, w, flow_init=init)[-1]
    assert torch.allclose(out, init, atol=1e-6)


def test_rate_scales_follow_the_window():
    cfg = FlowNetConfig(window=41, rate_scales=(5, 41), widths=(8, 8, 8), feature_dim=8, hidden=8, context=8,
                        learned_channels=4, iters=1)
    net = SpikeFlowNet(cfg).eval()
    assert net.trunk.rep.scales == (5, 41)
    with torch.inference_mode():
        assert net((torch.rand(1, 41, 16, 16) < 0.3).float(), torch.zeros(1, 41, 16, 16))[-1].shape == (1, 2, 16, 16)


def test_longer_windows_are_cut_to_the_centre():
    torch.manual_seed(0)
    cfg = FlowNetConfig(window=21, init_window=41, widths=(8, 8, 8), feature_dim=8, hidden=8, context=8,
                        learned_channels=4, iters=2, classical_init=False)
    assert cfg.frames == 41 and FlowNetConfig().frames == 21
    net = SpikeFlowNet(cfg).eval()
    w1, w2 = (torch.rand(1, 41, 16, 24) < 0.3).float(), (torch.rand(1, 41, 16, 24) < 0.3).float()
    with torch.inference_mode():
        assert torch.equal(net(w1, w2)[-1], net(w1[:, 10:31], w2[:, 10:31])[-1])


def test_config_roundtrip():
    cfg = FlowNetConfig(widths=(8, 16, 24), rate_scales=(3, 9))
    assert FlowNetConfig.from_dict(cfg.to_dict()) == cfg


def test_change_branch_starts_silent_and_sees_rate_changes():
    small = dict(widths=(8, 8, 8), feature_dim=8, hidden=8, context=8, learned_channels=4, iters=2,
                 window=21, init_window=41)
    torch.manual_seed(0)
    plain = SpikeFlowNet(FlowNetConfig(**small)).eval()
    withc = SpikeFlowNet(FlowNetConfig(**small, change_channels=4)).eval()
    missing, unexpected = withc.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("change.") for k in missing)
    w1, w2 = (torch.rand(1, 41, 20, 28) < 0.3).float(), (torch.rand(1, 41, 20, 28) < 0.3).float()
    init = torch.randn(1, 2, 20, 28)
    with torch.inference_mode():
        assert torch.equal(plain(w1, w2, flow_init=init)[-1], withc(w1, w2, flow_init=init)[-1])
    f = SpikeFlowNet.change_features(w1, w2)
    assert f.shape == (1, 3, 20, 28)
    assert torch.allclose(f[:, 0], w2.mean(1) - w1.mean(1)) and torch.allclose(f[:, 2], (w1.mean(1) + w2.mean(1)) / 2)
    assert not SpikeFlowNet.change_features(w1, w1)[:, :2].any()  # the same light twice: no change
    assert FlowNetConfig.from_dict(withc.cfg.to_dict()).change_channels == 4


def test_forward_pairs_shares_windows_and_matches_forward():
    torch.manual_seed(0)
    net = SpikeFlowNet(FlowNetConfig(widths=(8, 8, 8), feature_dim=8, hidden=8, context=8, learned_channels=4,
                                     iters=2, change_channels=4)).eval()
    for p in net.update.flow_head[-1].parameters():  # a non-zero flow head, so the outputs differ per pair
        torch.nn.init.normal_(p, std=0.1)
    w = (torch.rand(3, 21, 20, 28) < 0.3).float()
    init = torch.randn(2, 2, 20, 28)
    with torch.inference_mode():
        shared = net.forward_pairs(w, [(0, 1), (1, 2)], flow_init=init)[-1]
        plain = net(w[[0, 1]], w[[1, 2]], flow_init=init)[-1]
    assert shared.shape == (2, 2, 20, 28)
    torch.testing.assert_close(shared, plain, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(shared[0], shared[1])
