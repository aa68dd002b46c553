"""ATFI: adaptive multi-interval reconstruction (an improvement over TFP / TFI / TFSTP).

Why
---
TFP averages a fixed 41-frame window: precise on static pixels, blurred where
the scene moves. TFI uses the single interval around ``t``: sharp, but its
estimate ``1 / interval`` is quantised to whole frames (a pixel firing every
1.7 frames reads as 1/1 or 1/2). Neither adapts to the pixel.

How
---
For each pixel, start from the inter-spike interval that spans ``t`` (TFI) and
grow the support outwards, one interval at a time on each side, *as long as
the new interval agrees with the current mean interval* ``mu``::

    |interval - mu| <= tolerance + rel_tolerance * mu

``tolerance`` = 1 frame is the quantisation of spike times: a pixel of
constant intensity fires at intervals ``floor(1/rate)`` or ``ceil(1/rate)``.
``rel_tolerance`` absorbs noise in the accumulator. The two sides stop
independently (an edge passing before ``t`` stops the left side only), and
never leave the window. With ``n`` intervals spanning ``span`` frames the
rate is ``n / span``: on a static pixel this is the multi-interval estimate
over the whole window, whose error is one frame over the span instead of one
spike over the window (TFP) or one frame over one interval (TFI); on a moving
edge the support shrinks to the intervals that belong to the current surface.

Pixels without a spike on both sides of ``t`` in the window (too dark to have
an interval around ``t``) get the TFP value of the window.

Measured (``benchmarks/bench_recon.py``): on the REDS training sample
28.1 / 27.9 dB against TFP's 23.5 / 23.7, TFI's 24.7 / 26.3, TFSTP's
26.3 / 27.0 (41-frame window, rate_ratio 0.6). Limitation: under heavy
accumulator noise the intervals disagree, the support stays short and the
result is noisier than TFP; raise ``rel_tolerance`` for noisy sensors.

With numba installed (the ``live`` extra) a compiled kernel does the work per
output time: each pixel's spikes in the window as two bit masks around ``t``,
then its support grown with the same float64 operations as the NumPy kernel,
so both give the same bytes (tested on random streams; 4-7x faster). The NumPy kernel shares the work
between output frames: a forward and a backward scan per block keep the
nearest ``max_intervals`` spike times of every pixel in a shift register, and
only the pixels that spike are shifted at each frame. A single output frame
(``at=``) skips the register: its spikes are ranked by a running count from
the output time outwards (a test checks that both give the same times).
``SPIKEVISION_RECON_BACKEND=numpy`` turns the compiled kernel off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Callable

import numpy as np

from .._checks import check_positive_float, check_positive_int
from . import _blocks
from .classical import DEFAULT_WINDOW, REDS_RATE_RATIO, _tfp_kernel

__all__ = ["atfi", "ATFI"]

_FAR = 30_000  # "no spike" sentinel for int16 times (blocks are shorter than this)


def _nearest(frames: np.ndarray, lo: int, hi: int, *, k: int, forward: bool) -> np.ndarray:
    """``(k, npix)`` int16: the ``k`` spike times in frames ``[lo, hi]`` nearest to ``hi`` (forward) or
    ``lo`` (backward), nearest first, ``-_FAR`` / ``+_FAR`` where missing (as :func:`_scan` for one output).

    Frames are visited from the near end; a spike's rank is its pixel's running spike count, and
    spikes of rank ``<= k`` are written straight to their row (no register shifting).
    """
    npix = int(np.prod(frames.shape[1:]))
    out = np.full((k, npix), -_FAR if forward else _FAR, np.int16)
    count = np.zeros(npix, np.int16)
    for j in range(hi, lo - 1, -1) if forward else range(lo, hi + 1):
        fired = frames[j].reshape(-1) != 0
        count += fired
        p = np.flatnonzero(fired & (count <= k))
        out[count[p] - 1, p] = j
    return out


def _scan(frames: np.ndarray, rel: np.ndarray, *, window: int, k: int, forward: bool) -> np.ndarray:
    """The ``k`` nearest spike times at or before (forward) / after (backward) each output time.

    Returns ``(N, k, H, W)`` int16 times relative to ``frames[0]``, nearest
    first, ``-_FAR`` / ``+_FAR`` where missing. A shift register per pixel
    holds the ``k`` most recent spike times of the scan; at each frame only
    the pixels that spike are shifted.
    """
    h = window // 2
    plane = frames.shape[1:]
    npix = int(np.prod(plane))
    targets = rel.tolist()
    if len(targets) == 1:  # one output: rank the spikes of its frames directly (no register to share)
        t = targets[0]
        lo, hi = (t - h, t) if forward else (t + 1, t - h + window - 1)
        return _nearest(frames, lo, hi, k=k, forward=forward).reshape(1, k, *plane)
    out = np.empty((len(targets), k, *plane), np.int16)
    reg = np.full((k, npix), -_FAR if forward else _FAR, np.int16)

    def push(j: int) -> None:
        hit = np.flatnonzero(frames[j].reshape(-1))
        if hit.size:
            if k > 1:
                reg[1:, hit] = reg[:-1, hit]
            reg[0, hit] = j

    if forward:  # spikes at or before t: snapshot after pushing frame t
        idx = 0
        for j in range(targets[0] - h, targets[-1] + 1):
            push(j)
            while idx < len(targets) and targets[idx] == j:
                out[idx] = reg.reshape(k, *plane)
                idx += 1
        return out
    start = targets[-1] - h + window - 1  # last frame any window needs
    idx = len(targets) - 1
    while idx >= 0 and targets[idx] >= start:  # windows that end at t: nothing after t
        out[idx] = reg.reshape(k, *plane)
        idx -= 1
    for j in range(start, targets[0], -1):  # spikes after t: snapshot after pushing frame t + 1
        push(j)
        while idx >= 0 and targets[idx] == j - 1:
            out[idx] = reg.reshape(k, *plane)
            idx -= 1
    return out


def _atfi_kernel(frames: np.ndarray, rel: np.ndarray, out: np.ndarray, *, window: int, rate_ratio: float,
                 tolerance: float, rel_tolerance: float, max_intervals: int) -> None:
    """ATFI at times ``rel`` of ``frames`` into ``out``: compiled when numba is installed, else NumPy (same bytes)."""
    fast = _compiled()
    if fast is None:
        _atfi_kernel_numpy(frames, rel, out, window=window, rate_ratio=rate_ratio, tolerance=tolerance,
                           rel_tolerance=rel_tolerance, max_intervals=max_intervals)
        return
    _tfp_kernel(frames, rel, out, window=window, rate_ratio=rate_ratio)   # pixels without an interval around t
    flat = out.reshape(len(rel), -1) if out.flags.c_contiguous else np.ascontiguousarray(out).reshape(len(rel), -1)
    fast(np.ascontiguousarray(frames).reshape(frames.shape[0], -1), np.ascontiguousarray(rel, np.int64), int(window),
         int(max_intervals), float(tolerance), float(rel_tolerance), float(rate_ratio), flat)
    if not out.flags.c_contiguous:
        out[...] = flat.reshape(out.shape)


def _atfi_kernel_numpy(frames: np.ndarray, rel: np.ndarray, out: np.ndarray, *, window: int, rate_ratio: float,
                       tolerance: float, rel_tolerance: float, max_intervals: int) -> None:
    """The NumPy kernel: shared scans (:func:`_scan`), then every pixel grows its support in lockstep."""
    h = window // 2
    k = max_intervals
    prev = _scan(frames, rel, window=window, k=k, forward=True)
    nxt = _scan(frames, rel, window=window, k=k, forward=False)
    lo_lim = (rel - h).reshape(-1, *([1] * (frames.ndim - 1)))
    hi_lim = lo_lim + window - 1
    lo = prev[:, 0].astype(np.float64)
    hi = nxt[:, 0].astype(np.float64)
    have = (lo >= lo_lim) & (hi <= hi_lim)
    n = have.astype(np.float64)
    grow_l = have.copy()
    grow_r = have.copy()
    for i in range(1, k):
        if not (grow_l.any() or grow_r.any()):
            break
        mu = (hi - lo) / np.maximum(n, 1.0)
        tol = tolerance + rel_tolerance * mu
        cand_l = prev[:, i]
        ok_l = grow_l & (cand_l >= lo_lim) & (np.abs(prev[:, i - 1] - cand_l - mu) <= tol)
        cand_r = nxt[:, i]
        ok_r = grow_r & (cand_r <= hi_lim) & (np.abs(cand_r - nxt[:, i - 1] - mu) <= tol)
        lo = np.where(ok_l, cand_l, lo)
        hi = np.where(ok_r, cand_r, hi)
        n += ok_l
        n += ok_r
        grow_l &= ok_l
        grow_r &= ok_r
    fallback = np.empty(out.shape, np.float32)
    _tfp_kernel(frames, rel, fallback, window=window, rate_ratio=rate_ratio)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = n / (hi - lo)
    img = np.clip(rate / rate_ratio, 0.0, 1.0)
    np.copyto(out, np.where(have, img, fallback), casting="unsafe")


_DEBRUIJN = 0x03F79D71B4CB0A89


def _debruijn_table() -> np.ndarray:
    """``table[(bit * _DEBRUIJN mod 2**64) >> 58] = i`` for ``bit = 2**i``: the index of a single set bit."""
    table = np.zeros(64, np.int64)
    for i in range(64):
        table[(((1 << i) * _DEBRUIJN) & (2**64 - 1)) >> 58] = i
    return table


@lru_cache(maxsize=1)
def _compiled() -> Callable[..., None] | None:
    """The compiled ATFI kernel (numba, the ``live`` extra), or ``None`` without numba or with
    ``SPIKEVISION_RECON_BACKEND=numpy``.

    Per output time ``t`` it builds, in one pass per frame over all pixels, two
    64-bit masks per pixel: bit ``i`` set for a spike at ``t - i`` (at or
    before ``t``) and at ``t + 1 + i`` (after it); the nearest spikes are then
    the lowest set bits (a de Bruijn multiply), taken one at a time as the
    support grows, with the same float64 operations in the same order as
    :func:`_atfi_kernel_numpy` (``tests/recon/test_adaptive.py`` checks that the
    two give the same bytes). Windows whose halves exceed 64 frames use the
    spike times instead of masks. It writes only pixels with an interval around
    ``t``; the caller fills the others with TFP.
    """
    if os.environ.get("SPIKEVISION_RECON_BACKEND", "").lower() == "numpy":
        return None
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(nogil=True, cache=True, inline="always")
    def lowest(bits: np.uint64, table: np.ndarray) -> int:  # pragma: no cover - compiled
        """Index of the lowest set bit of ``bits`` (non-zero): a de Bruijn multiply and a table look-up."""
        return table[((bits & (~bits + np.uint64(1))) * np.uint64(_DEBRUIJN)) >> np.uint64(58)]

    @numba.njit(nogil=True, cache=True)
    def grow(t: int, p_first: int, n_first: int, pb: np.uint64, nb: np.uint64, table: np.ndarray, k: int,
             tolerance: float, rel_tolerance: float, rate_ratio: float) -> np.float32:  # pragma: no cover
        """One pixel's ATFI value from its spike masks: bit ``i`` of ``pb`` is a spike at ``t - i``,
        bit ``i`` of ``nb`` one at ``t + 1 + i``; ``p_first``/``n_first`` the nearest ones (already removed)."""
        lo = float(p_first)
        hi = float(n_first)
        last_l = p_first
        last_r = n_first
        n = 1.0
        grow_l = True
        grow_r = True
        for _ in range(1, k):
            if not (grow_l or grow_r):
                break
            mu = (hi - lo) / max(n, 1.0)
            tol = tolerance + rel_tolerance * mu
            ok_l = False
            if grow_l and pb != 0:
                cl = t - lowest(pb, table)
                ok_l = abs(float(last_l - cl) - mu) <= tol
            ok_r = False
            if grow_r and nb != 0:
                cr = t + 1 + lowest(nb, table)
                ok_r = abs(float(cr - last_r) - mu) <= tol
            if ok_l:
                lo = float(cl)
                last_l = cl
                pb &= pb - np.uint64(1)
                n += 1.0
            if ok_r:
                hi = float(cr)
                last_r = cr
                nb &= nb - np.uint64(1)
                n += 1.0
            grow_l = ok_l
            grow_r = ok_r
        v = (n / (hi - lo)) / rate_ratio
        return np.float32(min(max(v, 0.0), 1.0))

    @numba.njit(nogil=True, cache=True)
    def atfi_pixels(frames: np.ndarray, rel: np.ndarray, window: int, k: int, tolerance: float,
                    rel_tolerance: float, rate_ratio: float, table: np.ndarray,
                    out: np.ndarray) -> None:  # pragma: no cover - compiled
        npix = frames.shape[1]
        h = window // 2
        before = np.empty(npix, np.uint64)
        after = np.empty(npix, np.uint64)
        for m in range(rel.shape[0]):
            t = rel[m]
            lo_lim = t - h
            hi_lim = lo_lim + window - 1
            if h >= 64 or hi_lim - t > 64:   # longer windows: the spike times, not masks, per pixel
                _atfi_long(frames, t, lo_lim, hi_lim, k, tolerance, rel_tolerance, rate_ratio, out[m])
                continue
            before[:] = 0
            for j in range(lo_lim, t + 1):      # one pass per frame, all pixels: bit t - j
                row = frames[j]
                sh = np.uint64(t - j)
                for p in range(npix):
                    before[p] |= np.uint64(row[p] != 0) << sh
            after[:] = 0
            for j in range(t + 1, hi_lim + 1):  # bit j - t - 1
                row = frames[j]
                sh = np.uint64(j - t - 1)
                for p in range(npix):
                    after[p] |= np.uint64(row[p] != 0) << sh
            for p in range(npix):
                pb = before[p]
                nb = after[p]
                if pb == 0 or nb == 0:          # no interval around t in the window: TFP stays
                    continue
                p_first = t - lowest(pb, table)
                n_first = t + 1 + lowest(nb, table)
                out[m, p] = grow(t, p_first, n_first, pb & (pb - np.uint64(1)), nb & (nb - np.uint64(1)), table,
                                 k, tolerance, rel_tolerance, rate_ratio)

    @numba.njit(nogil=True, cache=True)
    def _atfi_long(frames: np.ndarray, t: int, lo_lim: int, hi_lim: int, k: int, tolerance: float,
                   rel_tolerance: float, rate_ratio: float, out: np.ndarray) -> None:  # pragma: no cover
        npix = frames.shape[1]
        prev = np.empty((npix, k), np.int32)
        nxt = np.empty((npix, k), np.int32)
        n_prev = np.zeros(npix, np.int32)
        n_next = np.zeros(npix, np.int32)
        for j in range(t, lo_lim - 1, -1):
            row = frames[j]
            for p in range(npix):
                if row[p] != 0 and n_prev[p] < k:
                    prev[p, n_prev[p]] = j
                    n_prev[p] += 1
        for j in range(t + 1, hi_lim + 1):
            row = frames[j]
            for p in range(npix):
                if row[p] != 0 and n_next[p] < k:
                    nxt[p, n_next[p]] = j
                    n_next[p] += 1
        for p in range(npix):
            if n_prev[p] == 0 or n_next[p] == 0:
                continue
            lo = float(prev[p, 0])
            hi = float(nxt[p, 0])
            n = 1.0
            grow_l = True
            grow_r = True
            for i in range(1, k):
                if not (grow_l or grow_r):
                    break
                mu = (hi - lo) / max(n, 1.0)
                tol = tolerance + rel_tolerance * mu
                ok_l = grow_l and i < n_prev[p] and abs(float(prev[p, i - 1] - prev[p, i]) - mu) <= tol
                ok_r = grow_r and i < n_next[p] and abs(float(nxt[p, i] - nxt[p, i - 1]) - mu) <= tol
                if ok_l:
                    lo = float(prev[p, i])
                    n += 1.0
                if ok_r:
                    hi = float(nxt[p, i])
                    n += 1.0
                grow_l = ok_l
                grow_r = ok_r
            v = (n / (hi - lo)) / rate_ratio
            out[p] = np.float32(min(max(v, 0.0), 1.0))

    table = _debruijn_table()
    return lambda frames, rel, window, k, tol, rel_tol, ratio, out: atfi_pixels(
        frames, rel, window, k, tol, rel_tol, ratio, table, out)



def warm_up() -> None:
    """Compile (or load from numba's cache) the ATFI kernel, so that a first request is not slow."""
    if _compiled() is not None:
        atfi(np.zeros((3, 1, 8), np.uint8), at=1, window=3)


def atfi(
    spikes: Any,
    *,
    at: int | None = None,
    every: int | None = None,
    window: int = DEFAULT_WINDOW,
    rate_ratio: float = REDS_RATE_RATIO,
    tolerance: float = 1.0,
    rel_tolerance: float = 0.05,
    max_intervals: int = 12,
    progress: bool = False,
) -> np.ndarray:
    """Adaptive multi-interval reconstruction (see the module docstring).

    Parameters
    ----------
    spikes, at, every, window, rate_ratio, progress:
        As :func:`~spikevision.recon.tfp`.
    tolerance:
        Allowed deviation (frames) of a new interval from the current mean
        interval; 1 frame is the quantisation of spike times.
    rel_tolerance:
        Extra allowed deviation as a fraction of the mean interval (noise).
    max_intervals:
        Most spikes used on each side of ``t`` (the support holds at most
        ``2 * max_intervals - 1`` intervals).

    Returns
    -------
    ``(H, W)`` (``at``) or ``(N, H, W)`` (``every``) float32 in [0, 1].
    """
    window = _blocks.check_window(window)
    if window >= _FAR:
        raise ValueError(f"window must be < {_FAR} frames, got {window}")
    rate_ratio = _blocks.check_rate_ratio(rate_ratio)
    tolerance = check_positive_float(tolerance, "tolerance", allow_zero=True)
    rel_tolerance = check_positive_float(rel_tolerance, "rel_tolerance", allow_zero=True)
    max_intervals = check_positive_int(max_intervals, "max_intervals")
    kernel = partial(_atfi_kernel, window=window, rate_ratio=rate_ratio, tolerance=tolerance,
                     rel_tolerance=rel_tolerance, max_intervals=max_intervals)
    return _blocks.run(spikes, kernel, at=at, every=every, window=window, progress=progress, desc="atfi",
                       max_outputs=16)


@dataclass(frozen=True)
class ATFI:
    """Settings holder for :func:`atfi`."""

    window: int = DEFAULT_WINDOW
    rate_ratio: float = REDS_RATE_RATIO
    tolerance: float = 1.0
    rel_tolerance: float = 0.05
    max_intervals: int = 12

    def __call__(self, spikes: Any, *, at: int | None = None, every: int | None = None, progress: bool = False) -> np.ndarray:
        return atfi(spikes, at=at, every=every, window=self.window, rate_ratio=self.rate_ratio,
                    tolerance=self.tolerance, rel_tolerance=self.rel_tolerance, max_intervals=self.max_intervals,
                    progress=progress)
