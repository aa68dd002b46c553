"""Spiking semantic communication: send spike-camera content over noisy channels (torch extra).

* :mod:`.channels` — AWGN (BPSK bits or real symbols), block Rayleigh fading
  (with / without receiver knowledge), binary symmetric and erasure channels;
  the SNR and power conventions are stated there once.
* :mod:`.capacity` — binary-input AWGN, BSC, BEC and Gaussian-input capacities.
* :mod:`.jscc` / :mod:`.nets` — the spiking JSCC (LIF encoder whose spikes are
  the channel bits, spikingjelly) and the analog DeepJSCC-style reference.
* :mod:`.codecs` / :mod:`.separate` — the separate-coding baseline: classical
  reconstruction, JPEG / WebP / JPEG 2000 at the link's budget, ideal capacity
  or 5G LDPC (Sionna), "mean gray" on failure.
* :mod:`.evaluate` / :mod:`.api` — PSNR/SSIM versus SNR, :func:`send`.
* :mod:`.data` — training scenes (trained by :mod:`spikevision.learned.tasks.comm`).

>>> from spikevision.comm import send, biawgn_capacity
>>> round(biawgn_capacity(0.0), 3)
0.486
>>> img = send(window, snr_db=0.0)      # doctest: +SKIP  (41, H, W) spikes -> (H, W) image
"""

from __future__ import annotations

from typing import Any

from .api import send
from .capacity import bec_capacity, biawgn_capacity, binary_capacity, bsc_capacity, gaussian_capacity
from .channels import (
    AWGN,
    BEC,
    BSC,
    CHANNEL_NAMES,
    Rayleigh,
    bec_erasure_for_snr,
    bpsk_ber,
    make_channel,
    normalize_power,
    snr_to_noise_std,
    transmit_analog,
    transmit_bits,
)
from .codecs import CODECS, CodedImage, decode_image, encode_image, fit_to_budget
from .evaluate import METHODS, Sample, evaluate, load_code, load_samples, parse_bandwidth, parse_snrs, plot_results, results_table
from .separate import SeparateResult, SeparateSettings, ldpc_rate, separate_coding

__all__ = [
    "AWGN", "BSC", "BEC", "Rayleigh", "CHANNEL_NAMES", "make_channel", "transmit_bits", "transmit_analog",
    "normalize_power", "snr_to_noise_std", "bpsk_ber", "bec_erasure_for_snr",
    "biawgn_capacity", "bsc_capacity", "bec_capacity", "gaussian_capacity", "binary_capacity",
    "CODECS", "CodedImage", "encode_image", "decode_image", "fit_to_budget",
    "SeparateSettings", "SeparateResult", "separate_coding", "ldpc_rate",
    "METHODS", "Sample", "load_samples", "evaluate", "results_table", "plot_results", "parse_snrs",
    "parse_bandwidth", "load_code", "send",
    "SpikingJSCC", "AnalogJSCC", "CodeConfig", "build_code", "channel_uses",
]

_LAZY = {"SpikingJSCC": "jscc", "AnalogJSCC": "jscc", "build_code": "jscc", "channel_uses": "jscc", "CodeConfig": "nets"}


def __getattr__(name: str) -> Any:  # torch-backed names load on first use
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
