"""Exposure: which firing rate maps to white (the ``rate_ratio`` of every method).

Every reconstruction method turns a firing rate (spikes per frame, 0..1) into an
intensity ``rate / rate_ratio`` clipped to [0, 1]. ``rate_ratio`` is the rate of
a white pixel. The community's REDS spike data uses ``0.6``
(:data:`~spikevision.recon.REDS_RATE_RATIO`), but a real camera fires up to one
spike per frame, so with 0.6 every pixel above 60 % of the camera's range comes
out pure white. Each method therefore takes one exposure option,
``rate_ratio``, which is either a number or ``"auto"``.

The ``auto`` rule (:func:`estimate_rate_ratio`)
-----------------------------------------------
Take :data:`AUTO_WINDOWS` (32) windows of :data:`AUTO_WINDOW` (9) frames
spread evenly over the recording; in each, every pixel's rate is its spike
count over the window (short windows, so that motion does not smear bright
objects into darker rates). ``rate_ratio`` is the mean of the brightest
``100 - AUTO_PERCENTILE`` = 0.5 % of those rates (over all pixels and windows),
clipped to ``[AUTO_MIN, 1]``. So the brightest half percent of the recording
reaches white, a recording of a bright scene gets ``~1.0`` (the camera's
limit), a REDS-style recording about 0.6, and a dim one is brightened. The
estimate reads at most ``32 * 9`` frames, whatever the recording's length.

REDS-protocol evaluation (``spikevision eval recon``) keeps the fixed 0.6, so
its numbers are comparable with the literature; the ``reconstruct`` command
uses ``auto`` by default.

>>> import numpy as np
>>> spikes = (np.random.default_rng(0).random((200, 8, 8)) < 0.9).astype(np.uint8)
>>> round(estimate_rate_ratio(spikes), 2)   # a bright recording: close to 1
1.0
>>> resolve_rate_ratio(0.6, spikes)
0.6
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_positive_float, check_positive_int

__all__ = ["AUTO", "AUTO_PERCENTILE", "AUTO_WINDOWS", "AUTO_WINDOW", "AUTO_MIN", "estimate_rate_ratio", "resolve_rate_ratio",
           "parse_rate_ratio"]

#: The value of ``rate_ratio`` that asks for the estimate.
AUTO = "auto"
#: Percentile of the windowed per-pixel rates that maps to white.
AUTO_PERCENTILE = 99.5
#: Windows sampled over the recording.
AUTO_WINDOWS = 32
#: Frames per window.
AUTO_WINDOW = 9
#: Lowest estimate (a recording with almost no spikes is not amplified without bound).
AUTO_MIN = 0.02


def estimate_rate_ratio(spikes: Any, *, window: int = AUTO_WINDOW, percentile: float = AUTO_PERCENTILE,
                        n_windows: int = AUTO_WINDOWS) -> float:
    """The ``auto`` exposure of a recording: a high percentile of its windowed firing rates.

    Parameters
    ----------
    spikes:
        A :class:`~spikevision.SpikeStream` or ``(T, H, W)`` 0/1 array (``T >= 1``).
    window:
        Frames per rate window (shorter recordings use all their frames).
    percentile:
        The rates above this percentile (0, 100) are averaged into the estimate.
    n_windows:
        Windows sampled, evenly spread over the recording.

    Returns
    -------
    float in ``[AUTO_MIN, 1]``: spikes per frame of a white pixel.
    """
    from ..stream import SpikeStream, as_stream

    stream = spikes if isinstance(spikes, SpikeStream) else as_stream(spikes)
    window = check_positive_int(window, "window")
    n_windows = check_positive_int(n_windows, "n_windows")
    percentile = check_positive_float(percentile, "percentile")
    if percentile >= 100:
        raise ValueError(f"percentile must be in (0, 100), got {percentile}")
    n = stream.n_frames
    if n == 0 or stream.height * stream.width == 0:
        raise ValueError(f"cannot estimate the exposure of an empty recording (shape {stream.shape})")
    w = min(window, n)
    starts = np.unique(np.linspace(0, n - w, num=min(n_windows, n - w + 1)).round().astype(np.int64))
    rates = np.empty((len(starts), stream.height, stream.width), np.float32)
    for i, s in enumerate(starts):
        rates[i] = stream.frames(int(s), int(s) + w).sum(0, dtype=np.int32) / np.float32(w)
    flat = rates.reshape(-1)
    k = max(1, int(round(flat.size * (100.0 - percentile) / 100.0)))
    top = np.partition(flat, flat.size - k)[flat.size - k :]
    return float(min(1.0, max(AUTO_MIN, float(top.mean()))))


def parse_rate_ratio(value: Any) -> float | str:
    """``"auto"`` or a positive float (from a CLI string or a number); a clear error otherwise."""
    if isinstance(value, str):
        if value.strip().lower() == AUTO:
            return AUTO
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"rate_ratio must be a positive number or 'auto', got {value!r}") from None
    return check_positive_float(value, "rate_ratio")


def resolve_rate_ratio(rate_ratio: Any, spikes: Any) -> float:
    """``rate_ratio`` as a number: itself, or :func:`estimate_rate_ratio` of ``spikes`` for ``"auto"``."""
    value = parse_rate_ratio(rate_ratio)
    if value == AUTO:
        return estimate_rate_ratio(spikes)
    return float(value)
