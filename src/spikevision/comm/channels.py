"""Noisy channels for binary spikes and analog symbols (torch, differentiable where it makes sense).

Conventions (used everywhere in :mod:`spikevision.comm`)
--------------------------------------------------------
* **Channel use** = one *real* symbol. Two real uses paired as the in-phase and
  quadrature parts of a complex baseband symbol are one complex channel use
  (QPSK for bits). The bandwidth ratio is ``real channel uses / pixels``.
* **Power**: every transmitted block (one image) has average energy 1 per real
  symbol. BPSK symbols ``x = 2 s - 1`` (spike ``s`` in {0, 1}) satisfy this
  exactly; analog codes are normalised per sample with :func:`normalize_power`.
* **SNR** (dB) = ``10 log10(Es / sigma^2)`` with ``Es = 1`` the energy per real
  symbol and ``sigma^2`` the noise variance per real dimension. When two real
  uses form one complex symbol this is exactly ``Es/N0`` of that complex
  channel, so curves are comparable with the usual Es/N0 axis.
* **Binary receivers output soft bits**: the posterior mean ``E[x | y]`` of the
  bipolar symbol, in ``[-1, 1]`` (``tanh`` of half the LLR). The same decoder
  input therefore serves every channel: AWGN gives ``tanh(y / sigma^2)``, a
  binary symmetric channel ``±(1 - 2p)``, an erasure ``0``.
* **Block Rayleigh fading**: one gain per image, ``h = |g|`` with
  ``g ~ CN(0, 1)`` (``E[h^2] = 1``), the carrier phase assumed recovered
  (coherent detection). With receiver knowledge (``csi=True``) the receiver
  uses ``h`` (soft bits ``tanh(h y / sigma^2)``, analog MMSE scaling
  ``h y / (h^2 + sigma^2)``); without it, it treats the channel as ``h = 1``.

The channel models are written here (a few lines each) rather than taken from
a communications library because the SNR convention, the soft-bit interface and
the gradient path through them are the point; the tests cross-check them
against Sionna's binary channels when it is installed. The genuinely hard
part of the separate-coding baseline, the 5G LDPC code with rate matching and
the CRC, comes from Sionna (:mod:`spikevision.comm.separate`).

Examples
--------
>>> import torch
>>> x = torch.tensor([1.0, -1.0, 1.0, 1.0])
>>> y = transmit_bits(x, AWGN(), 100.0, generator=torch.Generator().manual_seed(0))
>>> y.round().tolist()
[1.0, -1.0, 1.0, 1.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

__all__ = [
    "AWGN",
    "BSC",
    "BEC",
    "Rayleigh",
    "Channel",
    "CHANNEL_NAMES",
    "make_channel",
    "snr_to_noise_std",
    "bpsk_ber",
    "bec_erasure_for_snr",
    "normalize_power",
    "transmit_bits",
    "transmit_analog",
    "hard_bits",
]


@dataclass(frozen=True)
class AWGN:
    """Additive white Gaussian noise, ``y = x + sigma n`` (real, per-symbol SNR)."""

    name: str = "awgn"


@dataclass(frozen=True)
class BSC:
    """Binary symmetric channel: each bit flips with probability ``p``.

    ``p=None`` means "the BER of hard-decided BPSK at the given SNR",
    ``p = Q(sqrt(SNR))`` (see :func:`bpsk_ber`), so a BSC and an AWGN channel at
    the same SNR are the soft and hard-decision views of one link.
    """

    p: float | None = None
    name: str = "bsc"

    def __post_init__(self) -> None:
        if self.p is not None and not (0.0 <= float(self.p) <= 0.5):
            raise ValueError(f"BSC flip probability p must be in [0, 0.5], got {self.p}")


@dataclass(frozen=True)
class BEC:
    """Binary erasure channel: each bit is erased (received as 0) with probability ``eps``.

    ``eps=None`` means "the erasure probability whose capacity ``1 - eps`` equals
    the binary-input AWGN capacity at the given SNR" (:func:`bec_erasure_for_snr`).
    """

    eps: float | None = None
    name: str = "bec"

    def __post_init__(self) -> None:
        if self.eps is not None and not (0.0 <= float(self.eps) <= 1.0):
            raise ValueError(f"BEC erasure probability eps must be in [0, 1], got {self.eps}")


@dataclass(frozen=True)
class Rayleigh:
    """Block Rayleigh fading plus AWGN: one amplitude ``h`` per sample (image).

    ``csi=True``: the receiver knows ``h``; ``False``: it assumes ``h = 1``.
    """

    csi: bool = True
    name: str = "rayleigh"


Channel = Union[AWGN, BSC, BEC, Rayleigh]

#: Names accepted by :func:`make_channel` (and the CLI's ``--channel``).
CHANNEL_NAMES = ("awgn", "bsc", "bec", "rayleigh", "rayleigh-nocsi")


def make_channel(name: str) -> Channel:
    """Channel from its CLI name (one of :data:`CHANNEL_NAMES`)."""
    table = {"awgn": AWGN(), "bsc": BSC(), "bec": BEC(), "rayleigh": Rayleigh(csi=True),
             "rayleigh-nocsi": Rayleigh(csi=False)}
    if not isinstance(name, str) or name.lower() not in table:
        raise ValueError(f"channel must be one of {CHANNEL_NAMES}, got {name!r}")
    return table[name.lower()]


def _check_channel(channel: Any) -> Channel:
    if not isinstance(channel, (AWGN, BSC, BEC, Rayleigh)):
        raise TypeError(f"channel must be AWGN, BSC, BEC or Rayleigh, got {type(channel).__name__}")
    return channel


#: SNRs beyond this magnitude (dB) are refused: 10^(SNR/10) would overflow a float.
MAX_ABS_SNR_DB = 300.0


def _check_snr(snr_db: Any) -> Any:
    """A finite float in [-300, 300] dB, or a 1-D tensor/array of per-sample SNRs (dB)."""
    import torch

    if isinstance(snr_db, torch.Tensor):
        if snr_db.ndim > 1 or not torch.isfinite(snr_db).all():
            raise ValueError(f"snr_db tensor must be 1-D (one value per sample) and finite, got shape {tuple(snr_db.shape)}")
        if snr_db.numel() and float(snr_db.abs().max()) > MAX_ABS_SNR_DB:
            raise ValueError(f"snr_db values must lie in [-{MAX_ABS_SNR_DB:g}, {MAX_ABS_SNR_DB:g}] dB, "
                             f"got up to {float(snr_db.abs().max()):g}")
        return snr_db.float()
    if isinstance(snr_db, bool) or not isinstance(snr_db, (int, float, np.integer, np.floating)):
        raise TypeError(f"snr_db must be a number (dB) or a 1-D tensor, got {type(snr_db).__name__}")
    v = float(snr_db)
    if not math.isfinite(v):
        raise ValueError(f"snr_db must be finite, got {v}")
    if abs(v) > MAX_ABS_SNR_DB:
        raise ValueError(f"snr_db must lie in [-{MAX_ABS_SNR_DB:g}, {MAX_ABS_SNR_DB:g}] dB, got {v:g}")
    return v


def snr_to_noise_std(snr_db: Any) -> Any:
    """Noise standard deviation per real dimension for unit-energy symbols: ``10^(-SNR/20)``."""
    return 10.0 ** (-_check_snr(snr_db) / 20.0)


def bpsk_ber(snr_db: float) -> float:
    """Bit error rate of hard-decided BPSK on AWGN at ``snr_db``: ``Q(sqrt(SNR))``.

    >>> round(bpsk_ber(0.0), 4)
    0.1587
    """
    from scipy.special import erfc

    snr = 10.0 ** (_check_snr(snr_db) / 10.0)
    return float(0.5 * erfc(math.sqrt(snr / 2.0)))


def bec_erasure_for_snr(snr_db: float) -> float:
    """Erasure probability of the BEC with the binary-input AWGN capacity at ``snr_db``."""
    from .capacity import biawgn_capacity

    return float(1.0 - biawgn_capacity(_check_snr(snr_db)))


def _per_sample(v: Any, x: Any) -> Any:
    """Broadcast a scalar or per-sample (B,) tensor to ``x``'s shape (batch axis first)."""
    import torch

    if isinstance(v, torch.Tensor):
        if v.shape[0] != x.shape[0]:
            raise ValueError(f"per-sample SNR has {v.shape[0]} values, the batch has {x.shape[0]} samples")
        return v.to(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))
    return v


def _fading(x: Any, generator: Any) -> Any:
    """Rayleigh amplitudes ``|g|``, ``g ~ CN(0, 1)``, one per sample, shaped to broadcast over ``x``."""
    import torch

    g = torch.randn((x.shape[0], 2), generator=generator, dtype=x.dtype, device=x.device) / math.sqrt(2.0)
    return g.pow(2).sum(1).sqrt().reshape((-1,) + (1,) * (x.ndim - 1))


def _check_x(x: Any, name: str) -> Any:
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.ndim < 1:
        raise ValueError(f"{name} must have a batch axis first, shape (B, ...), got a scalar")
    return x


def transmit_bits(x: Any, channel: Channel, snr_db: Any, *, generator: Any = None) -> Any:
    """Send bipolar symbols ``x`` (±1, shape ``(B, ...)``) and return the receiver's soft bits.

    Parameters
    ----------
    x:
        Float tensor of ±1 (BPSK of the spikes), batch axis first. Gradients
        flow to ``x`` through the AWGN and fading channels (the soft bit is a
        smooth function of ``y``); the BSC and BEC are not differentiable in
        ``x`` beyond the straight-through identity of the flip/erasure mask.
    channel:
        :class:`AWGN`, :class:`BSC`, :class:`BEC` or :class:`Rayleigh`.
    snr_db:
        Per-symbol SNR in dB (see the module notes): a float or a ``(B,)``
        tensor. For BSC/BEC with ``p``/``eps`` unset it sets the flip/erasure
        probability; a set ``p``/``eps`` overrides it.
    generator:
        ``torch.Generator`` for reproducible noise.

    Returns
    -------
    torch.Tensor
        Soft bits ``E[x | y]`` in ``[-1, 1]``, same shape as ``x``.
    """
    import torch

    x = _check_x(x, "x")
    channel = _check_channel(channel)
    snr = _check_snr(snr_db)
    if isinstance(channel, (AWGN, Rayleigh)):
        var = _per_sample(snr_to_noise_std(snr), x) ** 2
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        if isinstance(channel, AWGN):
            y = x + noise * math.sqrt(var) if isinstance(var, float) else x + noise * var.sqrt()
            return torch.tanh(y / var)
        h = _fading(x, generator)
        y = h * x + (noise * math.sqrt(var) if isinstance(var, float) else noise * var.sqrt())
        return torch.tanh((h if channel.csi else 1.0) * y / var)
    if isinstance(snr, torch.Tensor):
        raise ValueError(f"{channel.name}: give one SNR for the whole batch, not a tensor")
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    if isinstance(channel, BSC):
        p = bpsk_ber(snr) if channel.p is None else float(channel.p)
        flip = (u < p).to(x.dtype)
        return x * (1.0 - 2.0 * flip) * (1.0 - 2.0 * p)
    eps = bec_erasure_for_snr(snr) if channel.eps is None else float(channel.eps)
    return x * (u >= eps).to(x.dtype)


def hard_bits(soft: Any) -> Any:
    """Hard decision of soft bits: ``1`` where ``soft > 0`` else ``0`` (ties, e.g. erasures, to 0)."""
    import torch

    return (soft > 0).to(torch.uint8)


def normalize_power(z: Any) -> Any:
    """Scale each sample of ``z`` (``(B, ...)``) to average energy 1 per real symbol.

    Examples
    --------
    >>> import torch
    >>> z = normalize_power(torch.arange(1.0, 9.0).reshape(2, 4))
    >>> [round(float(v), 4) for v in z.pow(2).mean(1)]
    [1.0, 1.0]
    """
    z = _check_x(z, "z")
    flat = z.reshape(z.shape[0], -1)
    if flat.shape[1] == 0:
        raise ValueError("cannot normalise the power of an empty code (0 symbols per sample)")
    p = flat.pow(2).mean(1).clamp_min(1e-12).sqrt()
    return z / p.reshape((-1,) + (1,) * (z.ndim - 1))


def transmit_analog(z: Any, channel: Channel, snr_db: Any, *, generator: Any = None) -> Any:
    """Send real symbols ``z`` (``(B, ...)``, normalised to unit power per sample) over AWGN or fading.

    Returns the receiver's estimate of ``z``: ``y`` for AWGN, the MMSE-scaled
    ``h y / (h^2 + sigma^2)`` for Rayleigh with receiver knowledge, and ``y``
    (as if ``h = 1``) without. Differentiable in ``z``. Binary channels (BSC,
    BEC) carry bits, not real symbols: they raise ``ValueError``.
    """
    import torch

    z = _check_x(z, "z")
    channel = _check_channel(channel)
    if not isinstance(channel, (AWGN, Rayleigh)):
        raise ValueError(f"an analog code needs a real-valued channel (awgn or rayleigh), got {channel.name}")
    std = _per_sample(snr_to_noise_std(_check_snr(snr_db)), z)
    noise = torch.randn(z.shape, generator=generator, dtype=z.dtype, device=z.device) * std
    if isinstance(channel, AWGN):
        return z + noise
    h = _fading(z, generator)
    y = h * z + noise
    return h * y / (h * h + std * std) if channel.csi else y
