"""Optical-flow error metrics as the spike-flow papers report them.

* **AEE** (average endpoint error): mean over pixels of ``||f_pred - f_gt||_2``, in pixels.
* **PO%** (percentage of outliers): the share of pixels whose endpoint error
  is larger than **both** ``0.5`` px **and** ``5 %`` of the ground-truth
  magnitude (SCFlow, Hu et al. CVPR 2022; Spike2Flow, Zhao et al. NeurIPS 2022),
  in percent.

Flows are ``(H, W, 2)`` arrays (u right, v down, pixels). An optional boolean
``mask`` ``(H, W)`` selects the pixels that count (e.g. the ``valid`` mask of
a synthetic ground truth). :func:`summarize` averages per-scene values
without weighting (each scene counts once, whatever its number of pixels or
flow fields), as the papers' tables do.

>>> import numpy as np
>>> gt = np.zeros((4, 4, 2), np.float32)
>>> pred = gt.copy(); pred[0, 0] = (3.0, 4.0)
>>> aee(pred, gt), percent_outliers(pred, gt)
(0.3125, 6.25)
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

__all__ = ["endpoint_error", "aee", "percent_outliers", "flow_errors", "summarize", "PO_ABS_PX", "PO_REL"]

#: PO% thresholds: an outlier's error exceeds both this many pixels ...
PO_ABS_PX = 0.5
#: ... and this fraction of the ground-truth magnitude.
PO_REL = 0.05


def _check_flow(f: Any, name: str) -> np.ndarray:
    a = np.asarray(f)
    if a.ndim != 3 or a.shape[-1] != 2:
        raise ValueError(f"{name} must have shape (H, W, 2), got {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise TypeError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    return a.astype(np.float64, copy=False)


def _prepare(pred: Any, gt: Any, mask: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p, g = _check_flow(pred, "pred"), _check_flow(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred and gt must have the same shape, got {p.shape} and {g.shape}")
    if not np.isfinite(p).all():
        raise ValueError("pred contains NaN or infinite values")
    if mask is None:
        m = np.isfinite(g).all(axis=-1)
    else:
        m = np.asarray(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"mask must be a bool array, got dtype {m.dtype}")
        if m.shape != g.shape[:2]:
            raise ValueError(f"mask must have shape {g.shape[:2]}, got {m.shape}")
        if not np.isfinite(g[m]).all():
            raise ValueError("gt contains NaN or infinite values inside the mask")
    if not m.any():
        raise ValueError("the mask selects no pixel: nothing to evaluate")
    return p, g, m


def endpoint_error(pred: Any, gt: Any) -> np.ndarray:
    """Per-pixel endpoint error ``||pred - gt||_2``, ``(H, W)`` float32, pixels."""
    p, g = _check_flow(pred, "pred"), _check_flow(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred and gt must have the same shape, got {p.shape} and {g.shape}")
    return np.sqrt(((p - g) ** 2).sum(axis=-1)).astype(np.float32)


def aee(pred: Any, gt: Any, *, mask: Any = None) -> float:
    """Average endpoint error in pixels over the pixels of ``mask`` (all finite GT pixels by default)."""
    p, g, m = _prepare(pred, gt, mask)
    return float(np.sqrt(((p - g) ** 2).sum(axis=-1))[m].mean())


def percent_outliers(pred: Any, gt: Any, *, mask: Any = None, abs_px: float = PO_ABS_PX, rel: float = PO_REL) -> float:
    """PO%: percentage of pixels with error ``> abs_px`` **and** ``> rel * |gt|``."""
    p, g, m = _prepare(pred, gt, mask)
    err = np.sqrt(((p - g) ** 2).sum(axis=-1))[m]
    mag = np.sqrt((g**2).sum(axis=-1))[m]
    return float(100.0 * np.mean((err > abs_px) & (err > rel * mag)))


def flow_errors(pred: Any, gt: Any, *, mask: Any = None) -> dict[str, float]:
    """``{"aee": px, "po": percent, "n": pixels counted}`` in one pass."""
    p, g, m = _prepare(pred, gt, mask)
    err = np.sqrt(((p - g) ** 2).sum(axis=-1))[m]
    mag = np.sqrt((g**2).sum(axis=-1))[m]
    return {"aee": float(err.mean()), "po": float(100.0 * np.mean((err > PO_ABS_PX) & (err > PO_REL * mag))),
            "n": int(m.sum())}


def summarize(per_scene: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Unweighted mean of each metric over scenes: ``{"aee": ..., "po": ..., "scenes": n}``.

    ``per_scene`` maps a scene name to its metrics (``{"aee": ..., "po": ...}``,
    each already averaged over that scene's flow fields).
    """
    if not per_scene:
        raise ValueError("no scenes to summarise")
    out: dict[str, float] = {}
    for key in ("aee", "po"):
        vals = []
        for name, d in per_scene.items():
            if key not in d:
                raise ValueError(f"scene {name!r} has no {key!r} value")
            v = float(d[key])
            if not math.isfinite(v):
                raise ValueError(f"scene {name!r} has a non-finite {key!r}: {v}")
            vals.append(v)
        out[key] = float(np.mean(vals))
    out["scenes"] = len(per_scene)
    return out
