"""Small building blocks shared by the learned reconstructors (torch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "conv", "ConvBlock", "warp_window", "warp_groups", "frame_groups", "subwindow_rates", "SUBWINDOWS",
    "lk_velocity", "pyramid_lk",
]

#: The five overlapping 9-frame sub-windows of a 41-frame window, as (start, stop).
SUBWINDOWS = ((0, 9), (8, 17), (16, 25), (24, 33), (32, 41))


def conv(cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=dilation * (k // 2), dilation=dilation)


class ConvBlock(nn.Sequential):
    """``1x1`` channel mix (optional) then a ``3x3`` conv, each followed by a leaky ReLU."""

    def __init__(self, cin: int, cout: int, *, stride: int = 1, mix: bool = False) -> None:
        layers: list[nn.Module] = []
        if mix:
            layers += [conv(cin, cout, 1), nn.LeakyReLU(0.1, inplace=True)]
            cin = cout
        layers += [conv(cin, cout, 3, stride), nn.LeakyReLU(0.1, inplace=True)]
        super().__init__(*layers)


def pad_bottom_right(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate the last row/column until both sides are multiples of ``multiple``.

    Same values as ``F.pad(..., mode="replicate")`` on the bottom/right, but by
    concatenating broadcast views, which is several times faster on a CPU for
    a many-channel window.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph:
        x = torch.cat([x, x[..., -1:, :].expand(*x.shape[:-2], ph, x.shape[-1])], -2)
    if pw:
        x = torch.cat([x, x[..., -1:].expand(*x.shape[:-1], pw)], -1)
    return x


def subwindow_rates(window: torch.Tensor) -> torch.Tensor:
    """Mean spike rate in each of :data:`SUBWINDOWS`: ``(B, 41, H, W) -> (B, 5, H, W)``."""
    return torch.stack([window[:, a:b].mean(1) for a, b in SUBWINDOWS], 1)


def _resample(images: torch.Tensor, velocity: torch.Tensor, dt: torch.Tensor, *, mode: str = "bilinear",
              kink: torch.Tensor | None = None) -> torch.Tensor:
    """Sample image ``k`` of ``(B, K, H, W)`` at ``x + velocity(x) * dt[k]`` (border values outside).

    With ``kink`` ``(B, 2, H, W)`` the velocity is ``velocity - kink / 2`` before the
    reference time (``dt < 0``) and ``velocity + kink / 2`` after it.
    """
    b, k, h, w = images.shape
    # the sampling grid in grid_sample's [-1, 1] units, built in one pass:
    # grid = base + velocity * dt (+ kink * |dt| / 2), with the unit change folded into the factors
    scale = torch.tensor([2 / max(w - 1, 1), 2 / max(h - 1, 1)], dtype=images.dtype, device=images.device)
    xs = torch.arange(w, dtype=images.dtype, device=images.device) * scale[0] - 1
    ys = torch.arange(h, dtype=images.dtype, device=images.device) * scale[1] - 1
    base = torch.stack([xs.expand(h, w), ys[:, None].expand(h, w)], -1)  # (H, W, 2)
    d = dt.to(images.dtype).view(1, k, 1, 1, 1)
    grid = torch.addcmul(base, (velocity[:, :2].permute(0, 2, 3, 1) * scale).unsqueeze(1), d)
    if kink is not None:
        grid = grid.addcmul_((kink[:, :2].permute(0, 2, 3, 1) * scale).unsqueeze(1), d.abs() / 2)
    grid = grid.reshape(b * k, h, w, 2)
    out = F.grid_sample(images.reshape(b * k, 1, h, w), grid, mode=mode, padding_mode="border", align_corners=True)
    return out.reshape(b, k, h, w)


def warp_window(window: torch.Tensor, velocity: torch.Tensor, *, mode: str = "bilinear") -> torch.Tensor:
    """Align every frame of a window to its centre frame under constant velocity.

    ``window`` is ``(B, T, H, W)``; ``velocity`` ``(B, 2, H, W)`` in pixels per frame
    (u right, v down): the scene point at ``x`` in the centre frame is at
    ``x + velocity * (t - c)`` in frame ``t``. Frame ``t`` is resampled there
    (``mode`` "bilinear", or "nearest", which keeps binary spikes binary; border
    values outside), so the result is ``(B, T, H, W)`` with every frame
    registered to the centre.
    """
    t = window.shape[1]
    dt = torch.arange(t, dtype=window.dtype, device=window.device) - (t - 1) / 2
    return _resample(window, velocity, dt, mode=mode)


def frame_groups(t: int, size: int = 5) -> list[tuple[int, int]]:
    """Split ``t`` frames into groups of ``size`` centred on the centre frame (edge groups shorter)."""
    c = (t - 1) // 2
    k = (c + size // 2) // size
    groups = []
    for i in range(-k, k + 1):
        a, b = max(0, c + i * size - size // 2), min(t, c + i * size - size // 2 + size)
        if b > a:
            groups.append((a, b))
    return groups


def warp_groups(window: torch.Tensor, velocity: torch.Tensor, groups: list[tuple[int, int]],
                kink: torch.Tensor | None = None) -> torch.Tensor:
    """Mean rate of each frame group, aligned to the centre frame under constant velocity.

    Like :func:`warp_window` but resamples one image per group (placed at the
    group's mean frame time), which is ~``size`` times cheaper: ``(B, G, H, W)``.
    ``kink`` (optional): velocity change at the centre frame (see :func:`_resample`).
    """
    b, t, h, w = window.shape
    c = (t - 1) / 2
    rates = torch.stack([window[:, a:e].mean(1) for a, e in groups], 1)
    dt = torch.tensor([(a + e - 1) / 2 - c for a, e in groups], dtype=window.dtype, device=window.device)
    return _resample(rates, velocity, dt, kink=kink)


def _gauss_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(N, C, H, W)`` with reflect padding."""
    r = max(1, int(round(3 * sigma)))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=x.dtype, device=x.device) / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (r, r, r, r), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def lk_velocity(rates: torch.Tensor, times: torch.Tensor, *, iters: int = 3, sigma: float = 1.5,
                window: float = 4.0, eps: float = 1e-4, init: torch.Tensor | None = None) -> torch.Tensor:
    """Lucas-Kanade velocity from a few sub-window rate images, coarse refinement by warping.

    ``rates`` is ``(B, K, H, W)``: mean spike rate of ``K`` sub-windows whose
    centre times (in frames, relative to the window centre) are ``times`` ``(K,)``.
    Brightness constancy ``I_x u + I_y v + I_t = 0`` is solved in least squares
    over a Gaussian neighbourhood (``window``), where ``I_t`` is the slope of a
    straight-line fit through the ``K`` (already warped) rate images. Each
    iteration warps the rates by the current estimate (``init`` or zero) and
    solves for the remainder. Returns ``(B, 2, H, W)`` in pixels per frame (u right, v down).
    No learned parameters; differentiable.
    """
    b, k, h, w = rates.shape
    sm = _gauss_blur(rates, sigma)
    vel = rates.new_zeros(b, 2, h, w) if init is None else init.clone()
    tt = times.to(rates) - times.to(rates).mean()
    denom = (tt**2).sum().clamp_min(eps)
    for _ in range(iters):
        warped = _resample(sm, vel, tt)
        mean = warped.mean(1, keepdim=True)
        it = (warped * tt[None, :, None, None]).sum(1, keepdim=True) / denom
        ix = (F.pad(mean, (1, 1, 0, 0), mode="replicate")[..., 2:] - F.pad(mean, (1, 1, 0, 0), mode="replicate")[..., :-2]) / 2
        iy = (F.pad(mean, (0, 0, 1, 1), mode="replicate")[..., 2:, :] - F.pad(mean, (0, 0, 1, 1), mode="replicate")[..., :-2, :]) / 2
        s = _gauss_blur(torch.cat([ix * ix, ix * iy, iy * iy, ix * it, iy * it], 1), window)
        sxx, sxy, syy, sxt, syt = s.unbind(1)
        reg = eps + 1e-3 * (sxx + syy)
        det = (sxx + reg) * (syy + reg) - sxy**2
        du = -((syy + reg) * sxt - sxy * syt) / det
        dv = -((sxx + reg) * syt - sxy * sxt) / det
        vel = vel + torch.stack([du, dv], 1).clamp(-1.0, 1.0)
    return vel


def pyramid_lk(rates: torch.Tensor, times: torch.Tensor, *, levels: tuple[int, ...] = (4, 2), iters: int = 4) -> torch.Tensor:
    """Coarse-to-fine :func:`lk_velocity` over average-pooled copies (factors ``levels``).

    Large motions are found at the coarse level, where they span few pixels, and
    refined at the finer ones. Returns ``(B, 2, H, W)`` in full-resolution px/frame.
    """
    h, w = rates.shape[-2:]
    vel = None
    for f in levels:
        r = F.avg_pool2d(rates, f) if f > 1 else rates
        init = None if vel is None else F.interpolate(vel, size=r.shape[-2:], mode="bilinear", align_corners=False) / f
        vel = lk_velocity(r, times, iters=iters, init=init) * f
    return F.interpolate(vel, size=(h, w), mode="bilinear", align_corners=False)
