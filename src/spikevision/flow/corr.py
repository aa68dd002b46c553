"""All-pairs correlation volume with a pooled pyramid and local look-up (RAFT-style, torch).

``f1, f2``: feature maps ``(B, D, h, w)``. The volume holds the dot product of
every pixel of ``f1`` with every pixel of ``f2`` divided by ``sqrt(D)``; level
``k`` of the pyramid average-pools the ``f2`` axes by ``2**k``. Looking up at
``coords`` (``(B, 2, h, w)``, x then y, in ``f2`` pixels) samples a
``(2r+1) x (2r+1)`` neighbourhood per level bilinearly, giving
``(B, levels * (2r+1)**2, h, w)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["CorrPyramid"]


class CorrPyramid:
    """Correlation pyramid of two feature maps; call with coordinates to look up."""

    def __init__(self, f1: torch.Tensor, f2: torch.Tensor, *, levels: int = 3, radius: int = 3) -> None:
        b, d, h, w = f1.shape
        self.levels, self.radius = int(levels), int(radius)
        corr = torch.matmul(f1.flatten(2).transpose(1, 2), f2.flatten(2)) / d**0.5  # (B, hw, hw)
        corr = corr.reshape(b * h * w, 1, h, w)
        self.pyramid, self.scales = [corr], [1.0]
        for _ in range(1, self.levels):
            if min(corr.shape[-2:]) >= 2:  # a map too small to pool repeats the coarsest level
                corr = F.avg_pool2d(corr, 2, stride=2)
                self.scales.append(self.scales[-1] * 2)
            else:
                self.scales.append(self.scales[-1])
            self.pyramid.append(corr)
        r = self.radius
        d1 = torch.linspace(-r, r, 2 * r + 1, device=f1.device, dtype=f1.dtype)
        dy, dx = torch.meshgrid(d1, d1, indexing="ij")
        self.delta = torch.stack([dx, dy], dim=-1).view(1, 2 * r + 1, 2 * r + 1, 2)
        self.shape = (b, h, w)

    def __call__(self, coords: torch.Tensor) -> torch.Tensor:
        b, h, w = self.shape
        centre = coords.permute(0, 2, 3, 1).reshape(b * h * w, 1, 1, 2)
        out = []
        for corr, scale in zip(self.pyramid, self.scales):
            hk, wk = corr.shape[-2:]
            pts = centre / scale + self.delta
            gx = 2 * pts[..., 0] / max(wk - 1, 1) - 1
            gy = 2 * pts[..., 1] / max(hk - 1, 1) - 1
            grid = torch.stack([gx, gy], dim=-1)
            sampled = F.grid_sample(corr, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
            out.append(sampled.view(b, h, w, -1))
        return torch.cat(out, dim=-1).permute(0, 3, 1, 2).contiguous()
