"""The shared driver of the classical methods: one kernel, two modes.

Each classical method is written once as a *kernel* ``kernel(frames, rel, out)``
that receives decoded frames ``[lo, hi)`` (uint8 ``(n, H, W)``) and the output
times relative to ``lo`` (int64 ``(N,)``, increasing, each with its whole
window inside the frames), and fills ``out`` (``(N, H, W)`` float32). Single-time mode calls it on
one window; whole-stream mode calls it on blocks of consecutive output frames
(the block's frames overlap by one window), so memory stays bounded on long
file-backed streams and the per-frame work is shared (one cumulative sum, one
forward/backward scan per block).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._checks import check_positive_float, check_positive_int
from ..progress import progress_bar
from ..stream import SpikeStream, as_stream
from .registry import _check_at, frame_indices

#: Frames x pixels decoded at once in whole-stream mode (64 Mi pixel-frames).
BLOCK_BUDGET = 1 << 26
#: Longest block, in frames (keeps int16 time indices and uint16 counts exact).
MAX_BLOCK_FRAMES = 32_000

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


def as_spike_stream(data: Any) -> SpikeStream:
    """A :class:`SpikeStream` view of ``data`` (streams pass through; arrays are checked)."""
    return data if isinstance(data, SpikeStream) else as_stream(data)


def check_window(window: Any) -> int:
    return check_positive_int(window, "window")


def check_rate_ratio(rate_ratio: Any) -> float:
    return check_positive_float(rate_ratio, "rate_ratio")


def run(
    spikes: Any,
    kernel: Kernel,
    *,
    at: int | None,
    every: int | None,
    window: int,
    progress: bool,
    desc: str,
    max_outputs: int | None = None,
) -> np.ndarray:
    """Run ``kernel`` at one frame (``at``) or at every ``every``-th frame with context.

    ``max_outputs`` caps the output frames per kernel call (for kernels whose
    memory grows with the number of outputs rather than with the frames).
    """
    if (at is None) == (every is None):
        raise ValueError(f"give exactly one of at= and every=, got at={at!r}, every={every!r}")
    stream = as_spike_stream(spikes)
    h = window // 2
    if at is not None:
        at = _check_at(at, stream.n_frames, window)
        frames = stream.frames(at - h, at - h + window)
        out = np.empty((1, stream.height, stream.width), np.float32)
        kernel(frames, np.array([h], np.int64), out)
        return out[0]
    times = frame_indices(stream.n_frames, every=every, window=window)
    out = np.empty((len(times), stream.height, stream.width), np.float32)
    if len(times) == 0:
        return out
    pixels = max(1, stream.height * stream.width)
    span = min(MAX_BLOCK_FRAMES, max(window, BLOCK_BUDGET // pixels))
    per_block = 1 if every >= window else max(1, (span - window) // every + 1)
    if max_outputs is not None:
        per_block = min(per_block, max_outputs)
    with progress_bar(total=len(times), desc=desc, enabled=progress, unit="frame") as bar:
        for i in range(0, len(times), per_block):
            block = times[i : i + per_block]
            lo = int(block[0]) - h
            hi = int(block[-1]) - h + window
            frames = stream.frames(lo, hi)
            kernel(frames, block - lo, out[i : i + len(block)])
            bar.update(len(block))
    return out
