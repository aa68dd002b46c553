"""Summary statistics of a spike stream (the numbers of ``spikevision info``)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["stream_info"]


def stream_info(stream: Any, *, progress: bool = False) -> dict:
    """Summary statistics of a stream (``spikevision info``), computed on packed bits where possible.

    Returns ``{"frames", "height", "width", "rate_hz", "duration_s", "total_spikes", "mean_rate",
    "frame_rate_min", "frame_rate_max", "frame_rate_std", "frame_rate_p05", "frame_rate_p95",
    "empty_frames"}``; rates are spikes per pixel per frame (NaN for an empty stream).

    >>> stream_info(read_dat("clip.dat", sensor="vidar"))["mean_rate"]   # doctest: +SKIP
    """
    from ..progress import progress_bar

    t, h, w = stream.shape
    counts = np.empty(t, np.int64)
    bar = progress_bar(total=t, desc="counting spikes", enabled=progress, unit="frame")
    step = 8192
    for i in range(0, t, step):
        j = min(i + step, t)
        counts[i:j] = stream.spike_counts(i, j)
        bar.update(j - i)
    bar.close()
    rates = counts / float(h * w)
    return {
        "frames": t,
        "height": h,
        "width": w,
        "rate_hz": stream.rate_hz,
        "duration_s": stream.duration_s,
        "total_spikes": int(counts.sum()),
        "mean_rate": float(rates.mean()) if t else float("nan"),
        "frame_rate_min": float(rates.min()) if t else float("nan"),
        "frame_rate_max": float(rates.max()) if t else float("nan"),
        "frame_rate_std": float(rates.std()) if t else float("nan"),
        "frame_rate_p05": float(np.percentile(rates, 5)) if t else float("nan"),
        "frame_rate_p95": float(np.percentile(rates, 95)) if t else float("nan"),
        "empty_frames": int((counts == 0).sum()),
    }
