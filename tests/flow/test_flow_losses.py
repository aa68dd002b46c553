"""Self-supervised flow losses: small for the true warp, larger for wrong ones, brightness-robust, differentiable."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spikevision.flow.losses import (  # noqa: E402
    UnsupervisedLoss,
    census,
    edge_aware_smoothness,
    non_occluded,
    unsupervised_flow_loss,
    warp,
)


def _pair(shift=(2, 1), size=40, seed=0):
    """A smooth random texture and the same texture moved by ``shift`` = (u, v) px (wrapped around)."""
    import cv2

    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 1.5) + 0.2
    moved = np.roll(tex, (shift[1], shift[0]), axis=(0, 1))  # moved[y + v, x + u] = tex[y, x]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))[None, None]  # noqa: E731
    return t(tex), t(moved)


def _const(u, v, size=40):
    f = torch.zeros(1, 2, size, size)
    f[:, 0], f[:, 1] = u, v
    return f


def test_true_warp_is_minimal_and_wrong_ones_cost_more():
    a, b = _pair((2, 1))
    true = float(unsupervised_flow_loss(_const(2, 1), _const(-2, -1), a, b))
    zero = float(unsupervised_flow_loss(_const(0, 0), _const(0, 0), a, b))
    assert true < 0.05 * zero  # only pixels whose census patch reaches beyond the border pay
    for wrong in [(3, 1), (2, 2), (-2, -1), (2.5, 1.0), (2.0, 1.5)]:
        assert float(unsupervised_flow_loss(_const(*wrong), _const(-wrong[0], -wrong[1]), a, b)) > 1.5 * true, wrong
    assert float(unsupervised_flow_loss(_const(0, 0), _const(0, 0), a, a)) == pytest.approx(0.0, abs=1e-6)
    # a non-constant (rough) field costs more than the constant true one: smoothness
    rough = _const(2, 1) + 0.5 * torch.randn(1, 2, 40, 40, generator=torch.Generator().manual_seed(0))
    assert float(unsupervised_flow_loss(rough, _const(-2, -1), a, b)) > 2 * true


def test_brightness_change_costs_nothing():
    a, b = _pair((1, -2))
    same = float(unsupervised_flow_loss(_const(1, -2), _const(-1, 2), a, b))
    assert float(unsupervised_flow_loss(_const(1, -2), _const(-1, 2), a, 1.7 * b)) == pytest.approx(same, rel=1e-4)
    torch.testing.assert_close(census(a), census(3.0 * a))


def test_gradients_reach_the_flow():
    a, b = _pair((2, 1))
    f = _const(1.2, 0.4).requires_grad_(True)
    g = _const(-1.2, -0.4).requires_grad_(True)
    loss = unsupervised_flow_loss(f, g, a, b)
    loss.backward()
    assert torch.isfinite(f.grad).all() and float(f.grad.abs().sum()) > 0 and float(g.grad.abs().sum()) > 0
    # one step against the gradient moves the flow towards the truth (2, 1)
    assert float(f.grad[:, 0].mean()) < 0 and float(f.grad[:, 1].mean()) < 0


def test_warp_occlusion_and_smoothness_known_values():
    img = torch.arange(20.0).view(1, 1, 4, 5)
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 0] = 1.0
    out, inside = warp(img, flow)
    torch.testing.assert_close(out[..., :4], img[..., 1:])
    assert inside[..., :4].all() and not inside[..., 4].any()
    f = _const(2, 1)
    assert non_occluded(f, -f).all()
    assert not non_occluded(f, f).any()  # a backward flow that does not undo the forward one: occluded
    assert float(edge_aware_smoothness(f, torch.rand(1, 1, 40, 40))) == pytest.approx(
        float(edge_aware_smoothness(torch.zeros_like(f), torch.rand(1, 1, 40, 40))))


def test_bad_input():
    a, b = _pair()
    with pytest.raises(ValueError, match="B, 2, H, W"):
        unsupervised_flow_loss(torch.zeros(1, 3, 40, 40), _const(0, 0), a, b)
    with pytest.raises(ValueError, match="differ in shape"):
        unsupervised_flow_loss(_const(0, 0), torch.zeros(1, 2, 20, 20), a, b)
    with pytest.raises(ValueError, match="do not fit"):
        unsupervised_flow_loss(_const(0, 0), _const(0, 0), a[..., :20, :20], b[..., :20, :20])
    with pytest.raises(ValueError, match="B, 1, H, W"):
        census(torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="census_radius"):
        UnsupervisedLoss(census_radius=0)
    with pytest.raises(ValueError, match="occluded_cost"):
        UnsupervisedLoss(occluded_cost=-0.1)
    with pytest.raises(ValueError, match="smoothness"):
        UnsupervisedLoss(smoothness=-1.0)


def test_occluded_pixels_are_not_free_with_a_cost():
    a, b = _pair((2, 1))
    f = _const(2, 1)
    # a backward flow that undoes nothing marks every pixel occluded: free by default ...
    assert float(unsupervised_flow_loss(f, f, a, b)) == pytest.approx(0.0, abs=1e-6)
    # ... and each direction's mean is the cost with occluded_cost (a constant flow is perfectly smooth)
    paid = UnsupervisedLoss(occluded_cost=0.5)
    assert float(unsupervised_flow_loss(f, f, a, b, paid)) == pytest.approx(1.0, abs=1e-5)
    assert float(unsupervised_flow_loss(f, -f, a, b, paid)) < 0.05
