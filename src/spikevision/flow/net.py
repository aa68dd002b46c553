"""The learned spike-flow network (torch): small, CPU-sized, RAFT-style refinement.

The main loop, as in the spike-flow papers (SCFlow, Spike2Flow, HiST-SFlow):

1. each spike window (around ``t0`` and around ``t0 + dt``) goes through the
   learned temporal representation (:mod:`.representation`) and a shared
   convolutional trunk down to 1/8 resolution;
2. feature heads give matching features for both windows, a context head
   gives the GRU's initial state and input from the first window;
3. an all-pairs correlation pyramid (:mod:`.corr`) is built once;
4. ``iters`` times: look up the correlation around the current estimate, update
   the hidden state with a convolutional GRU, add the predicted increment
   (:mod:`.update`);
5. each estimate is upsampled x8 with a learned convex combination of its
   ``3 x 3`` coarse neighbours.

Warm start (``flow_init``): the refinement may start from a classical
estimate (images of the windows + DIS, :func:`.classical.init_flow`; which
reconstructor and DIS preset is part of the config: ``init_recon``,
``init_preset``)
instead of zero, as RAFT warm-starts from a previous estimate. With
``init_window=41`` the network is given 41-frame windows: the warm start is
the classical baseline, the representation uses their centred ``window``
frames. The network then predicts a correction: the output is
``flow_init + upsample(f - f_init)`` with ``f_init`` the init averaged to 1/8
resolution, so the full-resolution detail of the init is kept where the network
adds nothing. The flow head's last layer starts at zero, so an untrained
network returns its warm start.

Change branch (``change_channels > 0``): the correlation of the two windows'
features cannot tell a still smooth region (a gradient, a flat wall) from one
that slides along itself, and the warm start invents motion there. The spikes
can: where nothing moves, a pixel's firing rate is the same in both windows.
A small strided CNN sees the rate difference of the two windows (whole
windows and their centred 11 frames) and their mean rate, and adds its output
to the GRU's initial state and context (last layer zero at initialisation, so
weights trained without it load and behave as before).

Input: two windows ``(B, L, H, W)`` float 0/1 (any ``H, W``; padded internally
to multiples of 8; windows longer than ``cfg.window`` are cut to their centre).
Output: list of ``(B, 2, H, W)`` flows in pixels (u right, v down), one per
iteration, the last one the final estimate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .corr import CorrPyramid
from .representation import SpikeRepresentation
from .update import UpdateBlock

__all__ = ["FlowNetConfig", "SpikeFlowNet", "convex_upsample"]


@dataclass(frozen=True)
class FlowNetConfig:
    """Size of the network (stored with the weights)."""

    window: int = 21
    init_window: int = 0
    learned_channels: int = 12
    rate_scales: tuple[int, ...] = (5, 11, 21)
    widths: tuple[int, int, int] = (32, 48, 64)
    feature_dim: int = 96
    hidden: int = 48
    context: int = 48
    corr_levels: int = 3
    corr_radius: int = 3
    iters: int = 6
    classical_init: bool = True
    change_channels: int = 0
    init_recon: str = "tfp"
    init_preset: str = "medium"

    def __post_init__(self) -> None:
        from ..recon import list_methods
        from .classical import DIS_PRESETS

        if self.init_preset not in DIS_PRESETS:
            raise ValueError(f"init_preset must be one of {DIS_PRESETS}, got {self.init_preset!r}")
        if self.init_recon not in list_methods():
            raise ValueError(f"init_recon must be a reconstruction method ({sorted(list_methods())}), got {self.init_recon!r}")

    @property
    def frames(self) -> int:
        """Frames per input window: the representation uses the centred ``window`` of them, the warm
        start (computed outside the network) all ``max(window, init_window)``."""
        return max(self.window, self.init_window)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["rate_scales"] = list(self.rate_scales)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FlowNetConfig":
        d = dict(d)
        for key in ("widths", "rate_scales"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


def _norm(c: int) -> nn.Module:
    return nn.InstanceNorm2d(c, affine=False)


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.n1, self.n2 = _norm(cout), _norm(cout)
        self.skip = nn.Conv2d(cin, cout, 1, stride=stride) if (stride != 1 or cin != cout) else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.n1(self.c1(x)))
        y = self.n2(self.c2(y))
        return F.relu(y + self.skip(x))


class Trunk(nn.Module):
    """Representation (fused at 1/2 resolution) -> 1/8-resolution features."""

    def __init__(self, cfg: FlowNetConfig) -> None:
        super().__init__()
        w1, w2, w3 = cfg.widths
        self.rep = SpikeRepresentation(cfg.window, w1, learned=cfg.learned_channels,
                                       scales=cfg.rate_scales, stride=2)
        self.stages = nn.Sequential(_ResBlock(w1, w2, 2), _ResBlock(w2, w3, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.rep(x))


def convex_upsample(flow: torch.Tensor, mask: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """``(B, 2, h, w)`` flow -> ``(B, 2, factor*h, factor*w)``, each fine pixel a convex combination
    (softmax of ``mask``, ``(B, 9*factor**2, h, w)``) of its 3 x 3 coarse neighbours (edges replicated),
    scaled by ``factor``."""
    b, _, h, w = flow.shape
    m = torch.softmax(mask.view(b, 1, 9, factor, factor, h, w), dim=2)
    nb = F.unfold(F.pad(factor * flow, (1, 1, 1, 1), mode="replicate"), 3).view(b, 2, 9, 1, 1, h, w)
    up = (m * nb).sum(dim=2)  # (b, 2, f, f, h, w)
    return up.permute(0, 1, 4, 2, 5, 3).reshape(b, 2, factor * h, factor * w)


class SpikeFlowNet(nn.Module):
    """Flow between the centres of two spike windows; see the module notes."""

    factor = 8

    def __init__(self, cfg: FlowNetConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or FlowNetConfig()
        c = self.cfg
        self.trunk = Trunk(c)
        self.fhead = nn.Conv2d(c.widths[2], c.feature_dim, 1)
        self.chead = nn.Conv2d(c.widths[2], c.hidden + c.context, 3, padding=1)
        corr_ch = c.corr_levels * (2 * c.corr_radius + 1) ** 2
        self.update = UpdateBlock(corr_ch, c.hidden, c.context, self.factor)
        self.change = None
        if c.change_channels:
            k = c.change_channels
            self.change = nn.Sequential(
                nn.Conv2d(3, k, 3, stride=2, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(k, 2 * k, 3, stride=2, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(2 * k, 2 * k, 3, stride=2, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(2 * k, c.hidden + c.context, 3, padding=1),
            )
            nn.init.zeros_(self.change[-1].weight)
            nn.init.zeros_(self.change[-1].bias)

    @staticmethod
    def window_rates(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Firing rates ``(B, H, W)`` of windows ``(B, L, H, W)``: over all ``L`` frames and over the centred 11."""
        length = w.shape[1]
        c, h = length // 2, min(11, length) // 2
        return w.mean(1), w[:, c - h : c + h + 1].mean(1)

    @staticmethod
    def change_features(w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)``: rate difference of the whole windows, of their centred 11 frames, and the mean rate."""
        return SpikeFlowNet._change_of_rates(SpikeFlowNet.window_rates(w1), SpikeFlowNet.window_rates(w2))

    @staticmethod
    def _change_of_rates(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        (r1, s1), (r2, s2) = a, b
        return torch.stack([r2 - r1, s2 - s1, (r1 + r2) / 2], 1)

    def forward(self, w1: torch.Tensor, w2: torch.Tensor, *, flow_init: torch.Tensor | None = None,
                iters: int | None = None, all_iters: bool | None = None) -> list[torch.Tensor]:
        """Flow estimates, one per iteration (``all_iters``, default in training) or the last one only.

        ``flow_init``: optional ``(B, 2, H, W)`` starting flow in pixels (see the module notes).
        """
        b = w1.shape[0]
        pairs = [(i, b + i) for i in range(b)]
        return self.forward_pairs(torch.cat([w1, w2], dim=0), pairs, flow_init=flow_init, iters=iters,
                                  all_iters=all_iters)

    def forward_pairs(self, windows: torch.Tensor, pairs: list[tuple[int, int]], *,
                      flow_init: torch.Tensor | None = None, iters: int | None = None,
                      all_iters: bool | None = None) -> list[torch.Tensor]:
        """:meth:`forward` for the pairs ``(i, j)`` of ``windows`` ``(N, L, H, W)``: each window goes through
        the trunk once, however many pairs it is in (chained steps share their middle window)."""
        c = self.cfg
        all_iters = self.training if all_iters is None else bool(all_iters)
        iters = c.iters if iters is None else int(iters)
        i1 = torch.tensor([i for i, _ in pairs])
        i2 = torch.tensor([j for _, j in pairs])
        b = len(pairs)
        _, length, H, W = windows.shape
        change = None
        if self.change is not None:  # rates per window, then per pair (indexing the windows would copy them)
            whole, centre = self.window_rates(windows)
            change = self._change_of_rates((whole[i1], centre[i1]), (whole[i2], centre[i2]))
        if length > c.window:  # longer windows (for the warm start): the representation takes the centred part
            s = length // 2 - c.window // 2
            windows = windows[:, s : s + c.window]
        f = self.factor
        ph, pw = (-H) % f, (-W) % f
        pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
        if ph or pw:
            windows = F.pad(windows, pad, mode="replicate")
            if change is not None:
                change = F.pad(change, pad, mode="replicate")
        trunk = self.trunk(windows)
        t1, t2 = trunk[i1], trunk[i2]
        corr = CorrPyramid(self.fhead(t1), self.fhead(t2), levels=c.corr_levels, radius=c.corr_radius)
        state = self.chead(t1)
        if change is not None:
            state = state + self.change(change)
        hidden, ctx = state.split([c.hidden, c.context], dim=1)
        hidden, ctx = torch.tanh(hidden), torch.relu(ctx)
        h8, w8 = t1.shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(h8, dtype=windows.dtype), torch.arange(w8, dtype=windows.dtype),
                                indexing="ij")
        base = torch.stack([xs, ys], dim=0).unsqueeze(0).expand(b, -1, -1, -1)
        flow = torch.zeros_like(base)
        init_full = None
        if flow_init is not None:
            init_full = F.pad(flow_init, pad, mode="replicate") if (ph or pw) else flow_init
            flow = F.avg_pool2d(init_full, f) / f
        flow0 = flow
        outs = []
        for i in range(iters):
            flow = flow.detach()
            hidden, delta = self.update(hidden, ctx, corr(base + flow), flow)
            flow = flow + delta
            if not all_iters and i < iters - 1:
                continue
            if init_full is None:
                up = convex_upsample(flow, self.update.mask(hidden), f)
            else:
                up = init_full + convex_upsample(flow - flow0, self.update.mask(hidden), f)
            if ph or pw:
                up = up[:, :, ph // 2 : ph // 2 + H, pw // 2 : pw // 2 + W]
            outs.append(up)
        return outs
