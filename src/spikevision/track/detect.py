"""Classical moving-object detection from short spike windows.

The detector works on **cell rates**: the spikes of a short window (``window``
frames) summed over cells of ``cell = (rows, cols)`` pixels and divided by the
window length and the cell area, i.e. spikes per pixel per frame, ``(Hc, Wc)``
float32. Cells 8 pixels wide match the ``.dat`` layout (one byte holds 8
neighbouring pixels of a row), so a window is counted straight from the packed
bytes by population count (:func:`cell_rates`), without unpacking a bit; that
is what lets the tracker run faster than the camera.

Each window is compared with a running background model (:class:`BackgroundModel`):

1. **Change test, tolerant to camera drift.** A cell is foreground where its
   rate lies outside the range of the background over a small neighbourhood
   (``tolerance`` cells) by more than ``k_sigma`` times the cell's running
   residual spread and an absolute floor (``min_contrast``, rate units). A
   slowly drifting camera moves the background pattern by less than the
   neighbourhood between updates, so it raises nothing; sensor noise is
   absorbed by the spread and the floor.
2. **Update.** Background cells follow the new rate with factor ``alpha``;
   foreground cells only with ``alpha_foreground`` (objects are not absorbed),
   unless they stayed unchanged for ``absorb_after`` windows (a ghost: the
   background uncovered where an object stood when the model started).
3. **Boxes.** Foreground cells are grouped (dilated by ``merge`` cells, then
   connected components) and each group gives a box in pixels, its time the
   window's centre.

>>> import numpy as np
>>> from spikevision.track.detect import DetectorSettings, cell_rates
>>> spikes = np.zeros((20, 16, 32), np.uint8)
>>> cell_rates(spikes, 0, 10, cell=(4, 8)).shape
(4, 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_positive_float, check_positive_int

__all__ = ["DetectorSettings", "BackgroundModel", "cell_rates", "detect_cells", "grow_objects"]


@dataclass(frozen=True)
class DetectorSettings:
    """Settings of the classical detector (immutable).

    Parameters
    ----------
    window:
        Spike frames summed per detection window.
    step:
        Spike frames between the starts of two detection windows (``step >=
        window`` skips frames, which makes it faster).
    cell:
        ``(rows, cols)`` pixels per cell; ``cols = 8`` reads ``.dat`` bytes directly.
    alpha, alpha_foreground:
        Background update factors per window for background / foreground cells.
    k_sigma:
        Foreground when the change exceeds ``k_sigma`` residual spreads ...
    min_contrast, relative_contrast:
        ... and at least ``max(min_contrast, relative_contrast x`` the
        background's median rate``)`` spikes per pixel per frame (so the test
        scales with the scene's brightness: dim scenes have small contrasts).
    noise_floor:
        Smallest residual spread (rate units) a cell may have.
    merge:
        Foreground cells closer than this many cells are one object.
    min_cells:
        Groups with fewer foreground cells are dropped.
    tolerance:
        ``(rows, cols)`` cells: a rate is compared with the range of the
        background over this neighbourhood, so a background that drifted by
        up to that many cells since it was learned raises nothing.
    absorb_after, ghost_alpha, context:
        A foreground cell that stays unchanged for ``absorb_after`` windows with
        a rate inside the range of the background within ``context = (rows,
        cols)`` cells of its region is a "ghost" (background remembered wrongly
        where an object stood while the model learned): it is learned with
        factor ``ghost_alpha``.
    slow_factor:
        Cells inside the background's range but changed from their own
        background value are learned ``slow_factor`` times as fast (a drifting
        edge is followed, an object's trail is not absorbed at once).
    bootstrap:
        The background is first learned backwards in time over this many
        frames from the start (0: start from the first window). An object
        present at the start then moves *into* the model's view instead of out
        of it, and is not left in the background as a ghost.
    protect:
        Cells within this many cells of the foreground are updated slowly too.
    grow, ring, grow_contrast:
        Off by default (``grow = 0``). Otherwise each group of foreground cells
        is extended by up to ``grow`` cells over connected cells that are
        brighter (or darker, as the group) than the rates in a ``ring`` of cells
        around it by ``grow_contrast`` times the contrast floor
        (:func:`grow_objects`): it recovers slow objects partly learned as
        background, but also grows into bright/dark parts of a textured background.
    warmup:
        Windows used to learn the background before anything is reported.
    """

    window: int = 20
    step: int = 20
    cell: tuple[int, int] = (4, 8)
    alpha: float = 0.15
    alpha_foreground: float = 0.005
    k_sigma: float = 3.0
    min_contrast: float = 0.01
    relative_contrast: float = 0.15
    noise_floor: float = 0.005
    merge: int = 1
    min_cells: int = 6
    tolerance: tuple[int, int] = (2, 1)
    absorb_after: int = 2
    ghost_alpha: float = 0.5
    context: tuple[int, int] = (4, 3)
    slow_factor: float = 0.25
    bootstrap: int = 600
    protect: int = 1
    warmup: int = 2
    grow: int = 0
    ring: int = 2
    grow_contrast: float = 2.0

    def __post_init__(self) -> None:
        check_positive_int(self.window, "window")
        check_positive_int(self.step, "step")
        if len(self.cell) != 2:
            raise ValueError(f"cell must be (rows, cols), got {self.cell!r}")
        object.__setattr__(self, "cell", (check_positive_int(self.cell[0], "cell rows"),
                                          check_positive_int(self.cell[1], "cell cols")))
        for name in ("alpha", "alpha_foreground"):
            v = check_positive_float(getattr(self, name), name, allow_zero=True)
            if v > 1:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        check_positive_float(self.k_sigma, "k_sigma", allow_zero=True)
        check_positive_float(self.min_contrast, "min_contrast", allow_zero=True)
        check_positive_float(self.relative_contrast, "relative_contrast", allow_zero=True)
        check_positive_float(self.noise_floor, "noise_floor")
        check_positive_int(self.merge, "merge", allow_zero=True)
        check_positive_int(self.min_cells, "min_cells")
        check_positive_int(self.warmup, "warmup", allow_zero=True)
        check_positive_int(self.grow, "grow", allow_zero=True)
        check_positive_int(self.ring, "ring")
        check_positive_float(self.grow_contrast, "grow_contrast", allow_zero=True)
        if len(self.tolerance) != 2:
            raise ValueError(f"tolerance must be (rows, cols), got {self.tolerance!r}")
        tol = (check_positive_int(self.tolerance[0], "tolerance rows", allow_zero=True),
               check_positive_int(self.tolerance[1], "tolerance cols", allow_zero=True))
        object.__setattr__(self, "tolerance", tol)
        check_positive_int(self.absorb_after, "absorb_after")
        if not 0 <= float(self.ghost_alpha) <= 1:
            raise ValueError(f"ghost_alpha must be in [0, 1], got {self.ghost_alpha!r}")
        if len(self.context) != 2:
            raise ValueError(f"context must be (rows, cols), got {self.context!r}")
        object.__setattr__(self, "context", (check_positive_int(self.context[0], "context rows"),
                                             check_positive_int(self.context[1], "context cols")))
        check_positive_int(self.protect, "protect", allow_zero=True)
        check_positive_int(self.bootstrap, "bootstrap", allow_zero=True)
        v = check_positive_float(self.slow_factor, "slow_factor", allow_zero=True)
        if v > 1:
            raise ValueError(f"slow_factor must be in [0, 1], got {v}")


# ------------------------------------------------------------------ counting
def _packed_base(stream: Any) -> tuple[Any, int] | None:
    """The ``.dat``-layout packed source under a stream (and its frame offset), if any."""
    from ..io.dat import PackedSource, unwrap_source
    from ..stream import SpikeStream

    if not isinstance(stream, SpikeStream):
        return None
    base, offset = unwrap_source(stream)
    if isinstance(base, PackedSource) and base.width % 8 == 0:
        return base, offset
    return None


def _row_blocks(a: np.ndarray, rows: int) -> np.ndarray:
    """Sum groups of ``rows`` rows along axis 0 (the last group may be shorter)."""
    if rows == 1:
        return a
    return np.add.reduceat(a, np.arange(0, a.shape[0], rows), axis=0)


def cell_rates(spikes: Any, start: int, stop: int, *, cell: tuple[int, int] = (4, 8)) -> np.ndarray:
    """Spikes per pixel per frame of frames ``[start, stop)`` in cells of ``cell`` pixels.

    Parameters
    ----------
    spikes:
        A :class:`~spikevision.SpikeStream` or a ``(T, H, W)`` 0/1 array.
    start, stop:
        Frame range (``0 <= start < stop <= T``).
    cell:
        ``(rows, cols)`` pixels per cell; border cells may be smaller (their
        rate is divided by their true area).

    Returns
    -------
    (ceil(H / rows), ceil(W / cols)) float32
        Row 0 at the top. A ``.dat`` stream of width divisible by 8 with
        ``cols = 8`` is counted from its packed bytes without unpacking.
    """
    from ..stream import as_stream

    stream = as_stream(spikes)
    t = stream.n_frames
    start, stop = int(start), int(stop)
    if not (0 <= start < stop <= t):
        raise ValueError(f"frame range [{start}, {stop}) is not a non-empty range inside [0, {t})")
    ch, cw = int(cell[0]), int(cell[1])
    h, w = stream.height, stream.width
    packed = _packed_base(stream) if cw == 8 else None
    if packed is not None:
        base, off = packed
        raw = base.raw(off + start, off + stop).reshape(stop - start, h, w // 8)
        counts = np.bitwise_count(raw).sum(axis=0, dtype=np.uint16)
        if not base.upright:
            counts = counts[::-1]
    else:
        frames = stream.frames(start, stop)
        counts = frames.sum(axis=0, dtype=np.uint16)
        if cw > 1:
            counts = np.add.reduceat(counts, np.arange(0, w, cw), axis=1, dtype=np.uint32)
    counts = _row_blocks(counts.astype(np.float32), ch)
    area_r = np.minimum(ch, h - np.arange(0, h, ch)).astype(np.float32)
    area_c = np.minimum(cw, w - np.arange(0, w, cw)).astype(np.float32)
    return counts / (area_r[:, None] * area_c[None, :] * np.float32(stop - start))


def _box_max(a: np.ndarray, ry: int, rx: int) -> np.ndarray:
    """Maximum over the ``(2 ry + 1) x (2 rx + 1)`` neighbourhood of each cell (truncated at the edges)."""
    src = a
    out = a.copy()
    for k in range(1, min(ry, a.shape[0] - 1) + 1):
        np.maximum(out[k:], src[:-k], out=out[k:])
        np.maximum(out[:-k], src[k:], out=out[:-k])
    src = out.copy() if rx else out
    for k in range(1, min(rx, a.shape[1] - 1) + 1):
        np.maximum(out[:, k:], src[:, :-k], out=out[:, k:])
        np.maximum(out[:, :-k], src[:, k:], out=out[:, :-k])
    return out


def _box_min(a: np.ndarray, ry: int, rx: int) -> np.ndarray:
    """Minimum over the ``(2 ry + 1) x (2 rx + 1)`` neighbourhood of each cell (edges repeated)."""
    return -_box_max(-a, ry, rx)


# --------------------------------------------------------------- background
class BackgroundModel:
    """Running per-cell background rate and residual spread (the detector's state).

    Feed it one cell-rate map per window with :meth:`update`; it returns the
    foreground mask of that window. Settings come from :class:`DetectorSettings`.
    """

    def __init__(self, settings: DetectorSettings) -> None:
        self.settings = settings
        self.mean: np.ndarray | None = None
        self.spread: np.ndarray | None = None
        self.prev: np.ndarray | None = None
        self.still: np.ndarray | None = None
        self.seen = 0

    def excess(self, rate: np.ndarray, tolerance: tuple[int, int] | None = None) -> np.ndarray:
        """How far each cell's rate lies outside the background range of its neighbourhood (>= 0)."""
        tol = self.settings.tolerance if tolerance is None else tolerance
        if tol == (0, 0):
            return np.abs(rate - self.mean)
        lo = _box_min(self.mean, *tol)
        hi = _box_max(self.mean, *tol)
        return np.maximum(np.maximum(rate - hi, lo - rate), 0.0)

    def restart(self) -> None:
        """Keep the learned background but forget the per-window history (before a new pass)."""
        if self.mean is not None:
            self.still[:] = 0
            self.seen = max(self.seen, self.settings.warmup + 1)

    def update(self, rate: np.ndarray, *, tolerance: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Compare ``rate`` ``(Hc, Wc)`` with the background and update it.

        Returns the foreground mask (bool) and the change score (excess over the
        threshold's spread, float32), both ``(Hc, Wc)``. ``tolerance`` overrides
        the settings' neighbourhood (``(0, 0)``: each cell against itself).
        """
        s = self.settings
        rate = np.asarray(rate, np.float32)
        if self.mean is None:
            self.mean = rate.copy()
            self.spread = np.full(rate.shape, s.noise_floor, np.float32)
            self.prev = rate.copy()
            self.still = np.zeros(rate.shape, np.int32)
            self.seen = 1
            return np.zeros(rate.shape, bool), np.zeros(rate.shape, np.float32)
        if rate.shape != self.mean.shape:
            raise ValueError(f"cell-rate map shape changed from {self.mean.shape} to {rate.shape}")
        ex = self.excess(rate, tolerance)
        floor = max(s.min_contrast, s.relative_contrast * float(np.median(self.mean)))
        thresh = np.maximum(s.k_sigma * self.spread, np.float32(floor))
        fg = ex > thresh
        if self.seen <= s.warmup:
            fg[:] = False
        # cells next to an object are not learned quickly either: a partly covered
        # cell lies inside the background's range and would let the model eat the object
        near = _box_max(fg, s.protect, s.protect) if s.protect and fg.any() else fg
        # a foreground cell whose rate is steady and lies within the range of the
        # background around the foreground region is background wrongly remembered
        # (a ghost, where an object stood while the model was learned): take it in
        # after `absorb_after` windows. Objects are brighter or darker than what
        # surrounds them, so they are not taken in.
        changed = np.abs(rate - self.prev) > thresh
        cand = fg & ~changed
        bglike = np.zeros_like(fg)
        if cand.any():
            # only around the candidates: the range of the background outside the region
            rows, cols = np.nonzero(cand)
            ry, rx = s.context[0] + s.protect, s.context[1] + s.protect
            r0, r1 = max(rows.min() - ry, 0), rows.max() + ry + 1
            c0, c1 = max(cols.min() - rx, 0), cols.max() + rx + 1
            m, nr = self.mean[r0:r1, c0:c1], near[r0:r1, c0:c1]
            lo = _box_min(np.where(nr, np.inf, m), *s.context)
            hi = _box_max(np.where(nr, -np.inf, m), *s.context)
            rr = rate[r0:r1, c0:c1]
            bglike[r0:r1, c0:c1] = cand[r0:r1, c0:c1] & (rr >= lo) & (rr <= hi)
        self.still = np.where(bglike, self.still + 1, 0)
        own = np.abs(rate - self.mean) > thresh
        a = np.where(near, np.float32(s.alpha_foreground),
                     np.where(own, np.float32(s.alpha * s.slow_factor), np.float32(s.alpha)))
        a[self.still >= s.absorb_after] = s.ghost_alpha
        self.mean += a * (rate - self.mean)
        learn = np.where(fg, np.float32(0), np.float32(s.alpha))
        self.spread += learn * (np.minimum(ex, 3 * thresh) - self.spread)
        np.maximum(self.spread, s.noise_floor, out=self.spread)
        self.prev = rate
        self.seen += 1
        return fg, (ex / self.spread).astype(np.float32)


def grow_objects(fg: np.ndarray, rate: np.ndarray, background: np.ndarray, *, grow: int, ring: int,
                 contrast: float, merge: int = 1) -> np.ndarray:
    """Extend each group of foreground cells over the neighbouring cells that look like the same object.

    An object is brighter or darker than what surrounds it. Around each group
    (its box grown by ``grow`` cells) the cells whose current rate lies beyond
    the surroundings' range (10th-90th percentile of the rates in a ``ring``
    of cells around that box) by ``contrast``, on the group's side (brighter or
    darker than the background), and that connect to the group, join it. This
    recovers the parts of a slow object that the background model has learned
    (it overlaps itself for long). Returns the grown mask ``(Hc, Wc)`` bool.
    """
    from scipy import ndimage

    if grow <= 0 or not fg.any():
        return fg
    hc, wc = fg.shape
    labels, n = ndimage.label(_box_max(fg, merge, merge) if merge > 0 else fg)
    out = fg.copy()
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        comp = (labels == i) & fg
        if not comp.any():
            continue
        sign = 1.0 if float(np.mean(rate[comp] - background[comp])) > 0 else -1.0
        r0, r1 = max(sl[0].start - grow, 0), min(sl[0].stop + grow, hc)
        c0, c1 = max(sl[1].start - grow, 0), min(sl[1].stop + grow, wc)
        q0, q1 = max(r0 - ring, 0), min(r1 + ring, hc)
        p0, p1 = max(c0 - ring, 0), min(c1 + ring, wc)
        outer = rate[q0:q1, p0:p1]
        inner = np.zeros(outer.shape, bool)
        inner[r0 - q0:r1 - q0, c0 - p0:c1 - p0] = True
        around = outer[~inner]
        if around.size < 8:
            continue
        lo, hi = np.percentile(around, [10, 90])
        reg = rate[r0:r1, c0:c1]
        like = reg > hi + contrast if sign > 0 else reg < lo - contrast
        seed = comp[r0:r1, c0:c1]
        lab, _ = ndimage.label(like | seed)
        keep = np.unique(lab[seed])
        out[r0:r1, c0:c1] |= np.isin(lab, keep[keep > 0])
    return out


def detect_cells(fg: np.ndarray, score: np.ndarray | None = None, *, cell: tuple[int, int], shape: tuple[int, int],
                 merge: int = 1, min_cells: int = 4) -> np.ndarray:
    """Boxes of the groups of a foreground cell mask, in pixels.

    Parameters
    ----------
    fg:
        ``(Hc, Wc)`` bool foreground cells.
    score:
        ``(Hc, Wc)`` float, a per-cell strength (the box's score is its group's mean);
        ``None`` scores every box 1.
    cell:
        ``(rows, cols)`` pixels per cell.
    shape:
        ``(H, W)`` image size (boxes are clipped to it).
    merge, min_cells:
        Cells closer than ``merge`` cells join one group; smaller groups are dropped.

    Returns
    -------
    (N, 5) float32
        ``x, y, w, h, score`` with ``(x, y)`` the top-left corner, in pixels.
    """
    from scipy import ndimage

    fg = np.asarray(fg, bool)
    if not fg.any():
        return np.zeros((0, 5), np.float32)
    grown = _box_max(fg, merge, merge) if merge > 0 else fg
    labels, n = ndimage.label(grown)
    labels = np.where(fg, labels, 0)
    ch, cw = cell
    h, w = shape
    out = []
    counts = np.bincount(labels.ravel(), minlength=n + 1)
    sums = np.bincount(labels.ravel(), weights=None if score is None else np.asarray(score, np.float64).ravel(),
                       minlength=n + 1)
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None or counts[i] < min_cells:
            continue
        y0, y1 = sl[0].start * ch, min(sl[0].stop * ch, h)
        x0, x1 = sl[1].start * cw, min(sl[1].stop * cw, w)
        sc = 1.0 if score is None else sums[i] / counts[i]
        out.append((x0, y0, x1 - x0, y1 - y0, sc))
    return np.asarray(out, np.float32).reshape(-1, 5)
