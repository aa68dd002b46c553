"""Channel capacities in bits per real channel use (see :mod:`.channels` for the SNR convention).

* :func:`biawgn_capacity` — binary-input (BPSK) AWGN, at most 1 bit per use:
  ``C = 1 - E[log2(1 + exp(-2 y / sigma^2))]``, ``y ~ N(1, sigma^2)``, by
  numerical integration (``scipy.integrate.quad``).
* :func:`bsc_capacity` — ``1 - h2(p)``; :func:`bec_capacity` — ``1 - eps``.
* :func:`gaussian_capacity` — Gaussian-input AWGN, ``0.5 log2(1 + SNR)`` per
  real use (``log2(1 + SNR)`` per complex use, ``complex_use=True``): what an
  analog code could approach and a binary one cannot.
* :func:`binary_capacity` — the capacity of the binary-input channel a spiking
  code actually sees, for a channel object at an SNR.

>>> round(biawgn_capacity(0.0), 3), round(bsc_capacity(0.11), 3), bec_capacity(0.25)
(0.486, 0.5, 0.75)
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

__all__ = ["biawgn_capacity", "bsc_capacity", "bec_capacity", "gaussian_capacity", "binary_capacity", "h2"]


def _num(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "__float__"):
        raise TypeError(f"{name} must be a number, got {type(v).__name__}")
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"{name} must be finite, got {f}")
    return f


def h2(p: float) -> float:
    """Binary entropy in bits; ``h2(0) = h2(1) = 0``."""
    p = _num(p, "p")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if p in (0.0, 1.0):
        return 0.0
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def bsc_capacity(p: float) -> float:
    """Capacity of the binary symmetric channel with flip probability ``p``: ``1 - h2(p)``."""
    return 1.0 - h2(p)


def bec_capacity(eps: float) -> float:
    """Capacity of the binary erasure channel with erasure probability ``eps``: ``1 - eps``."""
    eps = _num(eps, "eps")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps must be in [0, 1], got {eps}")
    return 1.0 - eps


@lru_cache(maxsize=4096)
def _biawgn(snr_db: float) -> float:
    import numpy as np
    from scipy import integrate

    sigma = 10.0 ** (-snr_db / 20.0)
    s2 = sigma * sigma

    def integrand(y: float) -> float:
        # density of y given x = +1, times log2(1 + exp(-2y/s2)) computed stably
        dens = math.exp(-((y - 1.0) ** 2) / (2 * s2)) / math.sqrt(2 * math.pi * s2)
        return dens * float(np.logaddexp(0.0, -2.0 * y / s2)) / math.log(2.0)

    lo, hi = 1.0 - 12 * sigma, 1.0 + 12 * sigma
    val, _ = integrate.quad(integrand, lo, hi, points=[0.0, 1.0] if lo < 0 < hi else None, limit=200)
    return float(min(1.0, max(0.0, 1.0 - val)))


def biawgn_capacity(snr_db: float) -> float:
    """Capacity of BPSK over real AWGN at per-symbol SNR ``snr_db`` (bits per channel use, <= 1).

    Values: -10 dB 0.0687, -5 dB 0.1977, 0 dB 0.4859, 5 dB 0.8592, 10 dB 0.9968
    bits per use (agreeing with the published BI-AWGN curve).
    """
    return _biawgn(round(_num(snr_db, "snr_db"), 9))


def gaussian_capacity(snr_db: float, *, complex_use: bool = False) -> float:
    """Gaussian-input AWGN capacity: ``0.5 log2(1 + SNR)`` per real use, ``log2(1 + SNR)`` per complex use."""
    snr = 10.0 ** (_num(snr_db, "snr_db") / 10.0)
    c = math.log2(1.0 + snr)
    return c if complex_use else 0.5 * c


def binary_capacity(channel: Any, snr_db: float) -> float:
    """Capacity (bits per use) of the binary-input channel seen by BPSK bits on ``channel`` at ``snr_db``.

    AWGN: :func:`biawgn_capacity`; BSC: ``1 - h2(p)`` with ``p`` the channel's
    flip probability (or the hard-decision BPSK BER at ``snr_db``); BEC:
    ``1 - eps``; Rayleigh: the capacity at the *mean* SNR (the ergodic or
    outage figures depend on the coding across blocks; the separate-coding
    baseline handles fading with an outage rate, see :mod:`.separate`).
    """
    from .channels import AWGN, BEC, BSC, Rayleigh, bec_erasure_for_snr, bpsk_ber

    if isinstance(channel, (AWGN, Rayleigh)):
        return biawgn_capacity(snr_db)
    if isinstance(channel, BSC):
        return bsc_capacity(bpsk_ber(snr_db) if channel.p is None else channel.p)
    if isinstance(channel, BEC):
        return bec_capacity(bec_erasure_for_snr(snr_db) if channel.eps is None else channel.eps)
    raise TypeError(f"channel must be AWGN, BSC, BEC or Rayleigh, got {type(channel).__name__}")
