"""Learned joint source-channel codes: the spiking JSCC and the analog (DeepJSCC-style) reference.

One interface for both (``torch.nn.Module``)::

    code = SpikingJSCC(CodeConfig(kind="snn", symbols_per_position=8))   # bandwidth 8/256 = 1/32
    sym = code.encode(window)              # (B, k): bits 0/1 (spiking) or unit-power reals (analog)
    rx = code.transmit(sym, AWGN(), 0.0)   # soft bits in [-1, 1] / noisy reals
    img = code.decode(rx, (H, W))          # (B, 1, H, W) in [0, 1]
    img = code(window, AWGN(), 0.0)        # all three

``window`` is ``(B, 41, H, W)`` float 0/1 spikes (any H, W: padded to
multiples of 16, see :mod:`.nets`); ``k = channel_uses(H, W)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .channels import Channel, normalize_power, transmit_analog, transmit_bits
from .nets import STRIDE, AnalogEncoder, CodeConfig, Decoder, SpikingEncoder, pad_to_stride

__all__ = ["SpikingJSCC", "AnalogJSCC", "build_code", "channel_uses"]


def channel_uses(height: int, width: int, symbols_per_position: int) -> int:
    """Real channel uses one ``height x width`` image costs (frames padded to multiples of 16)."""
    return -(-height // STRIDE) * -(-width // STRIDE) * symbols_per_position


def _check_window(window: Any, cfg: CodeConfig) -> torch.Tensor:
    if not isinstance(window, torch.Tensor):
        raise TypeError(f"window must be a torch.Tensor (B, {cfg.window}, H, W), got {type(window).__name__}")
    if window.ndim != 4 or window.shape[1] != cfg.window:
        raise ValueError(f"window must have shape (B, {cfg.window}, H, W), got {tuple(window.shape)}")
    if 0 in window.shape:
        raise ValueError(f"window is empty: shape {tuple(window.shape)}")
    return window.float()


class _Code(nn.Module):
    cfg: CodeConfig
    decoder: Decoder

    def grid(self, h: int, w: int) -> tuple[int, int]:
        return -(-h // STRIDE), -(-w // STRIDE)

    def decode(self, received: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Received symbols ``(B, k)`` -> image ``(B, 1, H, W)`` for an ``H x W`` frame."""
        h, w = size
        gh, gw = self.grid(h, w)
        k = gh * gw * self.cfg.symbols_per_position
        if received.ndim != 2 or received.shape[1] != k:
            raise ValueError(f"received symbols must have shape (B, {k}) for a {h}x{w} frame, got {tuple(received.shape)}")
        y = self._unflatten(received, gh, gw)
        return self.decoder(y)[..., :h, :w]

    def forward(self, window: torch.Tensor, channel: Channel, snr_db: Any, *, generator: Any = None) -> torch.Tensor:
        """Encode, send and decode: ``(B, 41, H, W)`` -> ``(B, 1, H, W)``."""
        sym = self.encode(window)
        return self.decode(self.transmit(sym, channel, snr_db, generator=generator), tuple(window.shape[-2:]))


class SpikingJSCC(_Code):
    """Spiking encoder whose output spikes are the channel bits (BPSK), CNN decoder on soft bits."""

    def __init__(self, cfg: CodeConfig = CodeConfig()) -> None:
        super().__init__()
        if cfg.kind != "snn":
            raise ValueError(f"SpikingJSCC needs CodeConfig(kind='snn'), got kind={cfg.kind!r}")
        self.cfg = cfg
        self.encoder = SpikingEncoder(cfg)
        self.decoder = Decoder(cfg)

    def encode(self, window: torch.Tensor) -> torch.Tensor:
        """Bits ``(B, k)`` as float 0/1 (differentiable through the surrogate gradient)."""
        x, _ = pad_to_stride(_check_window(window, self.cfg))
        s = self.encoder(x)  # (T, B, C, h, w)
        return s.permute(1, 0, 2, 3, 4).flatten(1)

    def transmit(self, bits: torch.Tensor, channel: Channel, snr_db: Any, *, generator: Any = None) -> torch.Tensor:
        """BPSK ``x = 2 b - 1`` over ``channel``; returns soft bits ``E[x | y]``."""
        return transmit_bits(2.0 * bits - 1.0, channel, snr_db, generator=generator)

    def _unflatten(self, y: torch.Tensor, gh: int, gw: int) -> torch.Tensor:
        return y.reshape(y.shape[0], self.cfg.symbols_per_position, gh, gw)


class AnalogJSCC(_Code):
    """CNN encoder to unit-power real symbols (DeepJSCC, Bourtsoulatze et al. 2019), same decoder design."""

    def __init__(self, cfg: CodeConfig = CodeConfig(kind="analog")) -> None:
        super().__init__()
        if cfg.kind != "analog":
            raise ValueError(f"AnalogJSCC needs CodeConfig(kind='analog'), got kind={cfg.kind!r}")
        self.cfg = cfg
        self.encoder = AnalogEncoder(cfg)
        self.decoder = Decoder(cfg)

    def encode(self, window: torch.Tensor) -> torch.Tensor:
        """Real symbols ``(B, k)`` with average energy 1 per symbol in every sample."""
        x, _ = pad_to_stride(_check_window(window, self.cfg))
        return normalize_power(self.encoder(x).flatten(1))

    def transmit(self, z: torch.Tensor, channel: Channel, snr_db: Any, *, generator: Any = None) -> torch.Tensor:
        return transmit_analog(z, channel, snr_db, generator=generator)

    def _unflatten(self, y: torch.Tensor, gh: int, gw: int) -> torch.Tensor:
        return y.reshape(y.shape[0], self.cfg.symbols_per_position, gh, gw)


def build_code(cfg: CodeConfig) -> _Code:
    """The code of ``cfg.kind``: :class:`SpikingJSCC` or :class:`AnalogJSCC`."""
    return SpikingJSCC(cfg) if cfg.kind == "snn" else AnalogJSCC(cfg)
