"""Classical reconstruction: TFP, TFI and TFSTP.

Model and units
---------------
A spike-camera pixel integrates light and fires when its accumulator crosses a
threshold, so its firing *rate* (spikes per frame, in [0, 1]) is proportional
to the light intensity. Every method here estimates that rate around frame
``t`` and maps it to an intensity with the named scale ``rate_ratio``::

    intensity = clip(rate / rate_ratio, 0, 1)        # float32

``rate_ratio`` is the firing rate of a pixel of intensity 1; the community's
REDS spike data uses ``rate_ratio = 0.6`` (rate ≈ 0.6 × intensity), the
default here.

The window of length ``w`` centred on ``t`` is ``[t - w // 2, t - w // 2 + w)``
(41 frames ⇒ ``[t - 20, t + 20]``). Every function takes a
:class:`~spikevision.SpikeStream` or a ``(T, H, W)`` 0/1 array and exactly one
of ``at=t`` (one ``(H, W)`` image) or ``every=k`` (``(N, H, W)``, the frames
``0, k, 2k, ...`` whose window lies inside the stream, see
:func:`~spikevision.recon.frame_indices`). Both modes run the same kernel;
whole-stream mode shares the work between frames (one cumulative sum for TFP,
one forward and one backward last-spike scan for TFI).

TFP (texture from playback)
    ``rate = spikes in the window / w``.
TFI (texture from inter-spike interval; Zhu et al., ICME 2019)
    ``rate = 1 / (next - prev)`` where ``prev`` is the last spike at or before
    ``t`` and ``next`` the first spike after ``t``, both searched inside the
    window. **No spike in reach:** a missing ``prev`` is placed just before the
    window (``t - w // 2 - 1``) and a missing ``next`` just after it
    (``t - w // 2 + w``). The true interval is at least that long, so the
    estimate is an upper bound of the rate; a pixel with no spike at all in
    the window gets ``1 / (w + 1)`` spikes per frame.
TFSTP (short-term plasticity; Zheng et al., CVPR 2021)
    The spike train of each pixel drives a Tsodyks-Markram synapse. At each
    spike ``n`` with inter-spike interval ``Δ`` (frames)::

        R ← 1 - (1 - R (1 - u)) exp(-Δ / tau_d)      (available resources)
        u ← U + (u + f (1 - u) - U) exp(-Δ / tau_f)   (release probability)

    starting from ``R = 1, u = U`` at the start of the window. Both variables
    converge to fixed points that depend only on the firing rate; inverting
    them gives two rate estimates (``rho_R`` follows the latest interval,
    ``rho_u`` a longer, ``tau_f``-weighted history) whose mean is the rate.
    The state used at ``t`` is the one after the first spike following ``t``
    (so it includes the interval that spans ``t``); pixels with no complete
    interval in the window get the TFI bound ``1 / (w + 1)``.

>>> import numpy as np
>>> spikes = np.zeros((41, 1, 2), np.uint8); spikes[::4, 0, 0] = 1; spikes[::2, 0, 1] = 1
>>> np.allclose(tfp(spikes, at=20, rate_ratio=1.0), [[11 / 41, 21 / 41]])   # 11 and 21 spikes in 41 frames
True
>>> tfi(spikes, at=20, rate_ratio=1.0).tolist()
[[0.25, 0.5]]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from .._checks import check_positive_float
from . import _blocks

__all__ = ["tfp", "tfi", "tfstp", "STPParams", "TFP", "TFI", "TFSTP", "REDS_RATE_RATIO", "DEFAULT_WINDOW"]

#: Firing rate of a pixel of intensity 1 in the REDS spike data (rate ≈ 0.6 × intensity).
REDS_RATE_RATIO = 0.6
#: Default window (frames): the community's 41-frame protocol.
DEFAULT_WINDOW = 41


# --------------------------------------------------------------------------- TFP
# The kernels below work frame by frame on (H, W) planes that stay in cache,
# with array (not scalar) operands: NumPy's minimum/maximum against a scalar
# and copyto(where=...) take a slow path, ~10-100x slower than these loops.


def _to_intensity_into(counts: np.ndarray, scale: np.ndarray, one: np.ndarray, out: np.ndarray) -> None:
    """``out = min(counts * scale, 1)`` as float32, in place."""
    np.copyto(out, counts, casting="unsafe")
    np.multiply(out, scale, out=out)
    np.minimum(out, one, out=out)


def _tfp_kernel(frames: np.ndarray, rel: np.ndarray, out: np.ndarray, *, window: int, rate_ratio: float) -> None:
    """Spike counts of each window, slid from one output to the next (add entering, drop leaving frames)."""
    h = window // 2
    dt = np.uint8 if window <= np.iinfo(np.uint8).max else np.uint32
    plane = frames.shape[1:]
    scale = np.full(plane, 1.0 / (window * rate_ratio), np.float32)
    one = np.ones(plane, np.float32)
    counts = None
    lo_prev = 0
    for i, t in enumerate(rel.tolist()):
        lo = t - h
        if counts is None or lo - lo_prev >= window:
            counts = frames[lo : lo + window].sum(axis=0, dtype=dt)
        elif lo - lo_prev == 1:
            np.add(counts, frames[lo_prev + window], out=counts, casting="unsafe")
            np.subtract(counts, frames[lo_prev], out=counts, casting="unsafe")
        else:  # uint8 arithmetic wraps around, but the final count is exact
            counts += frames[lo_prev + window : lo + window].sum(axis=0, dtype=dt)
            counts -= frames[lo_prev:lo].sum(axis=0, dtype=dt)
        lo_prev = lo
        _to_intensity_into(counts, scale, one, out[i])


def tfp(
    spikes: Any,
    *,
    at: int | None = None,
    every: int | None = None,
    window: int = DEFAULT_WINDOW,
    rate_ratio: float = REDS_RATE_RATIO,
    progress: bool = False,
) -> np.ndarray:
    """Texture from playback: spike count in a ``window``-frame window over ``window * rate_ratio``.

    Parameters
    ----------
    spikes:
        :class:`~spikevision.SpikeStream` or ``(T, H, W)`` 0/1 array.
    at, every:
        Exactly one: the frame to reconstruct, or the output stride (see the module docstring).
    window:
        Window length in frames (default 41), centred on the frame.
    rate_ratio:
        Firing rate (spikes/frame) of a pixel of intensity 1 (default 0.6, REDS).
    progress:
        Progress bar in whole-stream mode.

    Returns
    -------
    ``(H, W)`` (``at``) or ``(N, H, W)`` (``every``) float32 in [0, 1].
    """
    window = _blocks.check_window(window)
    rate_ratio = _blocks.check_rate_ratio(rate_ratio)
    kernel = partial(_tfp_kernel, window=window, rate_ratio=rate_ratio)
    return _blocks.run(spikes, kernel, at=at, every=every, window=window, progress=progress, desc="tfp")


# --------------------------------------------------------------------------- TFI
def tfi_intervals(frames: np.ndarray, rel: np.ndarray, *, window: int) -> np.ndarray:
    """Clamped inter-spike interval around each output time, ``(N, H, W)`` uint8 (uint16 for long windows).

    ``interval = age + wait``: ``age = t - prev`` comes from a forward scan
    (0 on a spike, +1 per frame) and ``wait = next - t`` from a backward scan
    (1 when the next frame spikes, +1 per frame). Capping them at
    ``window // 2 + 1`` and ``window - window // 2`` is exactly the rule
    "a missing neighbour sits just outside the window". Times are relative to
    ``frames[0]``; ``rel`` is increasing and each window lies inside ``frames``.
    """
    h = window // 2
    dt = np.uint8 if window < np.iinfo(np.uint8).max else np.uint16
    plane = frames.shape[1:]
    one = np.ones(plane, dt)
    cap_age = np.full(plane, h + 1, dt)
    cap_wait = np.full(plane, window - h, dt)
    keep = np.empty(plane, dt)  # 0 where the frame spikes, all ones elsewhere
    targets = rel.tolist()
    ages = np.empty((len(targets), *plane), dt)
    age = cap_age.copy()
    k = 0
    for j in range(targets[0] - h, targets[-1] + 1):
        f = frames[j]
        np.add(age, one, out=age)
        np.minimum(age, cap_age, out=age)
        np.subtract(f, one, out=keep, casting="unsafe")
        np.bitwise_and(age, keep, out=age)
        if j == targets[k]:
            ages[k] = age
            k += 1
    wait = cap_wait.copy()
    k = len(targets) - 1
    for j in range(targets[-1] - h + window - 1, targets[0] - 1, -1):
        if j == targets[k]:
            np.add(ages[k], wait, out=ages[k])
            k -= 1
            if k < 0:
                break
        f = frames[j]
        np.add(wait, one, out=wait)
        np.minimum(wait, cap_wait, out=wait)
        np.subtract(f, one, out=keep, casting="unsafe")
        np.bitwise_and(wait, keep, out=wait)
        np.bitwise_or(wait, f, out=wait, casting="unsafe")
    return ages


def _tfi_kernel(frames: np.ndarray, rel: np.ndarray, out: np.ndarray, *, window: int, rate_ratio: float) -> None:
    intervals = tfi_intervals(frames, rel, window=window)
    plane = frames.shape[1:]
    num = np.full(plane, 1.0 / rate_ratio, np.float32)
    one = np.ones(plane, np.float32)
    for i in range(len(out)):
        np.copyto(out[i], intervals[i], casting="unsafe")
        np.divide(num, out[i], out=out[i])
        np.minimum(out[i], one, out=out[i])


def tfi(
    spikes: Any,
    *,
    at: int | None = None,
    every: int | None = None,
    window: int = DEFAULT_WINDOW,
    rate_ratio: float = REDS_RATE_RATIO,
    progress: bool = False,
) -> np.ndarray:
    """Texture from inter-spike interval: ``1 / (next - prev) / rate_ratio`` around each frame.

    Spikes are searched inside the ``window`` centred on the frame; a pixel
    with no spike on a side uses the window edge (see the module docstring),
    so a pixel with no spike in reach gets ``1 / ((window + 1) * rate_ratio)``.
    Parameters and return value as :func:`tfp`.
    """
    window = _blocks.check_window(window)
    rate_ratio = _blocks.check_rate_ratio(rate_ratio)
    kernel = partial(_tfi_kernel, window=window, rate_ratio=rate_ratio)
    return _blocks.run(spikes, kernel, at=at, every=every, window=window, progress=progress, desc="tfi")


# ------------------------------------------------------------------------- TFSTP
@dataclass(frozen=True)
class STPParams:
    """Tsodyks-Markram short-term-plasticity parameters (times in frames).

    Defaults as in Zheng et al. (CVPR 2021) for 20 kHz spike data:
    ``U = f = 0.15``, ``tau_d = 1`` frame (0.05 ms), ``tau_f = 10`` frames (0.5 ms).
    """

    U: float = 0.15
    f: float = 0.15
    tau_d: float = 1.0
    tau_f: float = 10.0

    def __post_init__(self) -> None:
        for name in ("U", "f"):
            v = check_positive_float(getattr(self, name), name)
            if not v < 1:
                raise ValueError(f"{name} must be in (0, 1), got {v}")
        check_positive_float(self.tau_d, "tau_d")
        check_positive_float(self.tau_f, "tau_f")


def _stp_rates(q: np.ndarray, u: np.ndarray, p: STPParams) -> np.ndarray:
    """Rates (spikes/frame) whose fixed points are ``(R = 1 - q, u)``; mean of the two inversions.

    ``q = 1 - R`` is carried instead of ``R`` so that tiny depletions survive
    in floating point.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        d = q / (u + q * (1.0 - u))  # exp(-Δ/τ_d) at the fixed point of R
        rho_r = np.where((d > 0) & (d < 1), -1.0 / (p.tau_d * np.log(d)), 0.0)
        e = (u - p.U) / (u * (1.0 - p.f) + p.f - p.U)  # exp(-Δ/τ_f) at the fixed point of u
        rho_u = np.where((e > 0) & (e < 1), -1.0 / (p.tau_f * np.log(e)), 0.0)
    return 0.5 * (rho_r + rho_u)


def _tfstp_kernel(frames: np.ndarray, rel: np.ndarray, out: np.ndarray, *, window: int, rate_ratio: float,
                  params: STPParams) -> None:
    h = window // 2
    shape = (len(rel), *frames.shape[1:])
    q = np.zeros(shape)  # 1 - R
    u = np.full(shape, params.U)
    last = np.full(shape, -1, np.int32)
    done = np.zeros(shape, bool)
    intervals = np.zeros(shape, np.int32)
    start = rel - h
    for j in range(window):
        s = frames[start + j].astype(bool)
        upd = s & (last >= 0) & ~done
        if upd.any():
            dt = (j - last[upd]).astype(np.float64)
            qu, uu = q[upd], u[upd]
            q[upd] = (uu + qu * (1.0 - uu)) * np.exp(-dt / params.tau_d)
            u[upd] = params.U + (uu + params.f * (1.0 - uu) - params.U) * np.exp(-dt / params.tau_f)
            intervals[upd] += 1
        last[s & ~done] = j
        if j > h:
            done |= s
    rate = _stp_rates(q, u, params)
    rate = np.where(intervals > 0, rate, 1.0 / (window + 1))
    out[...] = np.clip(rate / rate_ratio, 0.0, 1.0)


def tfstp(
    spikes: Any,
    *,
    at: int | None = None,
    every: int | None = None,
    window: int = DEFAULT_WINDOW,
    rate_ratio: float = REDS_RATE_RATIO,
    params: STPParams = STPParams(),
    progress: bool = False,
) -> np.ndarray:
    """Texture from short-term plasticity (Zheng et al., CVPR 2021), reimplemented.

    Each window is filtered from a fresh synapse state (``R = 1, u = U``), so
    the image at ``t`` depends only on the window around ``t`` and both modes
    agree exactly. Whole-stream mode runs the windows of up to 16 output
    frames side by side. ``params`` holds ``U, f, tau_d, tau_f``
    (:class:`STPParams`). Other parameters and return value as :func:`tfp`.
    """
    window = _blocks.check_window(window)
    rate_ratio = _blocks.check_rate_ratio(rate_ratio)
    if not isinstance(params, STPParams):
        raise TypeError(f"params must be an STPParams, got {type(params).__name__}")
    kernel = partial(_tfstp_kernel, window=window, rate_ratio=rate_ratio, params=params)
    return _blocks.run(spikes, kernel, at=at, every=every, window=window, progress=progress, desc="tfstp",
                       max_outputs=16)


# ------------------------------------------------------------ settings classes
@dataclass(frozen=True)
class TFP:
    """Settings holder for :func:`tfp`: ``TFP(window=41)(spikes, at=150)``."""

    window: int = DEFAULT_WINDOW
    rate_ratio: float = REDS_RATE_RATIO

    def __call__(self, spikes: Any, *, at: int | None = None, every: int | None = None, progress: bool = False) -> np.ndarray:
        return tfp(spikes, at=at, every=every, window=self.window, rate_ratio=self.rate_ratio, progress=progress)


@dataclass(frozen=True)
class TFI:
    """Settings holder for :func:`tfi`."""

    window: int = DEFAULT_WINDOW
    rate_ratio: float = REDS_RATE_RATIO

    def __call__(self, spikes: Any, *, at: int | None = None, every: int | None = None, progress: bool = False) -> np.ndarray:
        return tfi(spikes, at=at, every=every, window=self.window, rate_ratio=self.rate_ratio, progress=progress)


@dataclass(frozen=True)
class TFSTP:
    """Settings holder for :func:`tfstp`."""

    window: int = DEFAULT_WINDOW
    rate_ratio: float = REDS_RATE_RATIO
    params: STPParams = STPParams()

    def __call__(self, spikes: Any, *, at: int | None = None, every: int | None = None, progress: bool = False) -> np.ndarray:
        return tfstp(spikes, at=at, every=every, window=self.window, rate_ratio=self.rate_ratio, params=self.params,
                     progress=progress)
