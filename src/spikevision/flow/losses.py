"""Self-supervised flow losses (torch): what a flow must satisfy when no ground truth is known.

After the unsupervised spike-flow methods (Xia et al., NeurIPS 2023; MRDFlow, Zhao et al.,
TCSVT 2022) and the unsupervised image-flow losses they build on (UnFlow, Meister et al.,
AAAI 2018; ARFlow, Liu et al., CVPR 2020):

* **photometric consistency**: the intensity estimated from the spikes at ``t`` must match the
  one at ``t + dt`` sampled where the flow moves each pixel. Compared through a soft census
  transform (:func:`census`: the signs of local differences, so a global or slowly varying
  change of brightness, and the spike camera's rate scale, cost nothing) with a robust
  Charbonnier penalty;
* **occlusion**: pixels whose forward flow is not undone by the backward flow where it lands
  (:func:`non_occluded`, the forward-backward check) are left out of the photometric term;
* **edge-aware smoothness**: first-order flow gradients, down-weighted across image edges
  (:func:`edge_aware_smoothness`), so motion boundaries can follow object boundaries.

Shapes: images ``(B, 1, H, W)`` float (any positive scale), flows ``(B, 2, H, W)`` px (u right,
v down); every loss returns a scalar tensor and is differentiable in the flows.

>>> import torch
>>> im = torch.rand(1, 1, 32, 32)
>>> zero = torch.zeros(1, 2, 32, 32)
>>> float(unsupervised_flow_loss(zero, zero, im, im)) < 1e-6
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported by the functions (the settings are read without it)
    import torch


__all__ = ["UnsupervisedLoss", "warp", "census", "census_distance", "charbonnier", "non_occluded",
           "edge_aware_smoothness", "unsupervised_flow_loss"]


@dataclass(frozen=True)
class UnsupervisedLoss:
    """Weights and constants of :func:`unsupervised_flow_loss` (the ``unsupervised`` config key of the flow task)."""

    #: census neighbourhood radius (a ``(2r + 1)^2`` patch)
    census_radius: int = 3
    #: weight of the edge-aware smoothness term
    smoothness: float = 0.05
    #: image-edge sensitivity of the smoothness (on images divided by their mean)
    edge_weight: float = 4.0
    #: forward-backward check: ``|f + b|^2 < alpha1 (|f|^2 + |b|^2) + alpha2`` keeps a pixel
    occlusion_alpha1: float = 0.01
    occlusion_alpha2: float = 0.5
    #: leave occluded pixels out of the photometric term
    occlusion: bool = True
    #: None: the photometric term is the mean over non-occluded pixels; a number: occluded pixels cost this
    #: much and the mean is over every pixel that lands inside the image (UnFlow's occlusion penalty, so
    #: that declaring a pixel occluded is not free)
    occluded_cost: float | None = None

    def __post_init__(self) -> None:
        if self.census_radius < 1:
            raise ValueError(f"census_radius must be >= 1, got {self.census_radius}")
        for name in ("smoothness", "edge_weight", "occlusion_alpha1", "occlusion_alpha2"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.occluded_cost is not None and self.occluded_cost < 0:
            raise ValueError(f"occluded_cost must be >= 0 or None, got {self.occluded_cost}")


def _check(flow: torch.Tensor, name: str) -> None:
    if flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(f"{name} must be (B, 2, H, W), got {tuple(flow.shape)}")


def warp(x: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` ``(B, C, H, W)`` sampled (bilinearly) at ``p + flow(p)`` for every pixel ``p``, and a
    ``(B, 1, H, W)`` float mask of the points that land inside the image."""
    import torch
    import torch.nn.functional as F

    _check(flow, "flow")
    b, _, h, w = flow.shape
    if x.shape[0] != b or x.shape[-2:] != (h, w):
        raise ValueError(f"image {tuple(x.shape)} and flow {tuple(flow.shape)} must share batch and size")
    ys, xs = torch.meshgrid(torch.arange(h, dtype=flow.dtype, device=flow.device),
                            torch.arange(w, dtype=flow.dtype, device=flow.device), indexing="ij")
    px, py = xs + flow[:, 0], ys + flow[:, 1]
    grid = torch.stack([2 * px / max(w - 1, 1) - 1, 2 * py / max(h - 1, 1) - 1], dim=-1)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
    inside = ((px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)).unsqueeze(1)
    return out, inside.to(x.dtype)


def census(img: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """Soft census transform of ``(B, 1, H, W)`` images: ``(B, (2r+1)^2, H, W)``, each channel the
    difference to one neighbour squashed to ``(-1, 1)`` by ``d / sqrt(0.81 + d^2)``.

    Images are first divided by their mean (per image), so a change of overall brightness leaves
    the transform unchanged; the values are in units of the image's mean intensity."""
    import torch
    import torch.nn.functional as F

    if img.ndim != 4 or img.shape[1] != 1:
        raise ValueError(f"images must be (B, 1, H, W), got {tuple(img.shape)}")
    x = img / img.mean(dim=(2, 3), keepdim=True).clamp(min=1e-6)
    k = 2 * radius + 1
    patches = F.unfold(F.pad(x, (radius,) * 4, mode="replicate"), k).view(x.shape[0], k * k, *x.shape[-2:])
    d = patches - x
    return d / torch.sqrt(0.81 + d * d)


def census_distance(t1: torch.Tensor, t2: torch.Tensor) -> torch.Tensor:
    """Soft Hamming distance ``(B, 1, H, W)`` in [0, 1) of two census transforms."""
    d2 = (t1 - t2) ** 2
    return (d2 / (0.1 + d2)).mean(dim=1, keepdim=True)


def charbonnier(x: torch.Tensor, *, eps: float = 0.01, q: float = 0.4) -> torch.Tensor:
    """Robust penalty ``(x^2 + eps^2)^q``, elementwise."""
    return (x * x + eps * eps) ** q


def non_occluded(forward: torch.Tensor, backward: torch.Tensor, *, alpha1: float = 0.01,
                 alpha2: float = 0.5) -> torch.Tensor:
    """``(B, 1, H, W)`` float mask: 1 where the forward flow is undone by the backward flow where it lands
    (``|f + b(p + f)|^2 < alpha1 (|f|^2 + |b(p + f)|^2) + alpha2``), 0 at occlusions. No gradient."""
    import torch

    _check(forward, "forward")
    _check(backward, "backward")
    with torch.no_grad():
        b_at, _ = warp(backward, forward)
        gap = ((forward + b_at) ** 2).sum(1, keepdim=True)
        scale = (forward**2).sum(1, keepdim=True) + (b_at**2).sum(1, keepdim=True)
        return (gap < alpha1 * scale + alpha2).to(forward.dtype)


def edge_aware_smoothness(flow: torch.Tensor, img: torch.Tensor, *, edge_weight: float = 4.0) -> torch.Tensor:
    """Mean of ``rho(grad flow) * exp(-edge_weight * |grad img|)`` (first order, both axes; images divided by
    their mean; ``rho`` the Charbonnier penalty less its value at 0), as a scalar: 0 for a constant flow."""
    import torch

    _check(flow, "flow")
    x = img / img.mean(dim=(2, 3), keepdim=True).clamp(min=1e-6)
    gx, gy = x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
    wx = torch.exp(-edge_weight * gx.abs().mean(1, keepdim=True))
    wy = torch.exp(-edge_weight * gy.abs().mean(1, keepdim=True))
    fx, fy = flow[..., :, 1:] - flow[..., :, :-1], flow[..., 1:, :] - flow[..., :-1, :]
    floor = _floor(flow)
    return (wx * (charbonnier(fx) - floor)).mean() + (wy * (charbonnier(fy) - floor)).mean()


def _floor(x: torch.Tensor) -> torch.Tensor:
    """The Charbonnier penalty of 0 (subtracted, so that a perfect match costs 0)."""
    import torch

    return charbonnier(torch.zeros((), dtype=x.dtype, device=x.device))


def _photometric(flow: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, census_src: torch.Tensor,
                 mask: torch.Tensor, radius: int, occluded_cost: float | None) -> torch.Tensor:
    """Mean robust census distance between ``src`` and ``dst`` warped by ``flow``, over ``mask`` (or over the
    pixels inside the image, those outside ``mask`` costing ``occluded_cost``)."""
    warped, inside = warp(dst, flow)
    m = mask * inside
    err = charbonnier(census_distance(census_src, census(warped, radius))) - _floor(src)
    if occluded_cost is None:
        return (err * m).sum() / m.sum().clamp(min=1.0)
    return (err * m + occluded_cost * (inside - m)).sum() / inside.sum().clamp(min=1.0)


def unsupervised_flow_loss(forward: torch.Tensor, backward: torch.Tensor, img1: torch.Tensor, img2: torch.Tensor,
                           settings: UnsupervisedLoss | None = None) -> torch.Tensor:
    """Photometric (census) + edge-aware smoothness loss of a forward flow ``img1 -> img2`` and the backward
    flow ``img2 -> img1``, both directions alike, occlusions (forward-backward check) left out of the
    photometric term. Scalar; zero for two equal images and zero flows (the Charbonnier penalty's value
    at 0 is subtracted). Border pixels compare census patches padded differently, so even the true
    warp of a moved image costs a little there."""
    import torch

    s = settings or UnsupervisedLoss()
    _check(forward, "forward")
    _check(backward, "backward")
    if forward.shape != backward.shape:
        raise ValueError(f"forward and backward flows differ in shape: {tuple(forward.shape)}, {tuple(backward.shape)}")
    if img1.shape != img2.shape or img1.shape[0] != forward.shape[0] or img1.shape[-2:] != forward.shape[-2:]:
        raise ValueError(f"images {tuple(img1.shape)}, {tuple(img2.shape)} do not fit flows {tuple(forward.shape)}")
    c1, c2 = census(img1, s.census_radius), census(img2, s.census_radius)
    if s.occlusion:
        m1 = non_occluded(forward, backward, alpha1=s.occlusion_alpha1, alpha2=s.occlusion_alpha2)
        m2 = non_occluded(backward, forward, alpha1=s.occlusion_alpha1, alpha2=s.occlusion_alpha2)
    else:
        m1 = m2 = torch.ones_like(forward[:, :1])
    r = s.census_radius
    oc = s.occluded_cost
    photo = _photometric(forward, img1, img2, c1, m1, r, oc) + _photometric(backward, img2, img1, c2, m2, r, oc)
    smooth = (edge_aware_smoothness(forward, img1, edge_weight=s.edge_weight)
              + edge_aware_smoothness(backward, img2, edge_weight=s.edge_weight))
    return photo + s.smoothness * smooth
