"""Synthetic moving scenes with exact intensity and exact optical flow.

A :class:`Scene` is a background plus textured layers stacked back to front.
Each layer is a shape (ellipse, convex polygon or star-shaped blob) filled
with a texture (dead leaves, gradient, grating, smooth noise, checkerboard or
a natural-image patch) and moved by a :class:`Motion`: translation, rotation
and scaling, each linear in time (scale exponential). Layers occlude what is
behind them.

Conventions (stated here and only here)
---------------------------------------
* Time ``t`` is in spike frames (float); the scene is defined for every ``t``.
* Pixel ``(row r, column c)`` is the point ``x = c, y = r`` (its centre);
  ``y`` grows downwards. Flow is ``(u, v) = (dx, dy)`` in pixels: ``u`` to the
  right, ``v`` down, stored as ``flow[..., 0] = u``, ``flow[..., 1] = v``.
* A layer maps its local coordinates ``p`` to the image by
  ``x(t) = c(t) + s(t) R(a(t)) p`` with ``c(t) = c_ref + velocity (t - t_ref)``,
  ``a(t) = angle + angular_velocity (t - t_ref)`` (radians, clockwise on screen
  since ``y`` points down) and ``s(t) = scale * exp(scale_rate (t - t_ref))``.
* ``intensity(t)`` samples, at each pixel centre, the texture of the front-most
  layer covering it (point sampling, bilinear texture interpolation with
  mirrored borders) times the scene ``brightness``: values in ``[0, 1]``.
* ``flow(t0, t1)``: for the pixel ``x`` at ``t0`` and the front-most layer ``L``
  covering it, ``flow = x_L(t1; p) - x`` with ``p`` the local point under ``x``
  at ``t0``: the exact forward motion of that surface point. ``valid`` is true
  where that point is still visible at ``t1``: it lands inside the image
  (``0 <= x <= W - 1``, ``0 <= y <= H - 1``) and ``L`` is the front-most layer
  there. Hence ``intensity(t1)`` at ``x + flow`` equals ``intensity(t0)`` at ``x``
  on valid pixels (exactly at the landing point; bilinear warping adds the
  interpolation error of the texture between pixel centres).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._checks import check_positive_int

__all__ = [
    "Motion",
    "Shape",
    "Texture",
    "Layer",
    "Scene",
    "TEXTURES",
    "SHAPES",
    "make_texture",
    "random_scene",
    "warp_backward",
]

TEXTURES = ("dead_leaves", "gradient", "grating", "noise", "checker", "natural")
SHAPES = ("ellipse", "polygon", "blob")
#: skimage.data images that ship inside the package (no download), read as files.
_NATURAL_FILES = ("camera.png", "astronaut.png", "coffee.png", "chelsea.png", "brick.png", "grass.png",
                  "gravel.png", "moon.png", "coins.png", "rocket.jpg", "motorcycle_left.png", "page.png")


def _check_time(t: Any, name: str = "t") -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number (spike frames), got {type(t).__name__} {t!r}")
    v = float(t)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


# ====================================================================== motion
@dataclass(frozen=True)
class Motion:
    """Similarity motion of a layer, linear in time (scale exponential). Units: px, rad, frames."""

    center: tuple[float, float] = (0.0, 0.0)
    velocity: tuple[float, float] = (0.0, 0.0)
    angle: float = 0.0
    angular_velocity: float = 0.0
    scale: float = 1.0
    scale_rate: float = 0.0
    t_ref: float = 0.0

    def __post_init__(self) -> None:
        vals = [*self.center, *self.velocity, self.angle, self.angular_velocity, self.scale, self.scale_rate, self.t_ref]
        if not all(math.isfinite(float(v)) for v in vals):
            raise ValueError(f"motion parameters must be finite, got {self}")
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")

    def at(self, t: float) -> tuple[float, float, float, float]:
        """``(cx, cy, angle, scale)`` at time ``t``."""
        dt = t - self.t_ref
        return (self.center[0] + self.velocity[0] * dt, self.center[1] + self.velocity[1] * dt,
                self.angle + self.angular_velocity * dt, self.scale * math.exp(self.scale_rate * dt))

    def to_image(self, px: np.ndarray, py: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Local points ``(px, py)`` to image coordinates at time ``t``."""
        cx, cy, a, s = self.at(t)
        ca, sa = s * math.cos(a), s * math.sin(a)
        return cx + ca * px - sa * py, cy + sa * px + ca * py

    def to_local(self, x: np.ndarray, y: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Image points ``(x, y)`` at time ``t`` to local coordinates."""
        cx, cy, a, s = self.at(t)
        ca, sa = math.cos(a) / s, math.sin(a) / s
        dx, dy = x - cx, y - cy
        return ca * dx + sa * dy, -sa * dx + ca * dy

    def params(self) -> dict[str, Any]:
        return {"center": list(map(float, self.center)), "velocity": list(map(float, self.velocity)),
                "angle": float(self.angle), "angular_velocity": float(self.angular_velocity),
                "scale": float(self.scale), "scale_rate": float(self.scale_rate), "t_ref": float(self.t_ref)}


# ======================================================================= shape
@dataclass(frozen=True, eq=False)
class Shape:
    """A region in local coordinates: ``plane`` (everything), ``ellipse``, convex ``polygon`` or ``blob``.

    ``params``: ellipse ``(a, b)`` semi-axes; polygon ``(N, 2)`` vertices of a
    convex polygon in order (either orientation); blob ``(r0,
    amplitudes, phases)`` with boundary radius ``r0 (1 + sum_k A_k cos(k phi + P_k))``.
    """

    kind: str
    params: Any = None

    def __post_init__(self) -> None:
        if self.kind not in ("plane", *SHAPES):
            raise ValueError(f"unknown shape kind {self.kind!r}; expected 'plane' or one of {SHAPES}")
        if self.kind == "ellipse":
            a, b = (float(v) for v in self.params)
            if not (a > 0 and b > 0):
                raise ValueError(f"ellipse semi-axes must be > 0, got {self.params}")
        elif self.kind == "polygon":
            v = np.asarray(self.params, np.float64)
            if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3 or not np.isfinite(v).all():
                raise ValueError(f"polygon vertices must be a finite (N >= 3, 2) array, got shape {v.shape}")
            x, y = v.T
            area = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
            if area == 0:
                raise ValueError("polygon has zero area")
            # store the vertices in the orientation contains() expects (positive signed area)
            object.__setattr__(self, "params", v if area > 0 else v[::-1].copy())

    @property
    def radius(self) -> float:
        """Bounding radius (``inf`` for the plane)."""
        if self.kind == "plane":
            return math.inf
        if self.kind == "ellipse":
            return float(max(self.params))
        if self.kind == "polygon":
            return float(np.hypot(*np.asarray(self.params).T).max())
        r0, amp, _ = self.params
        return float(r0 * (1 + np.abs(amp).sum()))

    def contains(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Boolean mask of local points inside the shape."""
        if self.kind == "plane":
            return np.ones(np.shape(px), bool)
        if self.kind == "ellipse":
            a, b = self.params
            return (px / a) ** 2 + (py / b) ** 2 <= 1.0
        if self.kind == "polygon":
            v = np.asarray(self.params)
            inside = np.ones(np.shape(px), bool)
            for i in range(len(v)):
                x0, y0 = v[i]
                x1, y1 = v[(i + 1) % len(v)]
                inside &= (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0) >= 0
            return inside
        if self.kind == "blob":
            r0, amp, ph = self.params
            phi = np.arctan2(py, px)
            r = np.ones_like(phi)
            for k, (a, p) in enumerate(zip(amp, ph), start=2):
                r += a * np.cos(k * phi + p)
            return np.hypot(px, py) <= r0 * r
        raise ValueError(f"unknown shape kind {self.kind!r}; expected plane or one of {SHAPES}")

    def describe(self) -> dict[str, Any]:
        p = self.params
        if self.kind == "blob":
            p = [float(p[0]), np.asarray(p[1]).tolist(), np.asarray(p[2]).tolist()]
        elif p is not None:
            p = np.asarray(p, float).tolist()
        return {"kind": self.kind, "params": p}


# ===================================================================== texture
def _reflect(u: np.ndarray, n: int) -> np.ndarray:
    """Mirror coordinates into ``[0, n - 1]`` (continuous, period ``2 (n - 1)``)."""
    if n == 1:
        return np.zeros_like(u)
    period = 2.0 * (n - 1)
    m = np.mod(u, period)
    return np.where(m > n - 1, period - m, m)


def _bilinear(img: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``img`` at real row/col coordinates already inside ``[0, n - 1]``."""
    h, w = img.shape
    r0 = np.minimum(np.floor(r).astype(np.intp), h - 1)
    c0 = np.minimum(np.floor(c).astype(np.intp), w - 1)
    fr = (r - r0).astype(np.float32)
    fc = (c - c0).astype(np.float32)
    r1 = np.minimum(r0 + 1, h - 1)
    c1 = np.minimum(c0 + 1, w - 1)
    flat = img.ravel()
    a = flat[r0 * w + c0]
    b = flat[r0 * w + c1]
    cc = flat[r1 * w + c0]
    d = flat[r1 * w + c1]
    top = a + (b - a) * fc
    bot = cc + (d - cc) * fc
    return top + (bot - top) * fr


@dataclass(frozen=True, eq=False)
class Texture:
    """A raster ``(h, w)`` float32 in ``[0, 1]`` laid on a layer's local plane, mirrored at its borders.

    Local point ``p = (px, py)`` reads texel ``(py / texel + (h - 1) / 2, px / texel + (w - 1) / 2)``.
    """

    raster: np.ndarray
    kind: str = "raster"
    texel: float = 1.0

    def __post_init__(self) -> None:
        r = np.asarray(self.raster)
        if r.ndim != 2 or r.size == 0 or r.dtype != np.float32:
            raise ValueError(f"texture raster must be a non-empty (h, w) float32 array, got {r.dtype} {r.shape}")
        if self.texel <= 0:
            raise ValueError(f"texel must be > 0, got {self.texel}")

    def sample(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Texture values (float32) at local points."""
        h, w = self.raster.shape
        r = _reflect(py / self.texel + (h - 1) / 2, h)
        c = _reflect(px / self.texel + (w - 1) / 2, w)
        return _bilinear(self.raster, r, c)


def _normalise(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    # random contrast window inside [0, 1]
    c = rng.uniform(0.35, 1.0)
    b = rng.uniform(0.0, 1.0 - c)
    return (b + c * a).astype(np.float32)


def _dead_leaves(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    img = np.full((h, w), rng.random(), np.float32)
    rmin, rmax = 1.5, max(3.0, min(h, w) / 4)
    n = int(min(600, 6 * h * w / (math.pi * (2 * rmin) ** 2)))
    u = rng.random(n)
    radii = (rmin ** -2 - u * (rmin ** -2 - rmax ** -2)) ** -0.5
    cy = rng.uniform(-rmax, h + rmax, n)
    cx = rng.uniform(-rmax, w + rmax, n)
    vals = rng.random(n).astype(np.float32)
    for r, y, x, v in zip(radii, cy, cx, vals):
        r0, r1 = max(0, int(y - r)), min(h, int(y + r) + 2)
        c0, c1 = max(0, int(x - r)), min(w, int(x + r) + 2)
        if r0 >= r1 or c0 >= c1:
            continue
        yy, xx = np.ogrid[r0:r1, c0:c1]
        m = (yy - y) ** 2 + (xx - x) ** 2 <= r * r
        img[r0:r1, c0:c1][m] = v
    return img


def _gradient(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * math.pi)
    g = np.cos(a) * xx + np.sin(a) * yy
    if rng.random() < 0.5:  # add a radial component
        g = g + rng.uniform(-1, 1) * np.hypot(xx - rng.uniform(0, w), yy - rng.uniform(0, h))
    return g


def _grating(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = np.zeros((h, w), np.float32)
    for _ in range(rng.integers(1, 4)):
        f = rng.uniform(1 / 40, 1 / 6)
        a = rng.uniform(0, math.pi)
        g += rng.uniform(0.3, 1.0) * np.cos(2 * math.pi * f * (np.cos(a) * xx + np.sin(a) * yy) + rng.uniform(0, 2 * math.pi))
    return g


def _noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    g = np.zeros((h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    amp = 1.0
    cell = rng.uniform(12, 40)
    while cell >= 1.5:
        gh, gw = int(h / cell) + 2, int(w / cell) + 2
        grid = rng.random((gh, gw)).astype(np.float32)
        g += amp * _bilinear(grid, np.minimum(yy / cell, gh - 1), np.minimum(xx / cell, gw - 1))
        amp *= rng.uniform(0.4, 0.65)
        cell /= 2
    return g


def _checker(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    s = rng.uniform(4, 24)
    yy, xx = np.mgrid[0:h, 0:w]
    return ((np.floor(yy / s) + np.floor(xx / s)) % 2).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _natural_images() -> tuple[np.ndarray, ...]:
    """Grey images bundled with scikit-image (read from its package folder; empty when unavailable)."""
    try:
        import skimage.data
        from PIL import Image
    except ImportError:
        return ()
    root = Path(skimage.data.__file__).parent
    out = []
    for name in _NATURAL_FILES:
        p = root / name
        if p.is_file():
            try:
                with Image.open(p) as im:
                    out.append(np.asarray(im.convert("L"), np.float32) / 255.0)
            except OSError:
                continue
    return tuple(out)


def _natural(rng: np.random.Generator, h: int, w: int) -> np.ndarray | None:
    imgs = _natural_images()
    if not imgs:
        return None
    img = imgs[rng.integers(len(imgs))]
    if img.shape[0] < h or img.shape[1] < w:
        reps = (-(-h // img.shape[0]), -(-w // img.shape[1]))
        img = np.tile(img, reps)
    r = rng.integers(0, img.shape[0] - h + 1)
    c = rng.integers(0, img.shape[1] - w + 1)
    patch = img[r:r + h, c:c + w]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return np.ascontiguousarray(patch)


_GENERATORS = {"dead_leaves": _dead_leaves, "gradient": _gradient, "grating": _grating,
               "noise": _noise, "checker": _checker, "natural": _natural}


def make_texture(kind: str, *, size: tuple[int, int], seed: int | np.random.Generator = 0) -> Texture:
    """A random texture of ``kind`` (one of :data:`TEXTURES`), raster ``size = (h, w)``.

    ``natural`` crops a grey image bundled with scikit-image; without
    scikit-image/Pillow it falls back to ``dead_leaves`` (``Texture.kind`` says which).
    """
    if kind not in _GENERATORS:
        raise ValueError(f"unknown texture {kind!r}; expected one of {TEXTURES}")
    h, w = (check_positive_int(int(v), "texture size") for v in size)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    raw = _GENERATORS[kind](rng, h, w)
    if raw is None:
        kind, raw = "dead_leaves", _dead_leaves(rng, h, w)
    return Texture(_normalise(raw, rng), kind=kind)


# ======================================================================= layer
@dataclass(frozen=True, eq=False)
class Layer:
    """A textured shape moving with a :class:`Motion`."""

    shape: Shape
    texture: Texture
    motion: Motion

    def describe(self) -> dict[str, Any]:
        return {"shape": self.shape.describe(), "texture": self.texture.kind,
                "texture_size": list(self.texture.raster.shape), "texel": float(self.texture.texel),
                "motion": self.motion.params()}

    def bbox(self, t: float, height: int, width: int) -> tuple[int, int, int, int] | None:
        """Rows ``[r0, r1)`` and columns ``[c0, c1)`` that may be covered at ``t`` (``None`` if none)."""
        cx, cy, _, s = self.motion.at(t)
        rad = self.shape.radius * s + 1.0
        if not math.isfinite(rad):
            return 0, height, 0, width
        r0, r1 = max(0, math.floor(cy - rad)), min(height, math.ceil(cy + rad) + 1)
        c0, c1 = max(0, math.floor(cx - rad)), min(width, math.ceil(cx + rad) + 1)
        if r0 >= r1 or c0 >= c1:
            return None
        return r0, r1, c0, c1


# ======================================================================= scene
@dataclass(frozen=True, eq=False)
class Scene:
    """A background and layers (back to front) with exact intensity and flow at any time.

    Examples
    --------
    >>> sc = random_scene(seed=3, height=64, width=96)
    >>> img = sc.intensity(10.0)                 # (64, 96) float32 in [0, 1]
    >>> flow, valid = sc.flow(10.0, 30.0)        # (64, 96, 2) px, (64, 96) bool
    >>> img.shape, flow.shape, valid.dtype
    ((64, 96), (64, 96, 2), dtype('bool'))
    """

    height: int
    width: int
    background: Layer
    layers: tuple[Layer, ...] = ()
    brightness: float = 1.0
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_positive_int(self.height, "height")
        check_positive_int(self.width, "width")
        if not (0 < float(self.brightness) <= 1):
            raise ValueError(f"brightness must be in (0, 1], got {self.brightness}")
        if self.background.shape.kind != "plane":
            raise ValueError(f"the background must be a 'plane' layer, got {self.background.shape.kind!r}")

    @functools.cached_property
    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        y, x = np.mgrid[0:self.height, 0:self.width].astype(np.float64)
        return x, y

    @property
    def all_layers(self) -> tuple[Layer, ...]:
        """Background first, then the layers back to front (label ``i`` is ``all_layers[i]``)."""
        return (self.background, *self.layers)

    def __call__(self, t: float) -> np.ndarray:
        """Same as :meth:`intensity`, so a scene is a callable source for :func:`~spikevision.sim.simulate`."""
        return self.intensity(t)

    @functools.cached_property
    def _static_background(self) -> np.ndarray | None:
        m = self.background.motion
        if m.velocity[0] != 0 or m.velocity[1] != 0 or m.angular_velocity != 0 or m.scale_rate != 0:
            return None
        x, y = self._grid
        return self.background.texture.sample(*m.to_local(x, y, m.t_ref)).reshape(self.height, self.width)

    def _background_values(self, t: float) -> np.ndarray:
        static = self._static_background
        if static is not None:
            return static.copy()
        x, y = self._grid
        bg = self.background
        return bg.texture.sample(*bg.motion.to_local(x, y, t)).reshape(self.height, self.width)

    def _render(self, t: float, want_values: bool) -> tuple[np.ndarray | None, np.ndarray]:
        x, y = self._grid
        h, w = self.height, self.width
        labels = np.zeros((h, w), np.int16)
        vals = None
        if want_values:
            vals = self._background_values(t)
        for i, layer in enumerate(self.layers, start=1):
            box = layer.bbox(t, h, w)
            if box is None:
                continue
            r0, r1, c0, c1 = box
            px, py = layer.motion.to_local(x[r0:r1, c0:c1], y[r0:r1, c0:c1], t)
            m = layer.shape.contains(px, py)
            if not m.any():
                continue
            labels[r0:r1, c0:c1][m] = i
            if want_values:
                vals[r0:r1, c0:c1][m] = layer.texture.sample(px[m], py[m])
        return vals, labels

    def intensity(self, t: float) -> np.ndarray:
        """The scene at time ``t`` (spike frames): ``(H, W)`` float32 in ``[0, 1]``, exact."""
        vals, _ = self._render(_check_time(t), True)
        out = vals * np.float32(self.brightness)
        return np.clip(out, 0.0, 1.0, out=out).astype(np.float32, copy=False)

    def labels(self, t: float) -> np.ndarray:
        """Index of the front-most layer at each pixel at ``t`` (0 = background), ``(H, W)`` int16."""
        return self._render(_check_time(t), False)[1]

    def labels_at(self, x: np.ndarray, y: np.ndarray, t: float) -> np.ndarray:
        """Front-most layer index at arbitrary image points ``(x, y)`` at time ``t``."""
        t = _check_time(t)
        lab = np.zeros(np.shape(x), np.int16)
        for i, layer in enumerate(self.layers, start=1):
            lab[layer.shape.contains(*layer.motion.to_local(x, y, t))] = i
        return lab

    def flow(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Exact forward optical flow from ``t0`` to ``t1`` and its validity mask.

        Returns
        -------
        flow : (H, W, 2) float32
            Displacement in pixels of the surface point seen at each pixel at
            ``t0``: ``flow[..., 0]`` = u (right), ``flow[..., 1]`` = v (down).
        valid : (H, W) bool
            The point is inside the image and not occluded at ``t1``.
        """
        t0, t1 = _check_time(t0, "t0"), _check_time(t1, "t1")
        x, y = self._grid
        lab0 = self.labels(t0)
        x1 = np.empty_like(x)
        y1 = np.empty_like(y)
        for i, layer in enumerate(self.all_layers):
            m = lab0 == i
            if not m.any():
                continue
            px, py = layer.motion.to_local(x[m], y[m], t0)
            x1[m], y1[m] = layer.motion.to_image(px, py, t1)
        h, w = self.height, self.width
        inside = (x1 >= 0) & (x1 <= w - 1) & (y1 >= 0) & (y1 <= h - 1)
        valid = inside & (self.labels_at(x1, y1, t1) == lab0)
        flow = np.stack([x1 - x, y1 - y], axis=-1).astype(np.float32)
        return flow, valid

    def crop(self, top: int, left: int, height: int, width: int) -> "Scene":
        """The ``height x width`` window of this scene whose top-left pixel is ``(top, left)``.

        Every layer is the same, only its motion is moved by ``(-left, -top)``:
        the window's intensity is exactly the same pixels of the full scene, and
        its flow the same displacements (a point is valid while it stays inside
        the window), at the rendering cost of the window alone.
        """
        top, left = int(top), int(left)
        height, width = check_positive_int(height, "height"), check_positive_int(width, "width")
        if top < 0 or left < 0 or top + height > self.height or left + width > self.width:
            raise ValueError(f"crop ({top}, {left}, {height}, {width}) is not inside the "
                             f"{self.height} x {self.width} scene")

        def moved(layer: Layer) -> Layer:
            m = layer.motion
            return replace(layer, motion=replace(m, center=(m.center[0] - left, m.center[1] - top)))

        return replace(self, height=height, width=width, background=moved(self.background),
                       layers=tuple(moved(la) for la in self.layers),
                       info={**self.info, "crop": [top, left, height, width]})

    def frames(self, times: Sequence[float]) -> np.ndarray:
        """Intensities at several times, ``(N, H, W)`` float32."""
        ts = list(times)
        out = np.empty((len(ts), self.height, self.width), np.float32)
        for k, t in enumerate(ts):
            out[k] = self.intensity(t)
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable description (parameters, not texture rasters)."""
        return {"height": self.height, "width": self.width, "brightness": float(self.brightness),
                "background": self.background.describe(), "layers": [la.describe() for la in self.layers],
                **self.info}


# ============================================================== random scenes
def _range(v: Any, name: str) -> tuple[float, float]:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return float(v), float(v)
    try:
        lo, hi = (float(x) for x in v)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a (low, high) pair, got {v!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError(f"{name} must be a finite (low, high) pair with low <= high, got {v!r}")
    return lo, hi


def _random_shape(rng: np.random.Generator, kind: str, r: float) -> Shape:
    if kind == "ellipse":
        return Shape("ellipse", (r, r * rng.uniform(0.45, 1.0)))
    if kind == "polygon":
        n = int(rng.integers(3, 9))
        ang = np.sort(rng.uniform(0, 2 * math.pi, n))
        b = r * rng.uniform(0.5, 1.0)
        # points on an ellipse taken by increasing angle form a convex polygon
        return Shape("polygon", np.stack([r * np.cos(ang), b * np.sin(ang)], 1))
    if kind == "blob":
        k = int(rng.integers(2, 5))
        amp = rng.uniform(0.03, 0.25, k) / np.arange(1, k + 1)
        return Shape("blob", (r / (1 + amp.sum()), amp, rng.uniform(0, 2 * math.pi, k)))
    raise ValueError(f"unknown shape {kind!r}; expected one of {SHAPES}")


def random_scene(
    seed: int = 0,
    height: int = 256,
    width: int = 256,
    *,
    n_layers: int | tuple[int, int] = (2, 6),
    max_speed: float = 10.0,
    max_rotation: float = 4.0,
    max_zoom: float = 0.04,
    textures: Sequence[str] = TEXTURES,
    shapes: Sequence[str] = SHAPES,
    brightness: float | tuple[float, float] | None = None,
    low_light_fraction: float = 0.2,
    moving_background: float = 0.5,
    duration: float = 400.0,
) -> Scene:
    """A random moving scene; every choice is drawn from ``seed``.

    Parameters
    ----------
    seed:
        Seed of all random choices (same seed and arguments → same scene).
    height, width:
        Image size in pixels.
    n_layers:
        Number of moving layers, or an inclusive ``(low, high)`` range.
    max_speed:
        Largest layer speed in pixels per 20 spike frames (speeds are uniform in
        ``[0, max_speed]``; 10 px / 20 frames is fast for real high-speed scenes).
    max_rotation:
        Largest rotation speed in degrees per 20 frames.
    max_zoom:
        Largest relative scale change per 20 frames (0.04 = 4 %).
    textures, shapes:
        Kinds to draw from (:data:`TEXTURES`, :data:`SHAPES`).
    brightness:
        Scene brightness (multiplies all intensities), a number or ``(low,
        high)`` range; ``None`` draws low light (0.03-0.2) with probability
        ``low_light_fraction`` and normal light (0.5-1.0) otherwise.
    moving_background:
        Probability that the background pans (camera motion, up to
        ``max_speed / 2``).
    duration:
        Frames the scene is designed for: layers are placed so that they are
        inside the image at ``t = duration / 2``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    height = check_positive_int(height, "height")
    width = check_positive_int(width, "width")
    lo_n, hi_n = _range(n_layers, "n_layers")
    if lo_n < 0 or lo_n != int(lo_n) or hi_n != int(hi_n):
        raise ValueError(f"n_layers must be non-negative integers, got {n_layers!r}")
    for name, v in (("max_speed", max_speed), ("max_rotation", max_rotation), ("max_zoom", max_zoom),
                    ("duration", duration)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    for name, v in (("low_light_fraction", low_light_fraction), ("moving_background", moving_background)):
        if not (0 <= float(v) <= 1):
            raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
    textures = tuple(textures)
    shapes = tuple(shapes)
    if not textures or any(k not in TEXTURES for k in textures):
        raise ValueError(f"textures must be a non-empty subset of {TEXTURES}, got {textures}")
    if not shapes or any(k not in SHAPES for k in shapes):
        raise ValueError(f"shapes must be a non-empty subset of {SHAPES}, got {shapes}")

    rng = np.random.default_rng(seed)
    t_ref = float(duration) / 2
    if brightness is None:
        br = rng.uniform(0.03, 0.2) if rng.random() < low_light_fraction else rng.uniform(0.5, 1.0)
    else:
        blo, bhi = _range(brightness, "brightness")
        if not (0 < blo <= bhi <= 1):
            raise ValueError(f"brightness must lie in (0, 1], got {brightness!r}")
        br = rng.uniform(blo, bhi)

    def velocity(vmax: float) -> tuple[float, float]:
        speed = rng.uniform(0, vmax) / 20.0
        a = rng.uniform(0, 2 * math.pi)
        return speed * math.cos(a), speed * math.sin(a)

    # Background: a large texture, static or panning.
    margin = int(max_speed / 20 * duration / 2) + 8 if moving_background > 0 else 8
    bg_kind = str(rng.choice(textures))
    bg_tex = make_texture(bg_kind, size=(height + 2 * margin, width + 2 * margin), seed=rng)
    bg_vel = velocity(max_speed / 2) if rng.random() < moving_background else (0.0, 0.0)
    background = Layer(Shape("plane"), bg_tex,
                       Motion(center=((width - 1) / 2, (height - 1) / 2), velocity=bg_vel, t_ref=t_ref))

    n = int(rng.integers(int(lo_n), int(hi_n) + 1))
    side = min(height, width)
    layers = []
    for _ in range(n):
        r = rng.uniform(0.08, 0.35) * side
        shape = _random_shape(rng, str(rng.choice(shapes)), r)
        kind = str(rng.choice(textures))
        tex_size = int(2 * shape.radius) + 4
        tex = make_texture(kind, size=(tex_size, tex_size), seed=rng)
        mot = Motion(
            center=(rng.uniform(0.1, 0.9) * (width - 1), rng.uniform(0.1, 0.9) * (height - 1)),
            velocity=velocity(max_speed),
            angle=rng.uniform(0, 2 * math.pi),
            angular_velocity=math.radians(rng.uniform(-max_rotation, max_rotation)) / 20.0,
            scale=1.0,
            scale_rate=math.log1p(rng.uniform(-max_zoom, max_zoom)) / 20.0,
            t_ref=t_ref,
        )
        layers.append(Layer(shape, tex, mot))
    return Scene(height, width, background, tuple(layers), float(br),
                 info={"seed": int(seed), "generator": "spikevision.sim.random_scene", "duration": float(duration)})


# ===================================================================== warping
def warp_backward(image: Any, flow: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``image`` at ``x + flow(x)`` (bilinear): the frame at ``t1`` brought back to ``t0``.

    Parameters
    ----------
    image : (H, W) float array, the frame at ``t1``.
    flow : (H, W, 2) float array, forward flow ``t0 -> t1`` (u right, v down, px).

    Returns
    -------
    warped : (H, W) float32
    inside : (H, W) bool, where ``x + flow`` lies inside the image (elsewhere the border is used).
    """
    img = np.asarray(image)
    fl = np.asarray(flow)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"image must be a non-empty (H, W) array, got shape {img.shape}")
    if fl.shape != img.shape + (2,):
        raise ValueError(f"flow must have shape {img.shape + (2,)} to match the image, got {fl.shape}")
    if not np.isfinite(fl).all():
        raise ValueError("flow contains NaN or infinite values")
    h, w = img.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    xs = x + fl[..., 0]
    ys = y + fl[..., 1]
    inside = (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
    out = _bilinear(img.astype(np.float32), np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1))
    return out.astype(np.float32), inside
