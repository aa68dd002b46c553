"""Static-background gate: zero the flow where the spikes show that nothing changed.

Dense flow methods fill textureless regions with the motion of their
neighbours (the variational smoothness of DIS, the learned network's spatial
context): a still, smooth background next to a moving object gets part of the
object's motion. The spikes themselves can tell. A pixel that sees constant
light fires at a constant rate, so its rate in the first half of the frames the
two windows cover equals its rate in the second half; where anything textured
moves past it, the rate changes.

For each pixel the rate of each half is measured from its first and last spike
(``(n - 1) / (t_last - t_first)``, frame-accurate timing, several times finer than
a spike count; ``n / T`` when fewer than two spikes fall in the half). The
relative change ``(r1 - r0) / mean(r0, r1)`` is squared, weighted by the smaller
spike count of the two halves and averaged over a Gaussian neighbourhood
(``sigma`` px); its square root ``D`` is the local RMS change of the firing rate.
The flow is multiplied by ``clip((D - low) / (high - low), 0, 1)``: kept where
``D >= high``, zero where ``D <= low``.

Where nothing changed, the flow is pulled towards the camera's own motion:
zero for a still camera; for a moving camera (found in the flow field by
:func:`spikevision.flow.camera.camera_motion`: one affine map that explains more
of the field than zero flow does, confirmed by the same fit on a classical flow
of the two windows) the affine motion of the background, so that a
smooth background moving with the camera keeps its motion. When neither holds and
nearly the whole field moves (under ``CameraModel.min_still`` of it is still: a fast pan
that no affine fit explains within 0.5 px), the fit is retried at a looser tolerance
(``CameraModel.retry_threshold``); if that fails too the camera is unknown and the flow is
left as it is, not pulled towards zero. ``camera=None`` pulls
towards zero always (the gate before moving cameras were handled). A moving
region with no texture changes no rate either and takes the background's
motion (no method can see its own motion anyway). The defaults (``sigma`` 6 px, ``low`` 0.03, ``high`` 0.035) were chosen for the shipped
``spikeflow`` weights on the validation scenes (``docs/flow.md``); the gate in the training loss
keeps the first choice (:data:`TRAINING_GATE`), with which the weights were trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_binary_array, check_positive_int
from .camera import CameraModel, camera_motion, still_fraction

__all__ = ["StillGate", "TRAINING_GATE", "firing_rates", "rate_change", "still_gate_weight", "apply_still_gate"]


@dataclass(frozen=True)
class StillGate:
    """Parameters of the static-background gate (see the module docstring)."""

    sigma: float = 6.0
    low: float = 0.03
    high: float = 0.035
    #: How a moving camera is recognised (:class:`~spikevision.flow.camera.CameraModel`); ``None``: the
    #: camera is taken as still and the flow pulled towards zero.
    camera: CameraModel | None = CameraModel()

    def __post_init__(self) -> None:
        if self.camera is not None and not isinstance(self.camera, CameraModel):
            raise ValueError(f"StillGate.camera must be a CameraModel or None, got {self.camera!r}")
        for name in ("sigma", "low", "high"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
                raise ValueError(f"StillGate.{name} must be a finite number, got {v!r}")
        if self.sigma <= 0:
            raise ValueError(f"StillGate.sigma must be > 0, got {self.sigma}")
        if not 0 <= self.low < self.high:
            raise ValueError(f"StillGate needs 0 <= low < high, got low={self.low}, high={self.high}")


#: The gate of the flow training's loss (``TrainConfig.still_gate``): the thresholds chosen when the gate
#: was introduced, kept so that the configs of the shipped weights train as they did.
TRAINING_GATE = StillGate(sigma=4.0, low=0.03, high=0.04, camera=None)


def firing_rates(frames: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel firing rate (spikes per frame) and spike count of ``(T, H, W)`` 0/1 frames.

    The rate is ``(n - 1) / (t_last - t_first)`` for pixels with ``n >= 2`` spikes
    (the interval between the first and the last spike is timed to the frame)
    and ``n / T`` otherwise.
    """
    f = check_binary_array(frames, "frames")
    if f.ndim != 3 or f.shape[0] == 0:
        raise ValueError(f"frames must be (T, H, W) with T >= 1, got shape {f.shape}")
    if f.shape[1] == 0 or f.shape[2] == 0:
        raise ValueError(f"frames have no pixels (shape {f.shape})")
    t = f.shape[0]
    fired = f.astype(bool)
    n = fired.sum(0, dtype=np.int32)
    first = np.argmax(fired, 0)
    last = t - 1 - np.argmax(fired[::-1], 0)
    span = np.maximum(last - first, 1).astype(np.float32)
    rate = np.where(n >= 2, (n - 1) / span, n / np.float32(t)).astype(np.float32)
    return rate, n


def _halves(w0: np.ndarray, w1: np.ndarray, dt: int) -> tuple[np.ndarray, np.ndarray]:
    """The first and second half of the frames two windows (centres ``dt`` apart) cover."""
    n = w0.shape[0]
    h = min(n, (dt + n) // 2)
    return w0[:h], w1[n - h:]


def rate_change(before: Any, after: Any, *, sigma: float = StillGate.sigma) -> np.ndarray:
    """Local RMS relative change of the firing rate between two runs of frames, ``(H, W)`` float32.

    Each pixel's squared relative change is weighted by the smaller of its two
    spike counts and averaged over a Gaussian of ``sigma`` px (default: the gate's).
    """
    from scipy.ndimage import gaussian_filter

    r0, n0 = firing_rates(before)
    r1, n1 = firing_rates(after)
    if r0.shape != r1.shape:
        raise ValueError(f"before and after must have the same frame size, got {r0.shape} and {r1.shape}")
    rel = (r1 - r0) / (0.5 * (r0 + r1) + 1e-3)
    w = np.minimum(n0, n1).astype(np.float32)
    num = gaussian_filter(w * rel * rel, sigma)
    den = gaussian_filter(w, sigma)
    return np.sqrt(num / (den + 1e-6)).astype(np.float32)


def still_gate_weight(w0: Any, w1: Any, *, dt: int, gate: StillGate | None = None) -> np.ndarray:
    """``(H, W)`` float32 weight in [0, 1] for the flow between two windows (1: keep, 0: still).

    ``w0`` and ``w1`` are the ``(L, H, W)`` windows centred on ``t0`` and ``t0 + dt``;
    the rates compare the first and the second half of the frames they cover.
    """
    g = StillGate() if gate is None else gate
    if not isinstance(g, StillGate):
        raise TypeError(f"gate must be a StillGate, got {type(g).__name__}")
    dt = check_positive_int(dt, "dt")
    a = check_binary_array(w0, "w0")
    b = check_binary_array(w1, "w1")
    if a.ndim != 3 or a.shape != b.shape:
        raise ValueError(f"w0 and w1 must be (L, H, W) windows of one shape, got {a.shape} and {b.shape}")
    before, after = _halves(a, b, dt)
    d = rate_change(before, after, sigma=g.sigma)
    return np.clip((d - g.low) / (g.high - g.low), 0.0, 1.0).astype(np.float32)


def apply_still_gate(flow: Any, w0: Any, w1: Any, *, dt: int, gate: StillGate | None = None) -> np.ndarray:
    """``flow`` ``(H, W, 2)`` gated by :func:`still_gate_weight` ``g`` of its two windows: ``c + g (flow - c)``
    with ``c`` the camera's motion (zero for a still camera; see the module docstring)."""
    g = StillGate() if gate is None else gate
    f = np.asarray(flow, np.float32)
    weight = still_gate_weight(w0, w1, dt=dt, gate=g)
    if f.ndim != 3 or f.shape[-1] != 2 or f.shape[:2] != weight.shape:
        raise ValueError(f"flow must be (H, W, 2) with the windows' frame size {weight.shape}, got {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError("flow contains NaN or infinite values")
    motion = None if g.camera is None else _moving_camera(f, w0, w1, g.camera)
    if motion is _UNKNOWN:  # neither a still camera nor a camera motion both flows agree on: no background to pull to
        return np.ascontiguousarray(f, dtype=np.float32)
    if motion is None:
        return np.ascontiguousarray(f * weight[..., None], dtype=np.float32)
    c = motion.field(*f.shape[:2])
    out = c + weight[..., None] * (f - c)
    if g.camera.snap > 0:  # the rigid background follows the camera exactly
        near = np.linalg.norm(out - c, axis=-1) < g.camera.snap
        out = np.where(near[..., None], c, out)
    return np.ascontiguousarray(out, dtype=np.float32)


#: :func:`_moving_camera`'s answer when the camera is neither still nor found moving
_UNKNOWN = object()


def _moving_camera(flow: np.ndarray, w0: Any, w1: Any, model: CameraModel) -> Any:
    """The camera's motion, ``None`` for a still camera, or :data:`_UNKNOWN`: a motion found in ``flow`` counts
    only when a classical flow of the two windows (ATFI images + DIS medium; unbiased on a rigid background,
    and not spreading a moving object's motion over a smooth still background as a network can) finds one
    too, within ``model.confirm`` px at every image corner; the classical fit is the one used. When none
    counts and under ``model.min_still`` of ``flow`` and of the classical flow is still, the fits are
    retried at ``model.retry_threshold`` px (a camera, or still when ``flow`` is that close to zero on
    ``model.min_still`` of the grid); failing that the camera is unknown."""
    from dataclasses import replace

    from .classical import classical_flow_windows

    motion = camera_motion(flow, model=model)
    if motion is not None and model.confirm <= 0:
        return motion
    classical = None
    if motion is not None:
        classical = classical_flow_windows(w0, w1, recon="atfi", preset="medium")
        check = _confirmed(motion, classical, model, flow.shape[:2])
        if check is not None:
            return check
    if still_fraction(flow, model=model) >= model.min_still:
        return None
    if classical is None:
        classical = classical_flow_windows(w0, w1, recon="atfi", preset="medium")
    if still_fraction(classical, model=model) >= model.min_still:  # the spikes show a still camera
        return None
    if model.retry_threshold > 0:
        loose = replace(model, threshold=model.retry_threshold)
        motion = camera_motion(flow, model=loose)
        if motion is not None and model.confirm <= 0:
            return motion
        if motion is not None:
            check = _confirmed(motion, classical, loose, flow.shape[:2])
            if check is not None:
                return check
        if still_fraction(flow, model=loose) >= model.min_still:  # still within the looser tolerance
            return None
    return _UNKNOWN


def _confirmed(motion: Any, classical: np.ndarray, model: CameraModel, shape: tuple[int, int]) -> Any:
    """The camera motion fitted to ``classical`` when it lies within ``model.confirm`` px of ``motion`` at every
    corner, else ``None``."""
    check = camera_motion(classical, model=model)
    if check is None or _corner_gap(check, motion, shape) > model.confirm:
        return None
    return check


def _corner_gap(a: Any, b: Any, shape: tuple[int, int]) -> float:
    h, w = shape
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64)
    return float(np.abs(a.displacement(corners) - b.displacement(corners)).max())
