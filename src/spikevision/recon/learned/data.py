"""Training data for the learned reconstructors: moving natural images through the camera model.

Nothing is downloaded: images come from scikit-image's bundled set (those that
ship inside the wheel) and from the procedural textures of the scene generator
(dead leaves, noise, gratings, checkers), zoomed out with an area filter so
crops are as densely textured as real street scenes. Each sample is a
``window``-frame spike window of a ``patch x patch`` crop whose content moves
with a random affine motion (translation up to ``max_speed`` px/frame, small
rotation and zoom), simulated with :func:`spikevision.sim.fire`, together with
the exact intensity at the centre frame and the exact velocity field there.

Key-frame samples (a fraction ``key_frame_fraction``) mimic how REDS-style
benchmark clips are made from ordinary video: the centre frame is a key frame
(an exact crop of the source, no resampling), the other frames are
frame-interpolated from it, i.e. bilinearly resampled at fractional positions
(which softens them), and the velocity changes at the key frame (constant
``m1`` before it, ``m2`` after, ``|m2 - m1|`` up to ``max_kink`` times the speed):
both measured on the sample clips (cross-correlation of 21-frame means along
the clip: a straight-line track on each side of the GT frame, 0.135 then
0.17 px/frame on one clip; constant-velocity simulation of the GT frame loses
1.2 dB to this kink and 1.4 dB more to bilinear softening of the other frames).
Translation only, as there; the motion target is the mean ``(m1 + m2) / 2`` and the
change ``m2 - m1``.

Motion model: the content of frame ``t`` is ``I_t(p) = I(A_t(p))`` with
``A_t(p) = C + s M_t (p - p_c - m dt)``, ``dt = t - t_c``,
``M_t = R(-w dt) / (1 + z dt)``. A point at ``p`` in the centre frame is at
``p_c + m dt + (1 + z dt) R(w dt) (p - p_c)`` in frame ``t``, so its velocity at
the centre is ``m + z r + w (-r_y, r_x)`` with ``r = p - p_c`` (u right, v down).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

__all__ = ["ReconDataConfig", "image_pool", "make_batch"]

#: scikit-image images that ship inside the wheel (no run-time fetch).
POOL_NAMES = (
    "astronaut", "brick", "camera", "cat", "cell", "chelsea", "clock", "coffee", "coins",
    "colorwheel", "grass", "gravel", "hubble_deep_field", "immunohistochemistry", "moon",
    "page", "retina", "rocket", "text", "logo", "horse", "shepp_logan_phantom",
)

#: Further photos that ship inside installed packages but have no ``skimage.data`` loader of their
#: own: (package, path inside it). The stereo pair's left view is an indoor scene dense in
#: man-made detail; matplotlib's sample portrait. Used when ``ReconDataConfig.extra_photos``.
EXTRA_PHOTOS = (
    ("skimage", "data/motorcycle_left.png"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
)

#: scikit-learn's two sample photos (CC BY 2.0, attribution in ``sklearn/datasets/images/README.txt``):
#: a temple among trees and a flower. Used when ``ReconDataConfig.more_photos`` (needs the ``train`` extra).
MORE_PHOTOS = (
    ("sklearn", "datasets/images/china.jpg"),
    ("sklearn", "datasets/images/flower.jpg"),
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
    scale_range: tuple[float, float] = (1.0, 3.0)
    gain_range: tuple[float, float] = (0.5, 1.15)
    low_light_fraction: float = 0.15
    low_light_gain: tuple[float, float] = (0.12, 0.5)
    gamma_range: tuple[float, float] = (0.7, 1.4)
    noisy_fraction: float = 0.15
    min_detail: float = 0.03
    reject_flat: float = 0.8
    procedural: int = 24
    pool: tuple[str, ...] = field(default=POOL_NAMES)
    key_frame_fraction: float = 0.0
    max_kink: float = 0.35
    extra_photos: bool = False
    more_photos: bool = False


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


#: The install extra that brings each photo's package.
_EXTRA_OF = {"skimage": "vision", "matplotlib": "vision", "sklearn": "train"}


def _package_photos(photos: tuple[tuple[str, str], ...]) -> list[np.ndarray]:
    """``photos`` ((package, path inside it), as :data:`EXTRA_PHOTOS`) as grey images; a clear
    error if a package or a file is missing."""
    import importlib.util
    from pathlib import Path

    from PIL import Image

    out = []
    for package, rel in photos:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            extra = _EXTRA_OF.get(package, "all")
            raise RuntimeError(f"the training photo {rel} needs the package {package!r} (install spikevision[{extra}])")
        path = Path(spec.origin).parent / rel
        if not path.is_file():
            raise RuntimeError(f"training photo: {path} is not in this installation of {package}")
        with Image.open(path) as im:
            out.append(_to_gray(np.asarray(im.convert("RGB"))))
    return out


@lru_cache(maxsize=4)
def image_pool(
    names: tuple[str, ...] = POOL_NAMES, procedural: int = 24, extra_photos: bool = False,
    more_photos: bool = False,
) -> tuple[tuple[np.ndarray, ...], ...]:
    """The training images, grey ``float32`` in [0, 1], each as a small pyramid.

    Sources: scikit-image's bundled photos (Rec. 709 luma), with ``extra_photos``
    also :data:`EXTRA_PHOTOS`, with ``more_photos`` also :data:`MORE_PHOTOS`, and
    ``procedural`` textures (dead leaves, noise, gratings, checkers) from
    :func:`spikevision.sim.make_texture`. Entry ``i`` is a tuple of the image
    zoomed out by the factors :data:`LEVELS` (area filter, so no aliasing).
    """
    import cv2
    import skimage.data as d

    from ...sim import make_texture

    imgs = [_to_gray(np.asarray(getattr(d, n)())) for n in names]
    if extra_photos:
        imgs += _package_photos(EXTRA_PHOTOS)
    if more_photos:
        imgs += _package_photos(MORE_PHOTOS)
    kinds = ("dead_leaves", "dead_leaves", "dead_leaves", "noise", "grating", "checker")
    for i in range(procedural):
        tex = make_texture(kinds[i % len(kinds)], size=(384, 384), seed=10_000 + i).raster
        imgs.append(np.clip(np.asarray(tex, np.float32), 0, 1))
    out = []
    for img in imgs:
        h, w = img.shape
        levels = tuple(
            np.ascontiguousarray(img) if f == 1 else cv2.resize(img, (max(1, int(w / f)), max(1, int(h / f))), interpolation=cv2.INTER_AREA)
            for f in LEVELS
        )
        out.append(levels)
    return tuple(out)


#: Zoom-out factors of the image pyramid.
LEVELS = (1.0, 1.5, 2.0, 3.0)


def _detail(img: np.ndarray) -> float:
    """Mean absolute Laplacian: how much fine texture a crop holds (REDS frames: ~0.09-0.13)."""
    lap = img[1:-1, 1:-1] * 4 - img[:-2, 1:-1] - img[2:, 1:-1] - img[1:-1, :-2] - img[1:-1, 2:]
    return float(np.abs(lap).mean())


def _affine(c: np.ndarray, s: float, m: np.ndarray, w: float, z: float, dt: float, pc: np.ndarray) -> np.ndarray:
    """2x3 matrix of ``A_t`` (output pixel -> source pixel), for cv2 WARP_INVERSE_MAP."""
    th = -w * dt
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) / (1.0 + z * dt)
    lin = s * rot
    off = c - lin @ (pc + m * dt)
    return np.hstack([lin, off[:, None]]).astype(np.float64)


def make_sample(rng: np.random.Generator, cfg: ReconDataConfig) -> tuple[np.ndarray, np.ndarray]:
    """Intensity frames ``(window, P, P)`` and motion ``(4, P, P)`` of one moving crop:
    velocity at the centre frame (u, v) and its change there (zero but for key-frame samples).

    Crops with little fine texture are redrawn with probability ``reject_flat``
    (the REDS scenes the models are judged on are dense street scenes).
    """
    for _ in range(8):
        frames, vel = _draw(rng, cfg)
        if len(frames):
            return frames, vel
    return _draw(rng, replace(cfg, reject_flat=0.0))


def _draw(rng: np.random.Generator, cfg: ReconDataConfig) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    pool = image_pool(cfg.pool, cfg.procedural, cfg.extra_photos, cfg.more_photos)
    p, t = cfg.patch, cfg.window
    tc = (t - 1) / 2
    pc = np.array([(p - 1) / 2, (p - 1) / 2])
    levels = pool[rng.integers(len(pool))]
    f = float(np.exp(rng.uniform(np.log(cfg.scale_range[0]), np.log(cfg.scale_range[1]))))
    lvl = int(np.argmin([abs(np.log(f / x)) for x in LEVELS]))
    src = levels[lvl]
    need = (p * 1.6 + 2 * cfg.max_speed * tc + 8)
    while lvl > 0 and min(src.shape) < need:
        lvl -= 1
        src = levels[lvl]
    s = f / LEVELS[lvl] if lvl else max(f, 0.8)
    s = float(np.clip(s, 0.8, 1.25))
    flip_x, transpose = rng.random() < 0.5, rng.random() < 0.3
    still = rng.random() < cfg.still_fraction
    speed = 0.0 if still else rng.uniform(0, cfg.max_speed)
    ang = rng.uniform(0, 2 * np.pi)
    m = np.array([np.cos(ang), np.sin(ang)]) * speed
    w = 0.0 if still else rng.uniform(-cfg.max_rotation, cfg.max_rotation)
    z = 0.0 if still else rng.uniform(-cfg.max_zoom, cfg.max_zoom)
    key = cfg.key_frame_fraction > 0 and rng.random() < cfg.key_frame_fraction
    m_after = m
    if key:  # exact crop at the centre, translation only, velocity kink at the key frame
        s, w, z = 1.0, 0.0, 0.0
        kink = rng.normal(size=2)
        kink *= rng.uniform(0, cfg.max_kink) * speed / max(float(np.hypot(*kink)), 1e-9)
        m, m_after = m - kink / 2, m + kink / 2
    reach = s * (p / 2 + cfg.max_speed * tc + 4) * 1.5
    h, wd = src.shape
    cx = rng.uniform(min(reach, wd / 2), max(wd - reach, wd / 2))
    cy = rng.uniform(min(reach, h / 2), max(h - reach, h / 2))
    c = np.array([cx, cy])
    if key:
        c = np.floor(c - pc) + pc  # the centre frame samples whole source pixels
    gain = rng.uniform(*cfg.low_light_gain) if rng.random() < cfg.low_light_fraction else rng.uniform(*cfg.gain_range)
    gamma = rng.uniform(*cfg.gamma_range)

    def render(i: int) -> np.ndarray:
        a = _affine(c, s, m if i <= tc else m_after, w, z, i - tc, pc)
        return cv2.warpAffine(src, a, (p, p), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)

    frames = np.empty((t, p, p), np.float32)
    frames[t // 2] = render(t // 2)
    if _detail(frames[t // 2]) < cfg.min_detail and rng.random() < cfg.reject_flat:
        return frames[:0], np.empty((2, p, p), np.float32)  # rejected before rendering the rest
    for i in range(t):
        if i != t // 2:
            frames[i] = render(i)
    frames = np.clip(gain * np.power(np.clip(frames, 0, 1), gamma), 0, 1)
    yy, xx = np.mgrid[0:p, 0:p].astype(np.float32)
    rx, ry = xx - pc[0], yy - pc[1]
    mv, dk = (m + m_after) / 2, m_after - m
    vel = np.stack([mv[0] + z * rx - w * ry, mv[1] + z * ry + w * rx,
                    np.full_like(rx, dk[0]), np.full_like(rx, dk[1])]).astype(np.float32)
    if flip_x:  # mirror the rendered sample (and its velocity field)
        frames, vel = frames[:, :, ::-1], vel[:, :, ::-1] * np.array([-1, 1, -1, 1], np.float32)[:, None, None]
    if transpose:
        frames, vel = frames.transpose(0, 2, 1), vel[[1, 0, 3, 2]].transpose(0, 2, 1)
    return np.ascontiguousarray(frames), np.ascontiguousarray(vel)


def make_batch(rng: np.random.Generator, batch: int, cfg: ReconDataConfig, *, settings=None, noisy_settings=None):
    """A batch: spikes ``(B, T, P, P)`` uint8, centre intensity ``(B, 1, P, P)``, motion ``(B, 4, P, P)``."""
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
