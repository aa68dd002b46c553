"""Small building blocks shared by the learned reconstructors (torch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["conv", "ConvBlock", "warp_window", "warp_groups", "frame_groups", "subwindow_rates", "SUBWINDOWS"]

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


def subwindow_rates(window: torch.Tensor) -> torch.Tensor:
    """Mean spike rate in each of :data:`SUBWINDOWS`: ``(B, 41, H, W) -> (B, 5, H, W)``."""
    return torch.stack([window[:, a:b].mean(1) for a, b in SUBWINDOWS], 1)


def warp_window(window: torch.Tensor, velocity: torch.Tensor) -> torch.Tensor:
    """Align every frame of a window to its centre frame under constant velocity.

    ``window`` is ``(B, T, H, W)``; ``velocity`` ``(B, 2, H, W)`` in pixels per frame
    (u right, v down): the scene point at ``x`` in the centre frame is at
    ``x + velocity * (t - c)`` in frame ``t``. Frame ``t`` is resampled there
    (bilinear, border values outside), so the result is ``(B, T, H, W)`` with
    every frame registered to the centre.
    """
    b, t, h, w = window.shape
    c = (t - 1) / 2
    dt = torch.arange(t, dtype=window.dtype, device=window.device) - c  # (T,)
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=window.dtype, device=window.device),
        torch.arange(w, dtype=window.dtype, device=window.device),
        indexing="ij",
    )
    # Sampling positions (B, T, H, W) in pixels.
    px = xs + velocity[:, 0, None] * dt[None, :, None, None]
    py = ys + velocity[:, 1, None] * dt[None, :, None, None]
    gx = 2 * px / max(w - 1, 1) - 1
    gy = 2 * py / max(h - 1, 1) - 1
    grid = torch.stack([gx, gy], -1).reshape(b * t, h, w, 2)
    out = F.grid_sample(window.reshape(b * t, 1, h, w), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.reshape(b, t, h, w)


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


def warp_groups(window: torch.Tensor, velocity: torch.Tensor, groups: list[tuple[int, int]]) -> torch.Tensor:
    """Mean rate of each frame group, aligned to the centre frame under constant velocity.

    Like :func:`warp_window` but resamples one image per group (placed at the
    group's mean frame time), which is ~``size`` times cheaper: ``(B, G, H, W)``.
    """
    b, t, h, w = window.shape
    c = (t - 1) / 2
    rates = torch.stack([window[:, a:e].mean(1) for a, e in groups], 1)
    dt = torch.tensor([(a + e - 1) / 2 - c for a, e in groups], dtype=window.dtype, device=window.device)
    g = len(groups)
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=window.dtype, device=window.device),
        torch.arange(w, dtype=window.dtype, device=window.device),
        indexing="ij",
    )
    px = xs + velocity[:, 0, None] * dt[None, :, None, None]
    py = ys + velocity[:, 1, None] * dt[None, :, None, None]
    grid = torch.stack([2 * px / max(w - 1, 1) - 1, 2 * py / max(h - 1, 1) - 1], -1).reshape(b * g, h, w, 2)
    out = F.grid_sample(rates.reshape(b * g, 1, h, w), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.reshape(b, g, h, w)
