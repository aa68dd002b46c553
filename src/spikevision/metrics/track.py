"""Multi-object tracking scores: MOTA, IDF1 and HOTA, computed by TrackEval.

The CLEAR (MOTA, MOTP, ID switches), Identity (IDF1) and HOTA metrics are
TrackEval's own classes (the reference implementation of HOTA); this module
only turns MOTChallenge rows (:mod:`spikevision.io.mot`) into the per-frame
identities and box IoUs they take. TrackEval 1.3 declares ``opencv-python``
and ``pycocotools`` as dependencies, which the box metrics never use and which
clash with ``opencv-python-headless``: install it with
``pip install --no-deps trackeval``.

Protocol
--------
* Frames: the 1-based frame numbers in ``frames`` (default: every frame that
  has a ground-truth row). Rows of other frames are ignored.
* Similarity: box IoU; a match needs IoU >= 0.5 (CLEAR, Identity); HOTA
  averages over IoU thresholds 0.05 ... 0.95 as defined.
* Ignored boxes: ground-truth rows whose consider flag (column 7) is 0 are
  treated like MOTChallenge's distractors: tracker boxes matched to them
  (Hungarian, IoU >= 0.5) are removed, then the rows themselves.

>>> import numpy as np
>>> gt = np.array([[1, 1, 0, 0, 10, 10, 1, 1, 1, -1], [2, 1, 1, 0, 10, 10, 1, 1, 1, -1]])
>>> s = track_scores(gt, gt[:, :7])     # doctest: +SKIP
>>> s["MOTA"], s["IDF1"], round(s["HOTA"], 3)  # doctest: +SKIP
(1.0, 1.0, 1.0)
"""

from __future__ import annotations

import contextlib
import io
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["box_iou", "track_scores", "combine_track_scores", "MATCH_IOU"]

#: IoU a tracker box needs to count as a match (CLEAR and Identity metrics).
MATCH_IOU = 0.5


def box_iou(a: Any, b: Any) -> np.ndarray:
    """IoU of boxes ``(N, 4)`` and ``(M, 4)`` given as ``x, y, w, h`` → ``(N, M)`` float64.

    >>> box_iou([[0, 0, 2, 2]], [[1, 0, 2, 2], [5, 5, 1, 1]]).round(3).tolist()
    [[0.333, 0.0]]
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
                 - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
                 - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _trackeval() -> Any:
    try:
        # TrackEval prints a line about optional dataset loaders it cannot import: keep stdout clean
        with contextlib.redirect_stdout(io.StringIO()):
            from trackeval.metrics import CLEAR, HOTA, Identity
    except ImportError as exc:
        raise ImportError("tracking scores need TrackEval: pip install --no-deps 'trackeval>=1.3' "
                          "(see docs/tracking.md)") from exc
    return CLEAR, HOTA, Identity


def _rows(rows: Any, name: str) -> np.ndarray:
    a = np.asarray(rows, np.float64)
    if a.size == 0:
        return np.zeros((0, 10))
    if a.ndim != 2 or a.shape[1] < 6:
        raise ValueError(f"{name} must be (N, >=6) MOTChallenge rows (frame, id, x, y, w, h, ...), got shape {a.shape}")
    if not np.isfinite(a[:, :6]).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if a.shape[1] < 7:
        a = np.hstack([a, np.ones((len(a), 1))])
    return a


def _sequence_data(gt: np.ndarray, tr: np.ndarray, frames: Sequence[int]) -> dict:
    from scipy.optimize import linear_sum_assignment

    gt_ids_all, tr_ids_all, sims = [], [], []
    for f in frames:
        g = gt[gt[:, 0] == f]
        t = tr[tr[:, 0] == f]
        iou = box_iou(g[:, 2:6], t[:, 2:6])
        ignore = g[:, 6] == 0
        if ignore.any() and len(t):
            r, c = linear_sum_assignment(-iou)
            ok = iou[r, c] >= MATCH_IOU
            drop = c[ok & ignore[r]]
            keep_t = np.setdiff1d(np.arange(len(t)), drop)
            t, iou = t[keep_t], iou[:, keep_t]
        g, iou = g[~ignore], iou[~ignore]
        gt_ids_all.append(g[:, 1].astype(np.int64))
        tr_ids_all.append(t[:, 1].astype(np.int64))
        sims.append(iou)
    gu = np.unique(np.concatenate(gt_ids_all)) if gt_ids_all else np.zeros(0, np.int64)
    tu = np.unique(np.concatenate(tr_ids_all)) if tr_ids_all else np.zeros(0, np.int64)
    return {
        "num_timesteps": len(frames),
        "num_gt_ids": len(gu), "num_tracker_ids": len(tu),
        "num_gt_dets": int(sum(len(x) for x in gt_ids_all)), "num_tracker_dets": int(sum(len(x) for x in tr_ids_all)),
        "gt_ids": [np.searchsorted(gu, x) for x in gt_ids_all],
        "tracker_ids": [np.searchsorted(tu, x) for x in tr_ids_all],
        "similarity_scores": sims,
    }


def _summary(clear: dict, ident: dict, hota: dict) -> dict:
    return {
        "MOTA": float(clear["MOTA"]), "MOTP": float(clear["MOTP"]), "IDF1": float(ident["IDF1"]),
        "HOTA": float(np.mean(hota["HOTA"])), "DetA": float(np.mean(hota["DetA"])),
        "AssA": float(np.mean(hota["AssA"])),
        "IDSW": int(clear["IDSW"]), "FP": int(clear["CLR_FP"]), "FN": int(clear["CLR_FN"]), "TP": int(clear["CLR_TP"]),
        "MT": int(clear["MT"]), "ML": int(clear["ML"]), "Frag": int(clear["Frag"]),
        "gt_boxes": int(clear["CLR_TP"] + clear["CLR_FN"]),
    }


def track_scores(gt: Any, tracks: Any, *, frames: Iterable[int] | None = None, details: bool = False) -> dict:
    """MOTA, IDF1, HOTA (and their parts) of one sequence.

    Parameters
    ----------
    gt:
        Ground-truth MOTChallenge rows ``(N, >=7)``: ``frame, id, x, y, w, h,
        consider, ...`` (1-based frames; consider 0 = ignored box).
    tracks:
        Tracker rows ``(M, >=6)``: ``frame, id, x, y, w, h, ...``.
    frames:
        1-based frame numbers scored (default: the frames with ground truth).
    details:
        Also return TrackEval's raw results under ``"raw"`` (what
        :func:`combine_track_scores` needs).

    Returns
    -------
    dict
        ``MOTA, MOTP, IDF1, HOTA, DetA, AssA`` (fractions, HOTA averaged over
        its IoU thresholds) and counts ``IDSW, FP, FN, TP, MT, ML, Frag, gt_boxes``.
    """
    CLEAR, HOTA, Identity = _trackeval()
    g = _rows(gt, "gt")
    t = _rows(tracks, "tracks")
    fr = sorted({int(f) for f in (np.unique(g[:, 0]) if frames is None else frames)})
    if any(f < 1 for f in fr):
        raise ValueError(f"frames are 1-based MOTChallenge frame numbers (>= 1), got {fr[:5]} ...")
    data = _sequence_data(g, t, fr)
    with contextlib.redirect_stdout(io.StringIO()):
        raw = {"CLEAR": CLEAR({"PRINT_CONFIG": False}).eval_sequence(data),
               "Identity": Identity({"PRINT_CONFIG": False}).eval_sequence(data),
               "HOTA": HOTA().eval_sequence(data)}
    out = _summary(raw["CLEAR"], raw["Identity"], raw["HOTA"])
    if details:
        out["raw"] = raw
    return out


def combine_track_scores(results: Sequence[dict]) -> dict:
    """Scores over several sequences (counts summed, as TrackEval combines sequences).

    ``results`` are :func:`track_scores` outputs computed with ``details=True``.
    """
    CLEAR, HOTA, Identity = _trackeval()
    if not results:
        raise ValueError("no sequence results to combine")
    if any("raw" not in r for r in results):
        raise ValueError("combine_track_scores needs track_scores(..., details=True) results")
    with contextlib.redirect_stdout(io.StringIO()):
        per = {str(i): r["raw"] for i, r in enumerate(results)}
        clear = CLEAR({"PRINT_CONFIG": False}).combine_sequences({k: v["CLEAR"] for k, v in per.items()})
        ident = Identity({"PRINT_CONFIG": False}).combine_sequences({k: v["Identity"] for k, v in per.items()})
        hota = HOTA().combine_sequences({k: v["HOTA"] for k, v in per.items()})
    return _summary(clear, ident, hota)
