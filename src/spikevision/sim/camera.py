"""Integrate-and-fire spike camera model (PKU Vidar style).

The model, per pixel ``p`` and readout step ``n = 0, 1, 2, ...``
-----------------------------------------------------------------
::

    lam[n]  = gain * I[n] + dark_current           expected charge of the step (e-)
    e[n]    = lam[n]                               shot noise off
            ~ Poisson(lam[n])                      shot noise on (see below)
    a[n]    = a[n-1] + min(e[n], theta_p)          accumulate (the well takes at most one threshold a step)
    s[n]    = 1 if a[n] >= theta_p else 0          fire ...
    a[n]   -= s[n] * theta_p                       ... and subtract the threshold: the residual is kept
    a[-1]   = U[0, theta_p) if random_init else 0  initial charge

``I[n]`` is the intensity in ``[0, 1]`` lighting the pixel during step ``n``
(the scene sampled at time ``t = n`` spike frames); ``gain`` converts it to
photo-electrons per readout step and ``theta_p = threshold * (1 + threshold_spread * z_p)``
(``z_p`` standard normal, fixed per pixel) is the pixel's threshold. A pixel fires at
most once per readout, so the long-run spike rate is
``min(1, (gain * I + dark_current) / theta_p)`` spikes per frame. Hot pixels fire at
every readout, dead pixels never.

Units: charges in electrons (e-), ``gain`` and ``dark_current`` in e- per
readout step, ``rate_hz`` in readouts per second. Without shot noise only the
ratios ``gain / threshold`` and ``dark_current / threshold`` matter.

Shot noise
----------
Photon arrival is Poisson. When the expected charge of a step is small
(``gain + dark_current < 10`` e-, a photon-starved camera) each step's charge is
drawn exactly from ``Poisson(lam)``. Otherwise it is drawn from the Gaussian
approximation ``max(0, lam + sqrt(lam) * z)`` (the Poisson law's mean and variance),
which is several times cheaper to draw. The choice depends on the settings only,
never on the data.
Shot noise costs one random draw per pixel and readout, so it is the slow
path: keep it off (as the REDS preset does) for large noise-free data sets.

Implementation
--------------
The accumulator is kept in fixed point, ``2**24`` units per pixel threshold, as
``int32``: a step is four vectorised integer passes (add the charge, advance the
charge ramp, compare, mask off the threshold) over all pixels, with no
per-pixel branching and bit-identical results on every platform. Between two
input images the charge per step is linear in time, so the noise-free path
advances it by a constant increment instead of recomputing it.

Randomness: ``seed`` feeds a :class:`numpy.random.SeedSequence` that is split
into independent streams for the threshold spread, hot pixels, dead pixels,
initial charge and shot noise, so turning one effect on or off does not change
the draws of the others. Output is bit-identical for a given seed, settings
and input, whatever the chunk size.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .._checks import check_positive_float

__all__ = [
    "CameraSettings",
    "REDS_PRESET",
    "IDEAL_PRESET",
    "NOISY_PRESET",
    "fire",
    "expected_rate",
]

#: Fixed-point units per pixel threshold.
_ONE = np.int32(1 << 24)
_MASK = np.int32((1 << 24) - 1)
#: Below this expected charge per step (e-), shot noise is drawn exactly from a Poisson law.
_POISSON_EXACT_BELOW = 10.0


@dataclass(frozen=True)
class CameraSettings:
    """Physical parameters of the simulated spike camera (immutable).

    Parameters
    ----------
    threshold:
        Charge at which a pixel fires, in e- (> 0).
    gain:
        Charge collected in one readout step at intensity 1, in e- per step (> 0).
        The noise-free spike rate at intensity ``I`` is ``gain * I / threshold``
        spikes per frame (capped at 1).
    rate_hz:
        Readout rate, frames per second (default 20,000).
    random_init:
        Start each pixel with a charge drawn uniformly from ``[0, threshold)``
        (as a camera that has been running); ``False`` starts every pixel empty.
    threshold_spread:
        Relative standard deviation of the per-pixel threshold (fixed pattern
        noise), e.g. ``0.03`` for 3 %. Thresholds are clipped at 5 % of ``threshold``.
    dark_current:
        Charge added in every readout step regardless of light, e- per step (>= 0).
    shot_noise:
        Draw each step's charge from a Poisson law (see the module notes).
    hot_pixel_fraction, dead_pixel_fraction:
        Fractions of pixels that fire at every readout / never fire.

    Examples
    --------
    >>> s = CameraSettings(threshold=100.0, gain=60.0)
    >>> s.spike_rate(0.5)
    0.3
    >>> s.replace(shot_noise=True).shot_noise
    True
    """

    threshold: float = 100.0
    gain: float = 60.0
    rate_hz: float = 20_000.0
    random_init: bool = True
    threshold_spread: float = 0.0
    dark_current: float = 0.0
    shot_noise: bool = False
    hot_pixel_fraction: float = 0.0
    dead_pixel_fraction: float = 0.0

    def __post_init__(self) -> None:
        check_positive_float(self.threshold, "threshold")
        check_positive_float(self.gain, "gain")
        check_positive_float(self.rate_hz, "rate_hz")
        check_positive_float(self.threshold_spread, "threshold_spread", allow_zero=True)
        check_positive_float(self.dark_current, "dark_current", allow_zero=True)
        for name in ("hot_pixel_fraction", "dead_pixel_fraction"):
            v = check_positive_float(getattr(self, name), name, allow_zero=True)
            if v > 1:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        if self.hot_pixel_fraction + self.dead_pixel_fraction > 1:
            raise ValueError(
                "hot_pixel_fraction + dead_pixel_fraction must be <= 1, got "
                f"{self.hot_pixel_fraction} + {self.dead_pixel_fraction}"
            )
        for name in ("random_init", "shot_noise"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {type(getattr(self, name)).__name__}")

    # ---------------------------------------------------------------- helpers
    def replace(self, **changes: Any) -> "CameraSettings":
        """A copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary of the parameters."""
        return {f.name: (bool(v) if isinstance(v, (bool, np.bool_)) else float(v))
                for f in dataclasses.fields(self) for v in [getattr(self, f.name)]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CameraSettings":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown camera settings {unknown}; expected a subset of {sorted(names)}")
        return cls(**dict(d))

    def spike_rate(self, intensity: Any) -> Any:
        """Long-run noise-free spikes per frame at ``intensity`` (nominal threshold, no hot/dead pixels)."""
        i = np.asarray(intensity, dtype=np.float64)
        r = np.minimum(1.0, (self.gain * i + self.dark_current) / self.threshold)
        return float(r) if r.ndim == 0 else r


#: Fitted to the REDS spike clips (Spk2ImgNet set, as shipped by spikezoo):
#: mean spike rate / mean ground-truth intensity = 0.598 and 0.600 on the two clips
#: (whole clips, 301 frames), no measurable offset (11-frame windows give
#: rate = 0.58 I + 0.006), so ``gain / threshold = 0.6``, no dark current, no noise,
#: random initial charge. See ``docs/synthetic_dataset.md``.
REDS_PRESET = CameraSettings(threshold=100.0, gain=60.0, random_init=True)

#: Noise-free camera with empty accumulators (useful for exact tests).
IDEAL_PRESET = CameraSettings(threshold=100.0, gain=60.0, random_init=False)

#: A plausible real sensor: 3 % threshold spread, dark current, shot noise,
#: 0.01 % hot and dead pixels (parameters chosen, not fitted).
NOISY_PRESET = CameraSettings(threshold=100.0, gain=60.0, random_init=True, threshold_spread=0.03,
                              dark_current=0.3, shot_noise=True, hot_pixel_fraction=1e-4,
                              dead_pixel_fraction=1e-4)


def expected_rate(intensity: Any, *, settings: CameraSettings = REDS_PRESET) -> Any:
    """Noise-free long-run spikes per frame at ``intensity``: ``min(1, (gain*I + dark) / threshold)``."""
    _check_settings(settings)
    return settings.spike_rate(intensity)


# ====================================================================== engine
def _check_settings(settings: Any) -> CameraSettings:
    if not isinstance(settings, CameraSettings):
        raise TypeError(f"settings must be a CameraSettings, got {type(settings).__name__}")
    return settings


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer, got {type(seed).__name__} {seed!r}")
    return int(seed)


class _Pixels:
    """Mutable state of one simulation run over ``n_pixels`` pixels (internal).

    Holds the fixed-point accumulators, the per-pixel charge-to-fixed-point
    scale (threshold spread), hot/dead pixel indices and the shot-noise
    generator. Charge arrays passed in are ``(n, P)`` float32 e- per step.
    """

    def __init__(self, settings: CameraSettings, n_pixels: int, seed: int) -> None:
        self.settings = settings
        self.n = int(n_pixels)
        ss = np.random.SeedSequence(_check_seed(seed))
        r_spread, r_hot, r_dead, r_init, r_noise = (np.random.default_rng(s) for s in ss.spawn(5))
        theta = np.full(self.n, settings.threshold, np.float64)
        if settings.threshold_spread > 0:
            theta *= 1.0 + settings.threshold_spread * r_spread.standard_normal(self.n)
            np.maximum(theta, 0.05 * settings.threshold, out=theta)
        #: fixed-point units per electron, per pixel
        self.scale = (float(_ONE) / theta).astype(np.float32)
        self.uniform_scale = settings.threshold_spread == 0
        self.hot = np.flatnonzero(r_hot.random(self.n) < settings.hot_pixel_fraction) if settings.hot_pixel_fraction > 0 else None
        dead = np.flatnonzero(r_dead.random(self.n) < settings.dead_pixel_fraction) if settings.dead_pixel_fraction > 0 else None
        if dead is not None and self.hot is not None:
            dead = np.setdiff1d(dead, self.hot)  # a pixel is hot or dead, not both
        self.dead = dead
        if settings.random_init:
            self.acc = (r_init.random(self.n) * float(_ONE)).astype(np.int32)
            np.minimum(self.acc, _MASK, out=self.acc)
        else:
            self.acc = np.zeros(self.n, np.int32)
        self.noise_rng = r_noise
        self.exact_poisson = settings.gain + settings.dark_current < _POISSON_EXACT_BELOW
        # Without threshold spread no pixel can saturate unless gain + dark > threshold.
        self.may_saturate = (settings.gain + settings.dark_current) * float(self.scale.max()) > float(_ONE)

    # ----------------------------------------------------------- conversions
    def charge(self, intensity: np.ndarray) -> np.ndarray:
        """Expected charge per step (e-), float32, same shape as ``intensity``."""
        s = self.settings
        e = np.multiply(intensity, np.float32(s.gain), dtype=np.float32, casting="unsafe")
        if s.dark_current:
            e += np.float32(s.dark_current)
        return e

    def noisy(self, lam: np.ndarray) -> np.ndarray:
        """Shot-noise realisation of the expected charges ``lam`` (float32, e-), in place when possible."""
        if self.exact_poisson:
            return self.noise_rng.poisson(lam).astype(np.float32)
        z = self.noise_rng.standard_normal(lam.shape, dtype=np.float32)
        z *= np.sqrt(lam)
        z += lam
        np.maximum(z, 0, out=z)
        return z

    def fixed_charge(self, intensity: np.ndarray) -> np.ndarray:
        """Noise-free charge per step of ``intensity`` in fixed point (int32), clipped to one threshold."""
        s = self.settings
        if s.dark_current:
            return self.to_fixed(self.charge(intensity))
        k = self.scale[0] * np.float32(s.gain) if self.uniform_scale else self.scale * np.float32(s.gain)
        if self.may_saturate:
            f = np.multiply(intensity, k, dtype=np.float32)
            np.minimum(f, np.float32(_ONE), out=f)
            return f.astype(np.int32)
        # one pass: multiply in float32, truncate into int32 (intensity >= 0, so no clip at 0 is needed)
        out = np.empty(np.shape(intensity), np.int32)
        np.multiply(intensity, k, out=out, dtype=np.float32, casting="unsafe")
        return out

    def to_fixed(self, e: np.ndarray) -> np.ndarray:
        """Charges (e-) to fixed-point threshold units, clipped to one threshold, int32."""
        f = np.multiply(e, self.scale if not self.uniform_scale else self.scale[0], dtype=np.float32)
        np.clip(f, 0, float(_ONE), out=f)
        return f.astype(np.int32)

    # ------------------------------------------------------------------ loops
    def run_array(self, fx: np.ndarray, out: np.ndarray) -> None:
        """Integrate per-step fixed-point charges ``fx`` ``(n, P)``; spikes into bool ``out`` ``(n, P)``."""
        acc = self.acc
        for j in range(fx.shape[0]):
            np.add(acc, fx[j], out=acc)
            np.greater_equal(acc, _ONE, out=out[j])
            np.bitwise_and(acc, _MASK, out=acc)
        self._fix_defects(out)

    def run_ramp(self, f0: np.ndarray, df: np.ndarray | None, n: int, out: np.ndarray) -> None:
        """Integrate a linear charge ramp ``f0 + j * df`` (fixed point, int32) for ``n`` steps."""
        acc = self.acc
        if df is None:
            for j in range(n):
                np.add(acc, f0, out=acc)
                np.greater_equal(acc, _ONE, out=out[j])
                np.bitwise_and(acc, _MASK, out=acc)
        else:
            f = f0.copy()
            for j in range(n):
                np.add(acc, f, out=acc)
                np.greater_equal(acc, _ONE, out=out[j])
                np.bitwise_and(acc, _MASK, out=acc)
                np.add(f, df, out=f)
        self._fix_defects(out[:n])

    def _fix_defects(self, out: np.ndarray) -> None:
        if self.hot is not None and self.hot.size:
            out[:, self.hot] = True
        if self.dead is not None and self.dead.size:
            out[:, self.dead] = False

    # -------------------------------------------------------------- segments
    def key(self, intensity: np.ndarray) -> "_Key":
        """Wrap a flat key image ``(P,)`` float32 so its fixed-point charge is computed once."""
        return _Key(self, intensity)

    def ramp_segment(self, k0: "_Key", k1: "_Key | None", span: int, j0: int, j1: int, out: np.ndarray) -> None:
        """Steps ``[j0, j1)`` of a ``span``-step segment whose intensity goes linearly from ``k0`` to ``k1``.

        ``k0``/``k1`` are key images (see :meth:`key`) at the segment's first
        step and at the step after its last (``k1=None``: constant). Spikes go
        to bool ``out`` ``(j1 - j0, P)``.
        """
        n = j1 - j0
        if n <= 0:
            return
        if k1 is None or span <= 1:
            if self.settings.shot_noise:
                lam = self.charge(np.broadcast_to(k0.intensity, (n, self.n)))
                self.run_array(self.to_fixed(self.noisy(lam)), out)
            else:
                self.run_ramp(k0.fixed, None, n, out)
            return
        if self.settings.shot_noise or self.may_saturate:
            # Per-step charges: noise is drawn per step, and the cap at one threshold is not linear.
            steps = np.arange(j0, j1, dtype=np.float32)[:, None]
            inten = k0.intensity + (k1.intensity - k0.intensity) * (steps / np.float32(span))
            lam = self.charge(inten)
            if self.settings.shot_noise:
                lam = self.noisy(lam)
            self.run_array(self.to_fixed(lam), out)
            return
        # Charge increment per step; truncation costs < 1 unit (2**-24 threshold) per step.
        df = np.subtract(k1.fixed, k0.fixed, dtype=np.float32)
        df *= np.float32(1.0 / span)
        df = df.astype(np.int32)
        f0 = k0.fixed + df * np.int32(j0) if j0 else k0.fixed
        self.run_ramp(f0, df, n, out)

    def frames(self, intensity: np.ndarray, out: np.ndarray) -> None:
        """Integrate per-step intensities ``(n, P)`` float; spikes into bool ``out`` ``(n, P)``."""
        if not self.settings.shot_noise:
            self.run_array(self.fixed_charge(intensity), out)
            return
        self.run_array(self.to_fixed(self.noisy(self.charge(intensity))), out)


class _Key:
    """A key image (flat intensities) and, computed on first use, its fixed-point charge per step."""

    __slots__ = ("px", "intensity", "_fixed")

    def __init__(self, px: _Pixels, intensity: np.ndarray) -> None:
        self.px = px
        self.intensity = intensity
        self._fixed: np.ndarray | None = None

    @property
    def fixed(self) -> np.ndarray:
        if self._fixed is None:
            self._fixed = self.px.fixed_charge(self.intensity)
        return self._fixed


# ======================================================================== fire
def _check_intensity_array(x: Any, name: str = "intensity", *, values: bool = True) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.floating):
        raise TypeError(
            f"{name} must be a float array with values in [0, 1], got dtype {a.dtype}"
            + (" (divide integer images by their maximum, e.g. 255, first)" if np.issubdtype(a.dtype, np.integer) else "")
        )
    if values:
        _check_range(a, name)
    return a


def _check_range(a: np.ndarray, name: str) -> None:
    if a.size:
        lo, hi = float(np.min(a)), float(np.max(a))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if lo < 0 or hi > 1:
            raise ValueError(f"{name} must lie in [0, 1], found values in [{lo:.6g}, {hi:.6g}]")


def fire(intensity: Any, *, settings: CameraSettings = REDS_PRESET, seed: int = 0, chunk: int = 8) -> np.ndarray:
    """Spikes of a camera lit by ``intensity``, one intensity value per readout frame.

    Parameters
    ----------
    intensity:
        Float array ``(T, *S)`` with values in ``[0, 1]``: time first, then any
        trailing shape ``S`` (``(H, W)``, or ``(B, H, W)`` for a training
        batch; each trailing position is one pixel with its own threshold
        spread, hot/dead state and initial charge).
    settings:
        Camera parameters (default :data:`REDS_PRESET`).
    seed:
        Seed of every random draw; the same seed gives identical output.
    chunk:
        Frames converted to fixed point at a time (memory, not results).

    Returns
    -------
    numpy.ndarray
        ``uint8`` 0/1 spikes of the same shape as ``intensity``.

    Examples
    --------
    >>> import numpy as np
    >>> s = fire(np.full((1000, 2, 3), 0.5, np.float32), seed=1)
    >>> s.shape, s.dtype, round(float(s.mean()), 2)
    ((1000, 2, 3), dtype('uint8'), 0.3)
    """
    settings = _check_settings(settings)
    x = _check_intensity_array(intensity, values=False)  # values are checked chunk by chunk (in cache)
    if x.ndim < 1:
        raise ValueError("intensity must have a time axis first, shape (T, ...), got a scalar")
    from .._checks import check_positive_int

    chunk = check_positive_int(chunk, "chunk")
    t = x.shape[0]
    p = int(np.prod(x.shape[1:], dtype=np.int64))
    out = np.zeros((t, p), np.bool_)
    if t == 0 or p == 0:
        return out.view(np.uint8).reshape(x.shape)
    px = _Pixels(settings, p, seed)
    flat = x.reshape(t, p)
    for a in range(0, t, chunk):
        b = min(a + chunk, t)
        block = flat[a:b]
        _check_range(block, "intensity" if a == 0 and b == t else f"intensity[{a}:{b}]")
        px.frames(block, out[a:b])
    return out.view(np.uint8).reshape(x.shape)
