"""Track moving objects in a spike stream: :func:`track` → :class:`Tracks` (arrays).

Pipeline (method ``"classical"``; ``"learned"`` swaps the detector for
:mod:`.learned`'s network): detection windows of ``window`` frames every
``step`` frames (:mod:`.detect`), SORT-style association at the window centres
(:mod:`.sort`), then each confirmed track's filtered boxes are interpolated
linearly to the output frames ``0, every, 2 every, ...`` between its first and
last detection (and extrapolated by up to ``step / 2`` frames at both ends).
A track whose centre moved less than ``min_displacement`` pixels over its life
is dropped: the tracker follows *moving* objects, so a static patch of the
background that once changed (a flicker, a "ghost" left where an object stood
when the background was learned) raises no track.

>>> import numpy as np
>>> from spikevision.track import track
>>> res = track(np.zeros((200, 32, 48), np.uint8), every=10)
>>> res.rows.shape
(0, 7)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .._checks import check_positive_float, check_positive_int
from .detect import BackgroundModel, DetectorSettings, cell_rates, detect_cells, grow_objects
from .learned import LearnedSettings
from .sort import Tracker, TrackerSettings

__all__ = ["Tracks", "TrackSettings", "track", "METHODS", "DEFAULT_EVERY", "method_settings"]

#: Default output stride in spike frames (rows at frames 0, 10, 20, ...).
DEFAULT_EVERY = 10


@dataclass(frozen=True)
class TrackSettings:
    """Everything :func:`track` needs besides the data (immutable).

    ``detector`` and ``tracker`` are the two stages' settings (``learned``:
    the learned detector's, used by the method ``"learned"`` instead of ``detector``);
    ``min_displacement`` (px) drops tracks that never moved; ``smear`` (0-1)
    is the fraction of the motion during a detection window removed from the
    box size (a window sees a moving object smeared along its path; classical
    detector only).
    """

    detector: DetectorSettings = field(default_factory=DetectorSettings)
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    learned: LearnedSettings = field(default_factory=LearnedSettings)
    min_displacement: float = 12.0
    smear: float = 0.5

    def __post_init__(self) -> None:
        if not isinstance(self.detector, DetectorSettings):
            raise TypeError(f"detector must be a DetectorSettings, got {type(self.detector).__name__}")
        if not isinstance(self.learned, LearnedSettings):
            raise TypeError(f"learned must be a LearnedSettings, got {type(self.learned).__name__}")
        if not isinstance(self.tracker, TrackerSettings):
            raise TypeError(f"tracker must be a TrackerSettings, got {type(self.tracker).__name__}")
        check_positive_float(self.min_displacement, "min_displacement", allow_zero=True)
        v = check_positive_float(self.smear, "smear", allow_zero=True)
        if v > 1:
            raise ValueError(f"smear must be in [0, 1], got {v}")


@dataclass(frozen=True)
class Tracks:
    """Tracking result.

    ``rows`` is ``(N, 7)`` float64: ``frame, id, x, y, w, h, conf`` with
    ``frame`` the 0-based spike frame index, ``id`` from 1, ``(x, y)`` the
    box's top-left corner and ``(w, h)`` its size in pixels (row 0 at the top),
    ``conf`` the detector's mean change score. Sorted by frame, then id.
    ``detections`` are the raw detections ``(M, 6)``: ``time, x, y, w, h, score``
    (``time`` the window centre, spike frames).
    """

    rows: np.ndarray
    detections: np.ndarray
    height: int
    width: int
    n_frames: int
    every: int

    @property
    def ids(self) -> np.ndarray:
        """Track identities present, ascending (int64)."""
        return np.unique(self.rows[:, 1]).astype(np.int64)

    def at(self, frame: int) -> np.ndarray:
        """Rows of one output frame ``(n, 7)``."""
        return self.rows[self.rows[:, 0] == int(frame)]

    def track(self, tid: int) -> np.ndarray:
        """Rows of one identity ``(n, 7)``, in frame order."""
        return self.rows[self.rows[:, 1] == int(tid)]

    def to_mot(self) -> np.ndarray:
        """MOTChallenge rows ``(N, 10)``: ``frame + 1, id, x, y, w, h, conf, -1, -1, -1``."""
        out = np.full((len(self.rows), 10), -1.0)
        out[:, :7] = self.rows
        out[:, 0] += 1
        return out


# ------------------------------------------------------------------ helpers
def _interpolate(states: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Boxes ``(len(frames), 5)`` (x, y, w, h, score) linear in time through ``states`` (time, x, y, w, h, score)."""
    t = states[:, 0]
    out = np.empty((len(frames), 5))
    for j in range(5):
        v = states[:, 1 + j]
        out[:, j] = np.interp(frames, t, v)
        if len(t) >= 2 and j < 4:
            lo, hi = frames < t[0], frames > t[-1]
            k0 = min(3, len(t) - 1)
            s0 = (v[k0] - v[0]) / max(t[k0] - t[0], 1e-9)
            s1 = (v[-1] - v[-1 - k0]) / max(t[-1] - t[-1 - k0], 1e-9)
            out[lo, j] = v[0] + s0 * (frames[lo] - t[0])
            out[hi, j] = v[-1] + s1 * (frames[hi] - t[-1])
    return out


def _desmear(states: np.ndarray, window: int, smear: float) -> np.ndarray:
    """Shrink boxes by ``smear`` x the distance moved during a window (speed from the centres' track)."""
    st = states.copy()
    if len(st) < 2 or smear == 0:
        return st
    c = st[:, 1:3] + st[:, 3:5] / 2
    v = np.gradient(c, st[:, 0], axis=0)
    # a robust speed per track: the median over its life (detections are noisy)
    speed = np.abs(np.median(v, axis=0)) * window * smear
    for k in (0, 1):
        w = np.maximum(st[:, 3 + k] - speed[k], 0.5 * st[:, 3 + k])
        st[:, 1 + k] = c[:, k] - w / 2
        st[:, 3 + k] = w
    return st


def _clip_boxes(b: np.ndarray, height: int, width: int) -> np.ndarray:
    x0 = np.clip(b[:, 0], 0, width)
    y0 = np.clip(b[:, 1], 0, height)
    x1 = np.clip(b[:, 0] + b[:, 2], 0, width)
    y1 = np.clip(b[:, 1] + b[:, 3], 0, height)
    out = b.copy()
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = x0, y0, x1 - x0, y1 - y0
    return out


# ------------------------------------------------------------------ methods
def _assemble(trk: Tracker, dets_all: list, settings: TrackSettings, *, window: int, step: int, smear: float,
              every: int, shape: tuple[int, int], n_frames: int) -> Tracks:
    """The tracker's confirmed, moving tracks as rows at the output frames (shared by every method)."""
    h, w = shape
    frames = np.arange(0, n_frames, every, dtype=np.float64)
    rows = []
    new_id = 0
    pad = step / 2.0
    for _, st in trk.history():
        c = st[:, 1:3] + st[:, 3:5] / 2
        if len(st) < 2 or float(np.hypot(*(c[-1] - c[0]))) < settings.min_displacement:
            continue
        st = _desmear(st, window, smear)
        sel = frames[(frames >= st[0, 0] - pad) & (frames <= st[-1, 0] + pad)]
        if not len(sel):
            continue
        boxes = _clip_boxes(_interpolate(st, sel), h, w)
        ok = (boxes[:, 2] >= 1) & (boxes[:, 3] >= 1)
        if not ok.any():
            continue
        new_id += 1
        rows.append(np.column_stack([sel[ok], np.full(ok.sum(), new_id), boxes[ok]]))
    out = np.concatenate(rows) if rows else np.zeros((0, 7))
    out = out[np.lexsort((out[:, 1], out[:, 0]))]
    det = np.concatenate(dets_all) if dets_all else np.zeros((0, 6))
    return Tracks(rows=out, detections=det, height=h, width=w, n_frames=n_frames, every=every)


def _classical(stream: Any, settings: TrackSettings, *, every: int, progress: bool) -> Tracks:
    from ..progress import progress_bar

    d = settings.detector
    t_total, h, w = stream.n_frames, stream.height, stream.width
    bg = BackgroundModel(d)
    trk = Tracker(settings.tracker)
    starts = list(range(0, max(t_total - d.window, -1) + 1, d.step)) if t_total >= d.window else []
    dets_all = []
    if starts and d.bootstrap > 0:
        # learn the background backwards over the first frames, so objects present
        # at the start are not in it (see DetectorSettings.bootstrap)
        boot = [s0 for s0 in starts if s0 + d.window <= d.bootstrap] or starts[:1]
        for s0 in reversed(boot):
            bg.update(cell_rates(stream, s0, s0 + d.window, cell=d.cell))
        bg.restart()
    with progress_bar(total=len(starts), desc="track", enabled=progress, unit="window") as bar:
        for s0 in starts:
            rate = cell_rates(stream, s0, s0 + d.window, cell=d.cell)
            fg, score = bg.update(rate)
            if d.grow:
                floor = max(d.min_contrast, d.relative_contrast * float(np.median(bg.mean)))
                fg = grow_objects(fg, rate, bg.mean, grow=d.grow, ring=d.ring, contrast=d.grow_contrast * floor,
                                  merge=d.merge)
            dets = detect_cells(fg, score, cell=d.cell, shape=(h, w), merge=d.merge, min_cells=d.min_cells)
            tc = s0 + (d.window - 1) / 2.0
            trk.step(dets, time=tc)
            dets_all.append(np.column_stack([np.full(len(dets), tc), dets]))
            bar.update(1)
    return _assemble(trk, dets_all, settings, window=d.window, step=d.step, smear=settings.smear, every=every,
                     shape=(h, w), n_frames=t_total)


def _learned(stream: Any, settings: TrackSettings, *, every: int, progress: bool) -> Tracks:
    from ..progress import progress_bar
    from .learned import LearnedDetector

    det = LearnedDetector(settings.learned)
    trk = Tracker(settings.tracker)
    dets_all = []
    starts = det.starts(stream.n_frames)
    with progress_bar(total=len(starts), desc="track", enabled=progress, unit="window") as bar:
        for tc, dets in det.windows(stream, progress=bar.update):
            trk.step(dets, time=tc)
            dets_all.append(np.column_stack([np.full(len(dets), tc), dets]))
    # the network predicts the object's box, not the window's smeared footprint: no de-smearing
    return _assemble(trk, dets_all, settings, window=det.cfg.block, step=settings.learned.step, smear=0.0,
                     every=every, shape=(stream.height, stream.width), n_frames=stream.n_frames)


#: Tracking methods by name: each entry runs ``(stream, settings, every=, progress=) -> Tracks``.
METHODS: Mapping[str, Callable[..., Tracks]] = {"classical": _classical, "learned": _learned}


def method_settings(method: str, *, weights: str | None = None) -> TrackSettings:
    """Default :class:`TrackSettings` of ``method``, with the learned detector's ``weights`` (a registry
    name or a checkpoint file) when given; ``ValueError`` for weights with a method that has none."""
    if method not in METHODS:
        raise ValueError(f"unknown tracking method {method!r}; expected one of {sorted(METHODS)}")
    if weights is None:
        return TrackSettings()
    if method != "learned":
        raise ValueError(f"the {method} method has no weights (only 'learned' takes weights)")
    return TrackSettings(learned=LearnedSettings(weights=str(weights)))


def track(
    spikes: Any,
    *,
    method: str = "classical",
    every: int = DEFAULT_EVERY,
    settings: TrackSettings | None = None,
    progress: bool = False,
) -> Tracks:
    """Detect and track moving objects; boxes and identities at every ``every``-th frame.

    Parameters
    ----------
    spikes:
        :class:`~spikevision.SpikeStream` (a ``.dat`` stream is read packed,
        the fast path) or a ``(T, H, W)`` 0/1 array.
    method:
        A key of :data:`METHODS`: ``"classical"`` (running background model,
        :mod:`.detect`) or ``"learned"`` (a CNN on multi-window rates,
        :mod:`.learned`; needs torch).
    every:
        Output stride in spike frames; rows at frames ``0, every, 2 every, ...``.
    settings:
        :class:`TrackSettings` (default: the defaults of both stages).
    progress:
        Progress bar over the detection windows.

    Returns
    -------
    Tracks
        ``rows`` ``(N, 7)``: ``frame, id, x, y, w, h, conf`` (frame 0-based).

    Examples
    --------
    >>> from spikevision.sim import simulate
    >>> from spikevision.sim.objects import track_scene
    >>> stream = simulate(track_scene(seed=0, n_objects=2), n_frames=300, seed=0)
    >>> res = track(stream, every=10)
    >>> res.rows.shape[1], int(res.rows[0, 0]) % 10
    (7, 0)
    """
    from ..stream import as_stream

    if method not in METHODS:
        raise ValueError(f"unknown tracking method {method!r}; expected one of {sorted(METHODS)}")
    every = check_positive_int(every, "every")
    settings = TrackSettings() if settings is None else settings
    if not isinstance(settings, TrackSettings):
        raise TypeError(f"settings must be a TrackSettings, got {type(settings).__name__}")
    stream = as_stream(spikes)
    return METHODS[method](stream, settings, every=every, progress=progress)

