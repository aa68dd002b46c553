"""Recurrent update block (RAFT-style, torch): motion encoder, convolutional GRU, flow and mask heads.

All maps are at the network's working resolution (1/8 of the input).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MotionEncoder", "ConvGRU", "UpdateBlock"]


class MotionEncoder(nn.Module):
    """Correlation features + current flow -> ``out`` channels (the flow itself is appended)."""

    def __init__(self, corr_channels: int, out: int = 64) -> None:
        super().__init__()
        self.corr = nn.Sequential(nn.Conv2d(corr_channels, 96, 1), nn.ReLU(inplace=True))
        self.flow = nn.Sequential(nn.Conv2d(2, 32, 7, padding=3), nn.ReLU(inplace=True),
                                  nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(inplace=True))
        self.fuse = nn.Sequential(nn.Conv2d(96 + 16, out - 2, 3, padding=1), nn.ReLU(inplace=True))

    def forward(self, flow: torch.Tensor, corr: torch.Tensor) -> torch.Tensor:
        m = self.fuse(torch.cat([self.corr(corr), self.flow(flow)], dim=1))
        return torch.cat([m, flow], dim=1)


class ConvGRU(nn.Module):
    """``h' = (1 - z) h + z tanh(W_q [r h, x])`` with ``3 x 3`` convolutions."""

    def __init__(self, hidden: int, inp: int) -> None:
        super().__init__()
        self.zr = nn.Conv2d(hidden + inp, 2 * hidden, 3, padding=1)
        self.q = nn.Conv2d(hidden + inp, hidden, 3, padding=1)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        z, r = torch.sigmoid(self.zr(torch.cat([h, x], dim=1))).chunk(2, dim=1)
        q = torch.tanh(self.q(torch.cat([r * h, x], dim=1)))
        return (1 - z) * h + z * q


class UpdateBlock(nn.Module):
    """One refinement step: returns the new hidden state and the flow increment (:meth:`mask` gives the
    upsampling weights of a hidden state, computed only for the estimates that are upsampled)."""

    def __init__(self, corr_channels: int, hidden: int = 64, context: int = 64, factor: int = 8) -> None:
        super().__init__()
        self.encoder = MotionEncoder(corr_channels, 64)
        self.gru = ConvGRU(hidden, context + 64)
        self.flow_head = nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(hidden, 2, 3, padding=1))
        self.mask_head = nn.Sequential(nn.Conv2d(hidden, 64, 3, padding=1), nn.ReLU(inplace=True),
                                       nn.Conv2d(64, factor * factor * 9, 1))
        # an untrained block predicts no increment: a warm-started network starts at its initial flow
        nn.init.zeros_(self.flow_head[-1].weight)
        nn.init.zeros_(self.flow_head[-1].bias)

    def forward(self, h: torch.Tensor, ctx: torch.Tensor, corr: torch.Tensor, flow: torch.Tensor):
        motion = self.encoder(flow, corr)
        h = self.gru(h, torch.cat([ctx, motion], dim=1))
        return h, self.flow_head(h)

    def mask(self, h: torch.Tensor) -> torch.Tensor:
        """Convex-upsampling logits ``(B, 9 * factor**2, h, w)`` (scaled by 0.25 as in RAFT)."""
        return 0.25 * self.mask_head(h)
