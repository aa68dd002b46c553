"""Training data for the learned codes: still (or slowly drifting) scenes through the camera model.

Nothing is downloaded. Images come from scikit-image's bundled set *minus*
:data:`HELD_OUT` (kept for evaluation) and from procedural textures (random
smooth fields, edges, stripes and blobs). A sample is a random ``patch x
patch`` crop (random scale, flips, transpose, gain and gamma), held still or
drifting at up to ``max_speed`` px/frame for a ``window``-frame spike window
simulated with :func:`spikevision.sim.fire`; the target is the intensity at
the centre frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["CommDataConfig", "TRAIN_IMAGES", "HELD_OUT", "training_pool", "texture", "draw_sample", "make_batch", "held_out_images"]

#: Bundled scikit-image images used for training.
TRAIN_IMAGES = (
    "brick", "cat", "cell", "chelsea", "clock", "coins", "colorwheel", "grass", "gravel",
    "hubble_deep_field", "immunohistochemistry", "moon", "page", "retina", "rocket", "text", "horse",
)
#: Images never used in training (evaluation only): three scikit-image photos and matplotlib's sample portrait.
HELD_OUT = ("camera", "astronaut", "coffee", "matplotlib:grace_hopper")


@dataclass(frozen=True)
class CommDataConfig:
    """How training samples are drawn."""

    patch: int = 64
    window: int = 41
    texture_fraction: float = 0.25
    motion_fraction: float = 0.3
    max_speed: float = 0.4
    scale_range: tuple[float, float] = (0.4, 1.2)
    gain_range: tuple[float, float] = (0.3, 1.0)
    gamma_range: tuple[float, float] = (0.7, 1.4)


def _gray(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img)
    a = a.astype(np.float32) / (255.0 if a.dtype == np.uint8 else 1.0)
    if a.ndim == 3:
        a = a[..., :3] @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    return np.clip(a, 0, 1).astype(np.float32)


def _load(name: str) -> np.ndarray:
    if name.startswith("matplotlib:"):
        import matplotlib.cbook as cbook

        with cbook.get_sample_data(name.split(":", 1)[1] + ".jpg") as fh:
            from PIL import Image

            return _gray(np.asarray(Image.open(fh).convert("L")))
    import skimage.data as d

    img = np.asarray(getattr(d, name)())
    if img.dtype == np.bool_:
        img = img.astype(np.float32)
    return _gray(img)


@lru_cache(maxsize=2)
def training_pool(names: tuple[str, ...] = TRAIN_IMAGES) -> tuple[np.ndarray, ...]:
    """The training images as gray ``float32`` arrays in ``[0, 1]``."""
    return tuple(_load(n) for n in names)


def held_out_images() -> dict[str, np.ndarray]:
    """The evaluation images :data:`HELD_OUT` as gray ``float32`` arrays (name -> image)."""
    return {n.split(":")[-1]: _load(n) for n in HELD_OUT}


def texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A procedural ``size x size`` texture in ``[0, 1]``: smooth field + edges/stripes/blobs."""
    import cv2

    k = int(rng.integers(2, 9))
    field = cv2.resize(rng.random((k, k)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for _ in range(int(rng.integers(1, 5))):
        kind = rng.integers(3)
        a, b = rng.uniform(-1, 1, 2)
        if kind == 0:  # edge
            field += rng.uniform(-0.6, 0.6) * ((a * (xx - 0.5) + b * (yy - 0.5)) > rng.uniform(-0.3, 0.3))
        elif kind == 1:  # stripes
            f = rng.uniform(2, 20)
            field += rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * f * (a * xx + b * yy) + rng.uniform(0, 6.3))
        else:  # blob
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
            field += rng.uniform(-0.6, 0.6) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    field -= field.min()
    return (field / max(float(field.max()), 1e-6)).astype(np.float32)


def draw_sample(rng: np.random.Generator, cfg: CommDataConfig) -> np.ndarray:
    """Intensity frames ``(window, P, P)`` float32 in [0, 1] of one crop (still or drifting)."""
    import cv2

    p, t = cfg.patch, cfg.window
    if rng.random() < cfg.texture_fraction:
        src = texture(rng, 2 * p)
    else:
        pool = training_pool()
        src = pool[rng.integers(len(pool))]
    if rng.random() < 0.5:
        src = src[:, ::-1]
    if rng.random() < 0.3:
        src = src.T
    src = np.ascontiguousarray(src)
    s = float(np.exp(rng.uniform(*np.log(cfg.scale_range))))  # source pixels per output pixel
    speed = rng.uniform(0, cfg.max_speed) if rng.random() < cfg.motion_fraction else 0.0
    ang = rng.uniform(0, 2 * np.pi)
    m = np.array([np.cos(ang), np.sin(ang)]) * speed
    reach = s * (p / 2 + cfg.max_speed * t / 2 + 2)
    h, w = src.shape
    cx = rng.uniform(min(reach, w / 2), max(w - reach, w / 2))
    cy = rng.uniform(min(reach, h / 2), max(h - reach, h / 2))
    pc = (p - 1) / 2
    gain, gamma = rng.uniform(*cfg.gain_range), rng.uniform(*cfg.gamma_range)
    frames = np.empty((t, p, p), np.float32)
    tc = (t - 1) / 2
    for i in range(t):
        if i > 0 and speed == 0.0:
            frames[i] = frames[0]
            continue
        off = np.array([cx, cy]) - s * (np.array([pc, pc]) + m * (i - tc))
        a = np.array([[s, 0, off[0]], [0, s, off[1]]], np.float64)
        frames[i] = cv2.warpAffine(src, a, (p, p), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_REFLECT)
    return np.clip(gain * np.power(np.clip(frames, 0, 1), gamma), 0, 1).astype(np.float32)


def make_batch(rng: np.random.Generator, batch: int, cfg: CommDataConfig = CommDataConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Spikes ``(B, window, P, P)`` uint8 and centre-frame intensity ``(B, 1, P, P)`` float32."""
    from ..sim import REDS_PRESET, fire

    inten = np.stack([draw_sample(rng, cfg) for _ in range(batch)], 1)  # (T, B, P, P)
    spikes = fire(inten, settings=REDS_PRESET, seed=int(rng.integers(2**31)))
    return np.ascontiguousarray(spikes.transpose(1, 0, 2, 3)), inten[cfg.window // 2][:, None].copy()
