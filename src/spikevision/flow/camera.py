"""Camera motion in a flow field: is the camera still, or does the whole scene move with it?

The static-background gate (:mod:`.still`) sets the flow to the background's motion wherever the
firing rates show no change. For a still camera that motion is zero. For a moving camera (a car,
a drone, a hand-held camera) a smooth background moving with the camera changes no rate either,
and zero is wrong: there the background moves as the camera does.

:func:`camera_motion` decides between the two from the flow field itself. It fits one affine map
``x -> A x + b`` (pan, zoom and rotation of a distant scene) to the flow on a regular grid with
OpenCV's RANSAC (``estimateAffine2D``), and compares it with the still model (zero flow): each
model's support is the fraction of grid points whose flow it explains within ``threshold`` px.
The camera counts as moving only when the affine model explains more points than the still one,
at least ``min_support`` of them, and moves some corner of the image by at least ``min_motion``
px. Otherwise :func:`camera_motion` answers ``None``. The gate takes that for a still camera only
when the still model explains at least ``min_still`` of the grid points (:func:`still_fraction`):
under a fast pan (more than about 10 px per interval) the flow can be too uneven for any affine
fit within ``threshold``, and then nearly nothing is still either; the gate retries the fit at
``retry_threshold`` px and, failing that, leaves the flow as it is.

A still camera with a moving object that covers more of the frame than the still background is
taken for a moving camera; so is a scene where most of what is visible moves the same way.

>>> import numpy as np
>>> flow = np.zeros((40, 60, 2), np.float32); flow[..., 0] = 3.0   # everything moves 3 px right
>>> m = camera_motion(flow)
>>> round(float(m.displacement(np.array([[10.0, 10.0]]))[0, 0]), 2)
3.0
>>> camera_motion(np.zeros((40, 60, 2), np.float32)) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CameraMotion", "CameraModel", "camera_motion", "still_fraction"]


@dataclass(frozen=True)
class CameraModel:
    """Settings of :func:`camera_motion` (see the module docstring)."""

    threshold: float = 0.5  # px: a grid point supports a model whose flow is this close to its own
    min_motion: float = 1.0  # px over the interval, at the image corner that moves most
    min_support: float = 0.4  # fraction of the grid points the affine model must explain
    grid: int = 6  # spacing of the grid points (px)
    #: px: where the gated flow of a moving camera is this close to the camera's motion, it becomes the
    #: camera's motion (0: off); used by :func:`spikevision.flow.still.apply_still_gate`
    snap: float = 1.0
    #: px: a moving camera found in a flow counts only when a classical flow of the same windows (ATFI +
    #: DIS) finds one within this distance at every image corner, whose fit is then used (0: no check);
    #: used by :func:`spikevision.flow.still.apply_still_gate`
    confirm: float = 2.0
    #: fraction of the grid points whose flow is within ``threshold`` of zero that a camera needs, when no
    #: moving camera is found (or confirmed), to count as still; with fewer (nearly the whole field moves,
    #: as under a fast pan that no affine fit explains within ``threshold``) the camera is unknown: the fit
    #: is retried at ``retry_threshold`` px, and failing that the gate leaves the flow as it is (0: every
    #: camera that is not found moving counts as still); used by :func:`spikevision.flow.still.apply_still_gate`
    min_still: float = 0.2
    retry_threshold: float = 2.0  # px (0: no retry)

    def __post_init__(self) -> None:
        for name in ("threshold", "min_motion", "min_support", "snap", "confirm", "min_still", "retry_threshold"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v) or v < 0:
                raise ValueError(f"CameraModel.{name} must be a finite number >= 0, got {v!r}")
        if self.threshold <= 0:
            raise ValueError(f"CameraModel.threshold must be > 0, got {self.threshold}")
        for name in ("min_support", "min_still"):
            if getattr(self, name) > 1:
                raise ValueError(f"CameraModel.{name} must be in [0, 1], got {getattr(self, name)}")
        if isinstance(self.grid, bool) or not isinstance(self.grid, (int, np.integer)) or self.grid < 1:
            raise ValueError(f"CameraModel.grid must be a positive integer, got {self.grid!r}")


@dataclass(frozen=True)
class CameraMotion:
    """Affine camera motion over one interval: ``matrix`` ``(2, 3)`` maps a pixel ``(x, y)`` (x right,
    y down) at ``t0`` to its position at ``t0 + dt``; ``support`` is the fraction of grid points it explains."""

    matrix: np.ndarray
    support: float = 1.0

    def displacement(self, points: Any) -> np.ndarray:
        """``M(p) - p`` for points ``(..., 2)`` (x, y), float32."""
        m = np.asarray(self.matrix, np.float64)
        p = np.asarray(points, np.float64)
        return (p @ m[:, :2].T + m[:, 2] - p).astype(np.float32)

    def field(self, height: int, width: int) -> np.ndarray:
        """The camera's flow ``(H, W, 2)`` float32 over an image of that size."""
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
        return self.displacement(np.stack([xs, ys], -1))

    def max_motion(self, height: int, width: int) -> float:
        """Largest displacement (px) of the image's corners."""
        corners = np.array([[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]], np.float64)
        return float(np.abs(self.displacement(corners)).max())


def still_fraction(flow: Any, *, model: CameraModel | None = None) -> float:
    """Fraction of the grid points of :func:`camera_motion` whose flow is within ``model.threshold`` px of
    zero (the still model's support); 1.0 for a field too small for a grid."""
    m = CameraModel() if model is None else model
    f = np.asarray(flow, np.float32)
    if f.ndim != 3 or f.shape[-1] != 2:
        raise ValueError(f"flow must be (H, W, 2), got shape {f.shape}")
    h, w = f.shape[:2]
    b = min(4, h // 4, w // 4)
    vec = f[b:h - b:m.grid, b:w - b:m.grid].reshape(-1, 2)
    if vec.shape[0] == 0:
        return 1.0
    return float((np.linalg.norm(vec, axis=1) <= m.threshold).mean())


def camera_motion(flow: Any, *, model: CameraModel | None = None) -> CameraMotion | None:
    """The camera's affine motion in flow field ``flow`` ``(H, W, 2)`` (px, u right, v down), or ``None``
    when the camera counts as still (see the module docstring). Deterministic (OpenCV's RANSAC is seeded)."""
    import cv2

    m = CameraModel() if model is None else model
    if not isinstance(m, CameraModel):
        raise TypeError(f"model must be a CameraModel, got {type(m).__name__}")
    f = np.asarray(flow, np.float32)
    if f.ndim != 3 or f.shape[-1] != 2:
        raise ValueError(f"flow must be (H, W, 2), got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError("flow contains NaN or infinite values")
    h, w = f.shape[:2]
    b = min(4, h // 4, w // 4)
    ys, xs = np.mgrid[b:h - b:m.grid, b:w - b:m.grid]
    if ys.size < 12:
        return None
    src = np.stack([xs, ys], -1).reshape(-1, 2).astype(np.float32)
    vec = f[ys, xs].reshape(-1, 2)
    still = still_fraction(f, model=m)
    cv2.setRNGSeed(0)
    mat, inliers = cv2.estimateAffine2D(src, src + vec, method=cv2.RANSAC, ransacReprojThreshold=m.threshold,
                                        maxIters=2000, confidence=0.995, refineIters=10)
    if mat is None or inliers is None:
        return None
    motion = CameraMotion(np.asarray(mat, np.float64), float(inliers.mean()))
    if motion.support <= still or motion.support < m.min_support or motion.max_motion(h, w) < m.min_motion:
        return None
    return motion
