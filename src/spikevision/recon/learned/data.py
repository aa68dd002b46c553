"""Training data for the learned reconstructors: moving natural images through the camera model.

Nothing is downloaded: images come from scikit-image's bundled set (those that
ship inside the wheel) and from the synthetic scene generator. Each sample is a
``window``-frame spike window of a ``patch x patch`` crop whose content moves
with a random affine motion (translation up to ``max_speed`` px/frame, small
rotation and zoom), simulated with :func:`spikevision.sim.fire`, together with
the exact intensity at the centre frame and the exact velocity field there.

Motion model: the content of frame ``t`` is ``I_t(p) = I(A_t(p))`` with
``A_t(p) = C + s M_t (p - p_c - m dt)``, ``dt = t - t_c``,
``M_t = R(-w dt) / (1 + z dt)``. A point at ``p`` in the centre frame is at
``p_c + m dt + (1 + z dt) R(w dt) (p - p_c)`` in frame ``t``, so its velocity at
the centre is ``m + z r + w (-r_y, r_x)`` with ``r = p - p_c`` (u right, v down).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

__all__ = ["ReconDataConfig", "image_pool", "make_batch"]

#: scikit-image images that ship inside the wheel (no run-time fetch).
POOL_NAMES = (
    "astronaut", "brick", "camera", "cat", "cell", "chelsea", "clock", "coffee", "coins",
    "colorwheel", "grass", "gravel", "hubble_deep_field", "immunohistochemistry", "moon",
    "page", "retina", "rocket", "text", "logo", "horse", "shepp_logan_phantom",
)


@dataclass(frozen=True)
class ReconDataConfig:
    """How training samples are drawn."""

    patch: int = 64
    window: int = 41
    max_speed: float = 0.45
    still_fraction: float = 0.1
    max_rotation: float = 0.003
    max_zoom: float = 0.003
    scale_range: tuple[float, float] = (0.5, 1.5)
    gain_range: tuple[float, float] = (0.25, 1.1)
    gamma_range: tuple[float, float] = (0.6, 1.6)
    noisy_fraction: float = 0.15
    pool: tuple[str, ...] = field(default=POOL_NAMES)


def _to_gray(img: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype == np.bool_:
        a = a.astype(np.float32)
    a = a.astype(np.float32)
    if a.max() > 1.0:
        a = a / 255.0
    if a.ndim == 3:
        a = a[..., :3]
        if rng is None:
            w = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709 luma
        else:
            w = rng.dirichlet([4.0, 4.0, 4.0]).astype(np.float32)
        a = a @ w
    return np.clip(a, 0, 1)


@lru_cache(maxsize=4)
def image_pool(names: tuple[str, ...] = POOL_NAMES) -> tuple[np.ndarray, ...]:
    """The training images as ``float32`` arrays (colour kept; converted per sample)."""
    import skimage.data as d

    out = []
    for n in names:
        img = np.asarray(getattr(d, n)())
        if img.dtype == np.bool_:
            img = img.astype(np.float32)
        elif img.dtype != np.uint8:
            img = (np.clip(img, 0, 1) * 255).astype(np.uint8)
        out.append(img)
    return tuple(out)


def _affine(c: np.ndarray, s: float, m: np.ndarray, w: float, z: float, dt: float, pc: np.ndarray) -> np.ndarray:
    """2x3 matrix of ``A_t`` (output pixel -> source pixel), for cv2 WARP_INVERSE_MAP."""
    th = -w * dt
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) / (1.0 + z * dt)
    lin = s * rot
    off = c - lin @ (pc + m * dt)
    return np.hstack([lin, off[:, None]]).astype(np.float64)


def make_sample(rng: np.random.Generator, cfg: ReconDataConfig) -> tuple[np.ndarray, np.ndarray]:
    """Intensity frames ``(window, P, P)`` and velocity ``(2, P, P)`` of one moving crop."""
    import cv2

    pool = image_pool(cfg.pool)
    src = _to_gray(pool[rng.integers(len(pool))], rng)
    if rng.random() < 0.5:
        src = src[:, ::-1]
    if rng.random() < 0.3:
        src = src.T
    src = np.ascontiguousarray(src)
    p, t = cfg.patch, cfg.window
    s = float(np.exp(rng.uniform(np.log(cfg.scale_range[0]), np.log(cfg.scale_range[1]))))
    still = rng.random() < cfg.still_fraction
    speed = 0.0 if still else rng.uniform(0, cfg.max_speed)
    ang = rng.uniform(0, 2 * np.pi)
    m = np.array([np.cos(ang), np.sin(ang)]) * speed
    w = 0.0 if still else rng.uniform(-cfg.max_rotation, cfg.max_rotation)
    z = 0.0 if still else rng.uniform(-cfg.max_zoom, cfg.max_zoom)
    tc = (t - 1) / 2
    reach = s * (p / 2 + cfg.max_speed * tc + 4) * 1.5
    h, wd = src.shape
    cx = rng.uniform(min(reach, wd / 2), max(wd - reach, wd / 2))
    cy = rng.uniform(min(reach, h / 2), max(h - reach, h / 2))
    c = np.array([cx, cy])
    pc = np.array([(p - 1) / 2, (p - 1) / 2])
    gain = rng.uniform(*cfg.gain_range)
    gamma = rng.uniform(*cfg.gamma_range)
    frames = np.empty((t, p, p), np.float32)
    for i in range(t):
        a = _affine(c, s, m, w, z, i - tc, pc)
        frames[i] = cv2.warpAffine(src, a, (p, p), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)
    frames = np.clip(gain * np.power(np.clip(frames, 0, 1), gamma), 0, 1)
    yy, xx = np.mgrid[0:p, 0:p].astype(np.float32)
    rx, ry = xx - pc[0], yy - pc[1]
    vel = np.stack([m[0] + z * rx - w * ry, m[1] + z * ry + w * rx]).astype(np.float32)
    return frames, vel


def make_batch(rng: np.random.Generator, batch: int, cfg: ReconDataConfig, *, settings=None, noisy_settings=None):
    """A batch: spikes ``(B, T, P, P)`` uint8, centre intensity ``(B, 1, P, P)``, velocity ``(B, 2, P, P)``."""
    from ...sim import REDS_PRESET, fire

    settings = settings or REDS_PRESET
    samples = [make_sample(rng, cfg) for _ in range(batch)]
    inten = np.stack([f for f, _ in samples], 1)  # (T, B, P, P)
    vel = np.stack([v for _, v in samples])
    seed = int(rng.integers(2**31))
    spikes = fire(inten, settings=settings, seed=seed)
    n_noisy = int(round(cfg.noisy_fraction * batch))
    if n_noisy and noisy_settings is not None:
        spikes[:, :n_noisy] = fire(inten[:, :n_noisy], settings=noisy_settings, seed=seed + 1)
    tc = cfg.window // 2
    return np.ascontiguousarray(spikes.transpose(1, 0, 2, 3)), inten[tc][:, None].copy(), vel
