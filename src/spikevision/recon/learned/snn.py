"""Spiking U-Net reconstructor (``method="snn"``), LIF neurons trained with surrogate gradients.

After the idea of Zhao et al., "Spike Camera Image Reconstruction Using Deep
Spiking Neural Networks" (TCSVT 2024): the spike window is fed to a spiking
network step by step, so spikes stay spikes inside the network; a
non-spiking output neuron integrates its input current over the steps and its
final membrane potential is the image.

* Alignment (``align=True``): a coarse-to-fine Lucas-Kanade velocity (no
  learned parameters) moves every spike to where its scene point is at the
  centre frame, by nearest-neighbour resampling, so the input stays binary.
* Time steps: the (aligned) 41-frame window is cut into groups of ``group`` frames
  centred on the centre frame (edge groups are zero-padded to ``group``
  frames); step ``k`` receives group ``k`` as ``group`` binary input channels.
* Layers (multi-step, ``[T, B, C, H, W]``): conv -> BatchNorm -> LIF
  (spikingjelly ``LIFNode``, tau = 2, hard reset, ATan surrogate), an
  encoder at 1, 1/2 and 1/4 resolution and a decoder with skip connections.
* Readout: a conv on the last spike layer gives an input current per step; the
  output neuron is an integrator without threshold, so the image is the mean
  current over the steps, plus a residual on the window's mean rate.
* Base (``smooth_base=True``): the residual is taken on the motion-aligned mean
  rate computed with bilinear resampling of frame-group rates (no learned
  parameters), which keeps the sub-pixel position nearest-neighbour alignment
  loses; that base image also reaches the first layer at every step as one
  analog input channel ("direct encoding", as in most deep SNNs), next to the
  group's binary spikes. With ``smooth_base=False`` (the first shipped
  weights) the base is the mean of the nearest-neighbour aligned spikes and
  the input is spikes only.
* Whole window at every step (``full_window=True``): LIF neurons with tau = 2
  forget within a few steps, so a network that sees one frame group per step
  cannot compare spike times that fall in different groups (the interval
  between two spikes is the light level). With this option every step also
  receives the whole aligned window (41 binary channels) next to its group;
  the input stays spikes.
* Aligned group rates (``group_rates=True``, needs ``align`` and ``smooth_base``): every step
  also receives the bilinearly aligned rate of each frame group (the parts the
  base image averages), which keep the sub-pixel positions that
  nearest-neighbour alignment of the spikes loses (analog, direct encoding
  like the base).

* Fourth level (``deep=True``): a spiking encoder level at 1/8 resolution
  (twice the context), whose spikes enter the 1/2-resolution decoder layer
  next to its other inputs (nearest-neighbour upsampled x4).

Widening (:func:`widen_state`): a trained SNN's weights can be moved into a
wider one that computes the same images, to train more neurons from where the
narrow one stopped (the shipped weights: 12 channels, then 20). Likewise
:func:`add_inputs` (more inputs per step) and :func:`deepen_state` (the fourth
level, whose weights into the decoder start at zero).

Built on spikingjelly (``pip install --no-deps spikingjelly==2.0.0``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..._snn import spikingjelly
from .blocks import SUBWINDOWS, frame_groups, pad_bottom_right, pyramid_lk, subwindow_rates, warp_groups, warp_window

__all__ = ["SNNConfig", "SpikingReconNet", "add_inputs", "deepen_state", "widen_state"]


def _sj():
    return spikingjelly()


@dataclass(frozen=True)
class SNNConfig:
    """Architecture settings (stored with the weights)."""

    window: int = 41
    rate_ratio: float = 0.6
    group: int = 5
    width: int = 16
    tau: float = 2.0
    align: bool = True
    smooth_base: bool = False
    full_window: bool = False
    group_rates: bool = False
    deep: bool = False

    def __post_init__(self) -> None:
        if self.group_rates and not (self.smooth_base and self.align):
            raise ValueError("group_rates needs align and smooth_base (the aligned group rates are the base's parts)")

    def inputs(self) -> list[tuple[str, int]]:
        """The first layer's input channels per step, in order: (part, channels); parts added later come
        last, so weights without them keep their indices."""
        parts = [("group", self.group), ("base", int(self.smooth_base)), ("window", self.window * int(self.full_window)),
                 ("rates", len(frame_groups(self.window, self.group)) * int(self.group_rates))]
        return [(name, n) for name, n in parts if n]

    def to_dict(self) -> dict:
        return asdict(self)


class _SpikingConv(nn.Sequential):
    def __init__(self, cin: int, cout: int, tau: float, stride: int = 1) -> None:
        functional, layer, neuron, surrogate = _sj()
        super().__init__(
            layer.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False, step_mode="m"),
            layer.BatchNorm2d(cout, step_mode="m"),
            neuron.LIFNode(tau=tau, surrogate_function=surrogate.ATan(), detach_reset=True, step_mode="m"),
        )


class SpikingReconNet(nn.Module):
    """Spike window ``(B, 41, H, W)`` (0/1 floats) -> image ``(B, 1, H, W)``."""

    def __init__(self, cfg: SNNConfig = SNNConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        c, g, tau = cfg.width, cfg.group, cfg.tau
        self.groups = frame_groups(cfg.window, g)
        self.enc0 = _SpikingConv(sum(n for _, n in cfg.inputs()), c, tau)
        self.enc1 = nn.Sequential(_SpikingConv(c, 2 * c, tau, stride=2), _SpikingConv(2 * c, 2 * c, tau))
        self.enc2 = nn.Sequential(_SpikingConv(2 * c, 4 * c, tau, stride=2), _SpikingConv(4 * c, 4 * c, tau))
        self.enc3 = None
        if cfg.deep:
            self.enc3 = nn.Sequential(_SpikingConv(4 * c, 8 * c, tau, stride=2), _SpikingConv(8 * c, 8 * c, tau))
        self.dec1 = _SpikingConv((6 + 8 * cfg.deep) * c, 2 * c, tau)
        self.dec0 = _SpikingConv(3 * c, c, tau)
        self.readout = nn.Conv2d(c, 1, 3, padding=1)
        self.register_buffer("times", torch.tensor([(a + b - 1) / 2 - (cfg.window - 1) / 2 for a, b in SUBWINDOWS]),
                             persistent=False)

    def _steps(self, window: torch.Tensor) -> torch.Tensor:
        g = self.cfg.group
        steps = []
        for a, b in self.groups:
            x = window[:, a:b]
            if b - a < g:
                pad = torch.zeros_like(window[:, : g - (b - a)])
                x = torch.cat([pad, x], 1) if a == 0 else torch.cat([x, pad], 1)
            steps.append(x)
        return torch.stack(steps, 0)  # (T, B, g, H, W)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        functional, _, _, _ = _sj()
        b, t, h, w = window.shape
        if t != self.cfg.window:
            raise ValueError(f"expected a {self.cfg.window}-frame window, got {t} frames")
        functional.reset_net(self)
        x = pad_bottom_right(window, 8 if self.cfg.deep else 4)
        base = None
        if self.cfg.align:
            with torch.no_grad():
                vel = pyramid_lk(subwindow_rates(x), self.times)
                if self.cfg.smooth_base:
                    groups = frame_groups(t, self.cfg.group)
                    sizes = torch.tensor([e - a for a, e in groups], dtype=x.dtype, device=x.device)
                    rates = warp_groups(x, vel, groups)
                    base = (rates * sizes[:, None, None]).sum(1, keepdim=True) / (sizes.sum() * self.cfg.rate_ratio)
                    rates = rates / self.cfg.rate_ratio
            x = warp_window(x, vel, mode="nearest")  # still binary spikes
        if base is None:
            base = x.mean(1, keepdim=True) / self.cfg.rate_ratio
        seq = self._steps(x)
        extra = [base] if self.cfg.smooth_base else []  # the same at every step, in the order of cfg.inputs()
        if self.cfg.full_window:
            extra.append(x)
        if self.cfg.group_rates:
            extra.append(rates)
        if extra:
            seq = torch.cat([seq, torch.cat(extra, 1).unsqueeze(0).expand(seq.shape[0], -1, -1, -1, -1)], 2)
        e0 = self.enc0(seq)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        up = lambda s, f=2: F.interpolate(s.flatten(0, 1), scale_factor=f, mode="nearest").unflatten(0, s.shape[:2])
        skips = [up(e2), e1] + ([up(self.enc3(e2), 4)] if self.enc3 is not None else [])  # the new level last
        d1 = self.dec1(torch.cat(skips, 2))
        d0 = self.dec0(torch.cat([up(d1), e0], 2))
        current = self.readout(d0.flatten(0, 1)).unflatten(0, d0.shape[:2])  # (T, B, 1, H, W)
        img = base + current.mean(0)
        functional.reset_net(self)
        return img[..., :h, :w]


def check_state(state: dict[str, torch.Tensor], model: nn.Module, what: str) -> None:
    """``ValueError`` unless ``state`` has exactly the entries of ``model``'s state dict, with their shapes
    (weights about to be reshaped into a grown network); the message says the weights are not ``what``."""
    expected = {k: v.shape for k, v in model.state_dict().items()}
    got = {k: getattr(v, "shape", None) for k, v in state.items()}
    if got != expected:
        bad = sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k))
        raise ValueError(f"the weights are not those of {what} ({len(bad)} entries differ, e.g. {bad[:3]})")


def _channel_maps(cfg: SNNConfig, width: int) -> dict[str, tuple[list[int], list[int]]]:
    """Per convolution: where its old (``cfg.width``) input and output channels sit at ``width``."""
    c, w = cfg.width, width
    first = lambda n: list(range(n * c))  # noqa: E731
    cat = lambda a, b: list(range(a * c)) + [a * w + i for i in range(b * c)]  # noqa: E731 (U-Net skip concat)
    inp0 = list(range(sum(n for _, n in cfg.inputs())))
    maps = {
        "enc0.0": (inp0, first(1)),
        "enc1.0.0": (first(1), first(2)), "enc1.1.0": (first(2), first(2)),
        "enc2.0.0": (first(2), first(4)), "enc2.1.0": (first(4), first(4)),
        "dec1.0": (cat(4, 2), first(2)), "dec0.0": (cat(2, 1), first(1)),
        "readout": (first(1), [0]),
    }
    if cfg.deep:
        maps.update({"enc3.0.0": (first(4), first(8)), "enc3.1.0": (first(8), first(8)),
                     "dec1.0": (cat(4, 2) + [6 * w + i for i in range(8 * c)], first(2))})
    return maps


def widen_state(state: dict[str, torch.Tensor], cfg: SNNConfig, width: int, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """Weights of a ``cfg`` network moved into a wider one (``width`` > ``cfg.width``), computing the same
    function: the old neurons keep their weights, batch-norm statistics and spikes; the new neurons get
    fresh random input weights, and their output weights into the old neurons start at zero, so they
    spike but change nothing until training uses them (function-preserving widening, Net2Net-style:
    Chen et al., ICLR 2016). Used to fine-tune a wider SNN from a trained narrow one."""
    import dataclasses

    if not isinstance(width, int) or width <= cfg.width:
        raise ValueError(f"width must be an integer above the current {cfg.width}, got {width!r}")
    check_state(state, SpikingReconNet(cfg), f"a width-{cfg.width} SNN")
    torch.manual_seed(seed)
    wide = SpikingReconNet(dataclasses.replace(cfg, width=width)).state_dict()
    out = {k: v.clone() for k, v in wide.items()}
    for name, (ins, outs) in _channel_maps(cfg, width).items():
        ii, oo = torch.tensor(ins), torch.tensor(outs)
        wkey = f"{name}.weight"
        new_in = torch.ones(out[wkey].shape[1], dtype=torch.bool)
        new_in[ii] = False
        w = out[wkey]
        w[oo[:, None], new_in.nonzero().flatten()[None, :]] = 0.0  # new inputs do not reach old neurons
        w[oo[:, None], ii[None, :]] = state[wkey]
        if f"{name}.bias" in state:
            out[f"{name}.bias"][oo] = state[f"{name}.bias"]
        bn = name[: -len(".0")] + ".1" if name != "readout" else None
        if bn is not None:
            for leaf in ("weight", "bias", "running_mean", "running_var"):
                out[f"{bn}.{leaf}"][oo] = state[f"{bn}.{leaf}"]
            out[f"{bn}.num_batches_tracked"] = state[f"{bn}.num_batches_tracked"].clone()
    return out


def add_inputs(state: dict[str, torch.Tensor], cfg: SNNConfig, new: SNNConfig) -> dict[str, torch.Tensor]:
    """Weights of a ``cfg`` network moved into ``new``, which takes more inputs at every step (the whole
    window, the aligned group rates; all else equal), computing the same function: the first layer's
    weights from the new inputs start at zero, everything else is kept."""
    import dataclasses

    if dataclasses.replace(cfg, full_window=new.full_window, group_rates=new.group_rates) != new:
        raise ValueError(f"the networks may differ only in their inputs: {cfg} -> {new}")
    old_parts, new_parts = dict(cfg.inputs()), dict(new.inputs())
    if set(old_parts) >= set(new_parts):
        raise ValueError(f"{new} takes no input that {cfg} does not")
    if not set(old_parts) <= set(new_parts):
        raise ValueError(f"{new} drops inputs of {cfg}")
    check_state(state, SpikingReconNet(cfg), str(cfg))
    out = {k: v.clone() for k, v in state.items()}
    w, start, pieces = out["enc0.0.weight"], 0, []
    for name, n in new.inputs():
        if name in old_parts:
            pieces.append(w[:, start : start + n])
            start += n
        else:
            pieces.append(w.new_zeros(w.shape[0], n, *w.shape[2:]))
    out["enc0.0.weight"] = torch.cat(pieces, 1)
    return out


def deepen_state(state: dict[str, torch.Tensor], cfg: SNNConfig, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """Weights of a ``cfg`` network (``deep=False``) moved into one with the fourth, 1/8-resolution level,
    computing the same function: the new level gets fresh random weights (so it spikes) and the
    decoder's weights from its spikes start at zero. (Exactly for frame sizes that are multiples of 8: a
    four-level network pads to a multiple of 8 instead of 4.)"""
    import dataclasses

    if cfg.deep:
        raise ValueError("the network already has the fourth level")
    check_state(state, SpikingReconNet(cfg), str(cfg))
    torch.manual_seed(seed)
    out = dict(SpikingReconNet(dataclasses.replace(cfg, deep=True)).state_dict())
    out.update({k: v.clone() for k, v in state.items()})
    w = state["dec1.0.weight"]
    out["dec1.0.weight"] = torch.cat([w, w.new_zeros(w.shape[0], 8 * cfg.width, *w.shape[2:])], 1)
    return out
