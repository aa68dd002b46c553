"""Motion-aligned multi-window CNN reconstructor (``method="cnn"``).

The idea, after Spk2ImgNet (Zhao et al., CVPR 2021) and BSF (Zhao et al., CVPR
2024): a 41-frame spike window holds enough light for a clean image, but the
scene moves during it, so plain averaging blurs. The network

1. computes a **multi-window representation** (spike rates in five overlapping
   9-frame sub-windows) and estimates from it a per-pixel **velocity field**
   (pixels per frame): coarse-to-fine Lucas-Kanade on the sub-windows, refined
   by a small CNN at 1/4 resolution;
2. **aligns** groups of 5 spike frames to the centre frame with that velocity
   (constant velocity over ~2 ms, which is what a 20 kHz camera sees);
3. feeds the raw window (exact spike timing for static parts), the aligned
   group rates, their mean and a short raw window to a small U-Net that
   predicts a correction to the aligned mean.

With ``deep=True`` the U-Net has a fourth level at 1/8 resolution (128
channels at the default width): about 80 px of context instead of 40 for 18 %
more multiply-adds (about 20 % more time on a CPU). Its output is added to the 1/4-resolution features through a
1x1 convolution that starts at zero, so weights trained without it load and
compute the same images until training uses it (exactly for frame sizes that
are multiples of 8; others are now padded to a multiple of 8 instead of 4,
which changes the last few rows and columns slightly).

Sized for CPU: about 2 GMAC per 250 x 400 frame.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import SUBWINDOWS, ConvBlock, conv, frame_groups, pad_bottom_right, pyramid_lk, subwindow_rates, warp_groups

__all__ = ["CNNConfig", "AlignedReconNet"]


@dataclass(frozen=True)
class CNNConfig:
    """Architecture settings (stored with the weights)."""

    window: int = 41
    rate_ratio: float = 0.6
    width: int = 16
    vel_width: int = 32
    group: int = 5
    kink: bool = False
    deep: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


class VelocityNet(nn.Module):
    """Sub-window rates ``(B, 5, H, W)`` -> velocity ``(B, 2, H, W)`` in px/frame.

    A coarse-to-fine Lucas-Kanade estimate (no parameters) gives the motion; a
    small CNN at 1/4 resolution sees it with the rates and adds a correction
    (zero at initialisation), e.g. where texture is too weak for Lucas-Kanade.
    """

    def __init__(self, width: int, kink: bool = False) -> None:
        super().__init__()
        self.register_buffer("times", torch.tensor([(a + b - 1) / 2 - 20 for a, b in SUBWINDOWS]), persistent=False)
        self.body = nn.Sequential(
            ConvBlock(5 + 2, width),
            ConvBlock(width, width),
            nn.Sequential(conv(width, width, dilation=2), nn.LeakyReLU(0.1, inplace=True)),
            ConvBlock(width, width),
        )
        self.head = conv(width, 2)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.kink_head = None
        if kink:  # velocity change at the centre frame (REDS-style key frames), zero at initialisation
            self.kink_head = conv(width, 2)
            nn.init.zeros_(self.kink_head.weight)
            nn.init.zeros_(self.kink_head.bias)

    def forward(self, rates: torch.Tensor) -> torch.Tensor:
        """Velocity ``(B, 2, H, W)``, or ``(B, 4, H, W)`` (velocity, kink) with a kink head."""
        h, w = rates.shape[-2:]
        lk = pyramid_lk(rates, self.times)
        small = torch.cat([F.avg_pool2d(rates, 4), F.avg_pool2d(lk, 4)], 1)
        feat = self.body(small)  # 1/4 resolution
        v = self.head(feat)
        if self.kink_head is not None:
            v = torch.cat([v, self.kink_head(feat)], 1)
            lk = torch.cat([lk, torch.zeros_like(lk)], 1)
        return lk + F.interpolate(v, size=(h, w), mode="bilinear", align_corners=False)


def _mixed(block: nn.Sequential, parts: list[torch.Tensor], upsampled: int = 0) -> torch.Tensor:
    """``block(cat(parts, 1))`` for a :class:`ConvBlock` with ``mix=True``, where the
    first ``upsampled`` parts are at half resolution and enter 2x bilinearly upsampled."""
    mix = block[0]
    weight = mix.weight.flatten(1)
    out, start = None, 0
    for i, p in enumerate(parts):
        b, c, h, w = p.shape
        wk = weight[:, start : start + c]
        if c == 1 and out is not None and i >= upsampled:  # an outer product, accumulated in place
            out = out.addcmul_(p, wk.view(1, -1, 1, 1))
            start += c
            continue
        if c == 1:  # an outer product: a broadcast multiply is far cheaper than a matmul
            y = p * wk.view(1, -1, 1, 1)
        elif b == 1:
            y = torch.mm(wk, p.reshape(c, h * w)).view(1, -1, h, w)
        else:
            y = torch.matmul(wk, p.reshape(b, c, h * w)).view(b, -1, h, w)
        if i < upsampled:
            y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        out = y if out is None else out.add_(y)
        start += c
    out = out.add_(mix.bias.view(1, -1, 1, 1))
    for layer in list(block)[1:]:
        out = layer(out)
    return out


class AlignedReconNet(nn.Module):
    """Spike window ``(B, 41, H, W)`` (0/1 floats) -> image ``(B, 1, H, W)`` and velocity.

    With ``kink=True`` the velocity output has four channels: the velocity at the
    centre frame and its change there (before: ``v - k/2``, after: ``v + k/2``).
    """

    def __init__(self, cfg: CNNConfig = CNNConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.width
        self.velocity = VelocityNet(cfg.vel_width, kink=cfg.kink)
        self.groups = frame_groups(cfg.window, cfg.group)
        self.enc0 = ConvBlock(cfg.window + len(self.groups) + 2, c, mix=True)
        self.enc1 = nn.Sequential(ConvBlock(c, 2 * c, stride=2), ConvBlock(2 * c, 2 * c))
        self.enc2 = nn.Sequential(ConvBlock(2 * c, 4 * c, stride=2), ConvBlock(4 * c, 4 * c), ConvBlock(4 * c, 4 * c))
        self.deep = None
        if cfg.deep:  # a 1/8-resolution level added to the 1/4-resolution features, zero at initialisation
            self.deep = nn.Sequential(ConvBlock(4 * c, 8 * c, stride=2), ConvBlock(8 * c, 8 * c), conv(8 * c, 4 * c, 1))
            nn.init.zeros_(self.deep[-1].weight)
            nn.init.zeros_(self.deep[-1].bias)
        self.dec1 = ConvBlock(6 * c, 2 * c, mix=True)
        self.dec0 = ConvBlock(3 * c, c, mix=True)
        self.out = conv(c, 1)

    def forward(self, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, h, w = window.shape
        if t != self.cfg.window:
            raise ValueError(f"expected a {self.cfg.window}-frame window, got {t} frames")
        x = pad_bottom_right(window, 8 if self.deep is not None else 4)
        vel = self.velocity(subwindow_rates(x))
        aligned = warp_groups(x, vel[:, :2], self.groups, kink=vel[:, 2:] if self.cfg.kink else None)
        sizes = torch.tensor([b - a for a, b in self.groups], dtype=x.dtype, device=x.device)
        mean = (aligned * sizes[:, None, None]).sum(1, keepdim=True) / (sizes.sum() * self.cfg.rate_ratio)
        c0 = t // 2
        short = x[:, c0 - 4 : c0 + 5].mean(1, keepdim=True) / self.cfg.rate_ratio
        # Each 1x1 channel mix is applied to its inputs part by part instead of to
        # their concatenation, and before (not after) bilinear upsampling, with
        # which it commutes: the same function, without the large copies.
        e0 = _mixed(self.enc0, [x, aligned, mean, short])
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        if self.deep is not None:
            e2 = e2 + F.interpolate(self.deep(e2), scale_factor=2, mode="bilinear", align_corners=False)
        d1 = _mixed(self.dec1, [e2, e1], upsampled=1)
        d0 = _mixed(self.dec0, [d1, e0], upsampled=1)
        img = mean + self.out(d0)
        return img[..., :h, :w], vel[..., :h, :w]
