"""Networks of the learned codes: a spiking encoder, an analog CNN encoder, one shared decoder design.

Both codes downsample by ``STRIDE = 16`` and put ``symbols_per_position``
channel symbols at every position of the ``(H/16, W/16)`` grid, so the
bandwidth ratio (real channel uses per pixel) is ``symbols_per_position / 256``
(1/32 -> 8 symbols, 1/16 -> 16, 1/64 -> 4). Frames whose size is not a
multiple of 16 are padded (replicate) before encoding and the decoder crops;
the padding is counted in the channel uses actually sent.

Spiking encoder (after SNN-SC, Wang et al. 2022): the spike window
``(B, 41, H, W)`` enters a stem convolution whose current is presented for
``steps`` time steps (direct encoding) to a stack of conv -> BatchNorm -> LIF
layers (spikingjelly ``LIFNode``, multi-step ``[T, B, C, H, W]``, ATan
surrogate gradient, detached hard reset; ``decay_input=False``, i.e.
``v <- v (1 - 1/tau) + I``, so a neuron can fire at the first step and no step's
bits are wasted). The last LIF layer has
``symbols_per_position / steps`` channels; its spikes at every step are the
channel bits, so one image is ``steps * C * H/16 * W/16`` bits.

Decoder (receiver side, a plain CNN): the received symbols (soft bits in
``[-1, 1]`` or analog values), steps stacked as channels, go through residual
blocks and four pixel-shuffle upsamplings to the image, ``sigmoid`` output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .._snn import spikingjelly

__all__ = ["CodeConfig", "SpikingEncoder", "AnalogEncoder", "Decoder", "STRIDE", "pad_to_stride"]

#: Spatial downsampling of both encoders.
STRIDE = 16


def _sj():
    return spikingjelly()


@dataclass(frozen=True)
class CodeConfig:
    """Architecture of one learned code (stored with its weights).

    ``kind`` is ``"snn"`` (binary spikes) or ``"analog"`` (real symbols);
    ``symbols_per_position`` sets the bandwidth (``/ 256``); ``steps`` is the
    number of SNN time steps (``symbols_per_position`` must be a multiple of
    it); ``width`` scales the channel counts.
    """

    kind: str = "snn"
    window: int = 41
    symbols_per_position: int = 8
    steps: int = 4
    width: int = 32
    dec_width: int = 64
    tau: float = 2.0
    decay_input: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("snn", "analog"):
            raise ValueError(f"kind must be 'snn' or 'analog', got {self.kind!r}")
        if self.symbols_per_position < 1:
            raise ValueError(f"symbols_per_position must be >= 1, got {self.symbols_per_position}")
        if self.kind == "snn" and self.symbols_per_position % self.steps:
            raise ValueError(f"symbols_per_position ({self.symbols_per_position}) must be a multiple of steps ({self.steps})")

    @property
    def bandwidth(self) -> float:
        """Real channel uses per pixel (before padding)."""
        return self.symbols_per_position / STRIDE**2

    def to_dict(self) -> dict:
        return asdict(self)


def pad_to_stride(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    """Replicate-pad the last two axes of ``(B, C, H, W)`` up to multiples of :data:`STRIDE`."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % STRIDE, (-w) % STRIDE
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, (h, w)


class SpikingEncoder(nn.Module):
    """Spike window ``(B, window, H, W)`` (0/1 floats, H, W multiples of 16) -> spikes ``(T, B, C, H/16, W/16)``."""

    def __init__(self, cfg: CodeConfig) -> None:
        super().__init__()
        functional, layer, neuron, surrogate = _sj()
        self.cfg = cfg
        c = cfg.width

        def lif() -> nn.Module:
            return neuron.LIFNode(tau=cfg.tau, decay_input=cfg.decay_input, surrogate_function=surrogate.ATan(),
                                  detach_reset=True, step_mode="m")

        def conv(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [layer.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False, step_mode="m"),
                    layer.BatchNorm2d(cout, step_mode="m"), lif()]

        self.stem = nn.Sequential(nn.Conv2d(cfg.window, c, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(c))
        self.stem_lif = lif()
        self.body = nn.Sequential(
            *conv(c, 2 * c, 2),
            *conv(2 * c, 2 * c, 1),
            *conv(2 * c, 2 * c, 2),
            *conv(2 * c, 2 * c, 1),
        )
        self.head = nn.Sequential(
            layer.Conv2d(2 * c, cfg.symbols_per_position // cfg.steps, 3, stride=2, padding=1, bias=False, step_mode="m"),
            layer.BatchNorm2d(cfg.symbols_per_position // cfg.steps, step_mode="m"),
            lif(),
        )

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        functional, _, _, _ = _sj()
        functional.reset_net(self)
        current = self.stem(window)
        seq = current.unsqueeze(0).expand(self.cfg.steps, *current.shape)
        spikes = self.head(self.body(self.stem_lif(seq)))
        functional.reset_net(self)
        return spikes


class AnalogEncoder(nn.Module):
    """Spike window ``(B, window, H, W)`` -> real symbols ``(B, C, H/16, W/16)`` (not yet power-normalised)."""

    def __init__(self, cfg: CodeConfig) -> None:
        super().__init__()
        c = cfg.width

        def conv(cin: int, cout: int, stride: int, k: int = 3) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout)]

        self.net = nn.Sequential(
            *conv(cfg.window, c, 2, 5),
            *conv(c, 2 * c, 2),
            *conv(2 * c, 2 * c, 1),
            *conv(2 * c, 2 * c, 2),
            *conv(2 * c, 2 * c, 1),
            nn.Conv2d(2 * c, cfg.symbols_per_position, 3, stride=2, padding=1),
        )

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        return self.net(window)


class _Res(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(F.relu(self.a(x)))


class Decoder(nn.Module):
    """Received symbols ``(B, S, h, w)`` (S = symbols per position) -> image ``(B, 1, 16h, 16w)`` in ``[0, 1]``."""

    def __init__(self, cfg: CodeConfig) -> None:
        super().__init__()
        d = cfg.dec_width
        chans = [d, d, d * 3 // 4, d // 2, d // 4]

        def up(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, 4 * cout, 3, padding=1), nn.PixelShuffle(2), nn.ReLU()]

        layers: list[nn.Module] = [nn.Conv2d(cfg.symbols_per_position, d, 3, padding=1), nn.ReLU(), _Res(d), _Res(d)]
        for i in range(4):
            layers += up(chans[i], chans[i + 1])
            if i < 2:
                layers.append(_Res(chans[i + 1]))
        layers.append(nn.Conv2d(chans[4], 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(y))
