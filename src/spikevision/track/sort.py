"""SORT-style multi-object tracking: a constant-velocity Kalman filter per box and Hungarian matching.

State of a track: ``[cx, cy, w, h, vx, vy]`` (centre and size in pixels,
velocity in pixels per spike frame). Each detection step:

1. every track is **predicted** to the detections' time;
2. detections and tracks are **matched** by the Hungarian method
   (:func:`scipy.optimize.linear_sum_assignment`) on a cost that is the
   centre distance relative to the boxes' size, gated; a track that has
   missed detections gets a wider gate (its position is less certain);
3. a detection that covers two predicted tracks (a **merge**, two objects
   crossing) updates neither: both coast on their prediction until they split;
4. matched tracks are **updated**; unmatched detections start tentative
   tracks (**birth**), confirmed after ``min_hits`` matches; a track missed
   for more than ``max_misses`` steps **dies**. Until then it can be matched
   again, which keeps its identity through a short occlusion (re-identification).

:class:`Tracker` keeps the state; :meth:`Tracker.history` gives each track's
filtered boxes at the detection times, which :func:`spikevision.track.track`
interpolates to any frame.

>>> import numpy as np
>>> from spikevision.track.sort import Tracker, TrackerSettings
>>> trk = Tracker(TrackerSettings(min_hits=2))
>>> for k in range(4):
...     trk.step(np.array([[10.0 + 5 * k, 20.0, 16.0, 12.0, 1.0]]), time=20.0 * k)
>>> [tid for tid, _ in trk.history()]
[1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_positive_float, check_positive_int

__all__ = ["TrackerSettings", "KalmanBox", "Tracker", "match"]


@dataclass(frozen=True)
class TrackerSettings:
    """Settings of the SORT-style tracker (immutable).

    Parameters
    ----------
    gate:
        Largest matching cost: centre distance divided by half the mean box
        diagonal (plus a size-change term).
    min_hits:
        Matches before a tentative track is confirmed (reported).
    max_misses:
        Detection steps a confirmed track may go unmatched before it dies.
    accel:
        Process noise: acceleration spread, px per frame squared.
    size_noise:
        Process noise of the box size, px per frame.
    meas_pos, meas_size:
        Measurement spread of a detection's centre and size, px.
    merge_ratio:
        A detection this much larger (in area) than a track's prediction that
        also covers another track is treated as a merge.
    """

    gate: float = 1.6
    min_hits: int = 3
    max_misses: int = 8
    accel: float = 0.004
    size_noise: float = 0.05
    meas_pos: float = 3.0
    meas_size: float = 5.0
    merge_ratio: float = 1.5

    def __post_init__(self) -> None:
        check_positive_float(self.gate, "gate")
        check_positive_int(self.min_hits, "min_hits")
        check_positive_int(self.max_misses, "max_misses", allow_zero=True)
        for name in ("accel", "size_noise", "meas_pos", "meas_size", "merge_ratio"):
            check_positive_float(getattr(self, name), name)


class KalmanBox:
    """Constant-velocity Kalman filter of one box ``[cx, cy, w, h]`` (px), time in spike frames.

    The model is separable: centre x and y each follow a constant-velocity
    filter with state ``(position, velocity)``; width and height each a random
    walk. The four small filters are kept in plain floats (a 6 x 6 matrix
    filter gives the same numbers, at several times the cost for such sizes).
    ``x`` is the state ``[cx, cy, w, h, vx, vy]``.
    """

    def __init__(self, box: np.ndarray, time: float, settings: TrackerSettings) -> None:
        x, y, w, h = (float(v) for v in box[:4])
        self.s = settings
        mp, ms = settings.meas_pos ** 2, settings.meas_size ** 2
        # per axis: [position, velocity, P_pp, P_pv, P_vv]
        self._ax = [[x + w / 2, 0.0, mp, 0.0, 0.25], [y + h / 2, 0.0, mp, 0.0, 0.25]]
        # per size: [value, variance]
        self._sz = [[w, ms], [h, ms]]
        self.time = float(time)

    @property
    def x(self) -> np.ndarray:
        """State ``[cx, cy, w, h, vx, vy]`` at the filter's time."""
        ax, sz = self._ax, self._sz
        return np.array([ax[0][0], ax[1][0], sz[0][0], sz[1][0], ax[0][1], ax[1][1]])

    def _moved(self, dt: float) -> tuple[list, list]:
        q = self.s.accel ** 2
        a = abs(dt)
        qpp, qpv, qvv = q * a ** 4 / 4, q * a ** 3 / 2, q * a * a
        qs = (self.s.size_noise * a) ** 2
        ax = [[p + v * dt, v, ppp + 2 * dt * ppv + dt * dt * pvv + qpp, ppv + dt * pvv + qpv, pvv + qvv]
              for p, v, ppp, ppv, pvv in self._ax]
        sz = [[val, var + qs] for val, var in self._sz]
        return ax, sz

    def predicted(self, time: float) -> tuple[np.ndarray, np.ndarray]:
        """State ``[cx, cy, w, h, vx, vy]`` and its variances at ``time`` (the filter is not changed)."""
        ax, sz = self._moved(float(time) - self.time)
        state = np.array([ax[0][0], ax[1][0], sz[0][0], sz[1][0], ax[0][1], ax[1][1]])
        var = np.array([ax[0][2], ax[1][2], sz[0][1], sz[1][1], ax[0][4], ax[1][4]])
        return state, var

    def predict(self, time: float) -> None:
        """Move the filter to ``time``."""
        self._ax, self._sz = self._moved(float(time) - self.time)
        self.time = float(time)

    def update(self, box: np.ndarray) -> None:
        """Correct with a measured box ``[x, y, w, h]`` (top-left corner) at the filter's time."""
        x, y, w, h = (float(v) for v in box[:4])
        r_pos, r_size = self.s.meas_pos ** 2, self.s.meas_size ** 2
        for st, z in zip(self._ax, (x + w / 2, y + h / 2)):
            p, v, ppp, ppv, pvv = st
            sden = ppp + r_pos
            kp, kv = ppp / sden, ppv / sden
            e = z - p
            st[:] = [p + kp * e, v + kv * e, (1 - kp) * ppp, (1 - kp) * ppv, pvv - kv * ppv]
        for st, z in zip(self._sz, (w, h)):
            val, var = st
            k = var / (var + r_size)
            st[:] = [max(val + k * (z - val), 1.0), (1 - k) * var]

    def box(self) -> np.ndarray:
        """``[x, y, w, h]`` (top-left corner), px."""
        (cx, _, _, _, _), (cy, _, _, _, _) = self._ax
        (w, _), (h, _) = self._sz
        return np.array([cx - w / 2, cy - h / 2, w, h])


def _cost(tracks: np.ndarray, dets: np.ndarray, misses: np.ndarray) -> np.ndarray:
    """Matching cost ``(n_tracks, n_dets)``: centre distance over half the mean diagonal, plus size change."""
    tc = tracks[:, :2] + tracks[:, 2:4] / 2
    dc = dets[:, :2] + dets[:, 2:4] / 2
    dist = np.hypot(tc[:, None, 0] - dc[None, :, 0], tc[:, None, 1] - dc[None, :, 1])
    scale = 0.25 * (np.hypot(tracks[:, 2], tracks[:, 3])[:, None] + np.hypot(dets[:, 2], dets[:, 3])[None, :])
    size = np.abs(np.log(np.maximum(tracks[:, None, 2] * tracks[:, None, 3], 1.0)
                         / np.maximum(dets[None, :, 2] * dets[None, :, 3], 1.0)))
    return dist / np.maximum(scale, 1.0) / np.sqrt(1.0 + misses[:, None]) + 0.3 * size


def match(cost: np.ndarray, gate: float) -> list[tuple[int, int]]:
    """Hungarian matching of a cost matrix; pairs above ``gate`` are refused. Returns ``(row, col)`` pairs."""
    from scipy.optimize import linear_sum_assignment

    cost = np.asarray(cost, np.float64)
    if cost.size == 0:
        return []
    big = gate * 10 + 1e6
    rows, cols = linear_sum_assignment(np.where(cost <= gate, cost, big))
    return [(int(r), int(c)) for r, c in zip(rows, cols) if cost[r, c] <= gate]


def _overlap_of(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of box ``a``'s area inside box ``b`` (boxes ``x, y, w, h``)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / max(a[2] * a[3], 1e-9)


class _Track:
    def __init__(self, tid: int, box: np.ndarray, time: float, score: float, settings: TrackerSettings) -> None:
        self.id = tid
        self.kf = KalmanBox(box, time, settings)
        self.hits = 1
        self.misses = 0
        self.states: list[tuple[float, np.ndarray, float]] = [(float(time), self.kf.box(), float(score))]


class Tracker:
    """Online SORT-style tracker; feed it detections step by step with :meth:`step`."""

    def __init__(self, settings: TrackerSettings = TrackerSettings()) -> None:
        if not isinstance(settings, TrackerSettings):
            raise TypeError(f"settings must be a TrackerSettings, got {type(settings).__name__}")
        self.settings = settings
        self._live: list[_Track] = []
        self._done: list[_Track] = []
        self._next_id = 1

    def step(self, detections: np.ndarray, *, time: float) -> None:
        """Advance to ``time`` (spike frames) with ``detections`` ``(N, 5)``: ``x, y, w, h, score``."""
        s = self.settings
        dets = np.asarray(detections, np.float64).reshape(-1, 5)
        for t in self._live:
            t.kf.predict(time)
        preds = np.array([t.kf.box() for t in self._live]).reshape(-1, 4)
        misses = np.array([t.misses for t in self._live], np.float64)
        # confirmed tracks are matched first, then tentative ones with what is left
        pairs: list[tuple[int, int]] = []
        free = list(range(len(dets)))
        for group in ([i for i, t in enumerate(self._live) if t.hits >= s.min_hits],
                      [i for i, t in enumerate(self._live) if t.hits < s.min_hits]):
            if not group or not free:
                continue
            c = _cost(preds[group], dets[free, :4], misses[group])
            got = match(c, s.gate)
            pairs += [(group[r], free[k]) for r, k in got]
            used = {free[k] for _, k in got}
            free = [d for d in free if d not in used]
        matched_tracks = set()
        for ti, di in pairs:
            det = dets[di]
            pred = preds[ti]
            merged = False
            if det[2] * det[3] > s.merge_ratio * pred[2] * pred[3]:
                # does this detection also cover another live, confirmed track?
                for oj, other in enumerate(self._live):
                    if oj != ti and other.hits >= s.min_hits and _overlap_of(preds[oj], det[:4]) > 0.5:
                        merged = True
                        break
            tr = self._live[ti]
            if merged:
                continue
            tr.kf.update(det[:4])
            tr.hits += 1
            tr.misses = 0
            tr.states.append((float(time), tr.kf.box(), float(det[4])))
            matched_tracks.add(ti)
        keep = []
        for i, tr in enumerate(self._live):
            if i not in matched_tracks:
                tr.misses += 1
                limit = s.max_misses if tr.hits >= s.min_hits else 0
                if tr.misses > limit:
                    self._done.append(tr)
                    continue
            keep.append(tr)
        self._live = keep
        for di in free:
            self._live.append(_Track(self._next_id, dets[di], time, dets[di][4], s))
            self._next_id += 1

    def history(self) -> list[tuple[int, np.ndarray]]:
        """Every confirmed track, dead or alive: ``(id, states)`` with states ``(n, 6)`` float64
        ``time, x, y, w, h, score`` at the detection steps it was matched, in time order."""
        out = []
        for tr in sorted(self._done + self._live, key=lambda t: t.id):
            if tr.hits < self.settings.min_hits:
                continue
            st = np.array([[t, *b, sc] for t, b, sc in tr.states], np.float64).reshape(-1, 6)
            out.append((tr.id, st))
        return out
