"""Scenes filmed by a moving camera: a photo background under camera motion, objects moving over it.

A second scene generator, written independently of :mod:`.scenes` (different
textures and motion model), so that flow methods tuned on ``synth`` scenes can be
checked on data made differently.

Model (time ``t`` in spike frames, pixel ``x = (col, row)``):

* **Camera**: the background is a photo (any 2-D grey image larger than the view)
  seen through a similarity map that changes linearly in time: the view pixel
  ``x`` shows the photo point ``p(x, t) = c_p + s(t) R(a(t)) (x - c_v) + v t``
  with ``s(t) = exp(z t)`` (zoom), ``a(t) = w t`` (rotation), ``v`` (pan, px per
  frame), ``c_v`` the view centre and ``c_p`` the photo point the view starts on.
  ``z = w = v = 0`` is a still camera.
* **Objects**: ellipses filled with a patch of another photo, moving in view
  coordinates with a constant velocity (px per frame) and drawn back to front;
  each has a brightness gain (brighter or darker than what it crosses).
* **Light**: everything is multiplied by a scene brightness (dim scenes: 0.05-0.25).

The exact forward flow from ``t0`` to ``t1`` of the point seen at each pixel at
``t0`` follows from the maps; ``valid`` is false where that point leaves the
view or is hidden at ``t1``.

>>> scene = moving_camera_scene(seed=0, height=64, width=96)
>>> scene.intensity(10.0).shape
(64, 96)
>>> flow, valid = scene.flow(10.0, 30.0)
>>> flow.shape, valid.dtype
((64, 96, 2), dtype('bool'))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["CameraPath", "MovingObject", "MovingCameraScene", "moving_camera_scene", "package_photos",
           "sample_photo_files",
           "CAMERA_KINDS"]

#: Kinds of camera motion :func:`moving_camera_scene` draws from.
CAMERA_KINDS = ("still", "pan", "pan_zoom_rotate")


@dataclass(frozen=True)
class CameraPath:
    """Similarity motion of the camera over the background photo (see the module docstring)."""

    pan: tuple[float, float] = (0.0, 0.0)  # px per frame in photo coordinates (x, y)
    zoom: float = 0.0  # log scale per frame
    rotation: float = 0.0  # radians per frame
    start: tuple[float, float] = (0.0, 0.0)  # photo point under the view centre at t = 0

    def matrix(self, t: float) -> np.ndarray:
        """``2 x 2`` linear part ``s(t) R(a(t))`` at time ``t``."""
        s = np.exp(self.zoom * t)
        a = self.rotation * t
        return s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])

    def offset(self, t: float) -> np.ndarray:
        """Photo point under the view centre at time ``t``."""
        return np.asarray(self.start, float) + t * np.asarray(self.pan, float)


@dataclass(frozen=True)
class MovingObject:
    """An ellipse with a photo texture moving in view coordinates at a constant velocity."""

    centre: tuple[float, float]  # (x, y) at t = 0, view px
    axes: tuple[float, float]  # semi-axes (px)
    angle: float  # orientation (radians)
    velocity: tuple[float, float]  # px per frame
    texture: np.ndarray  # (h, w) float32 in [0, 1], sampled around its centre
    gain: float  # brightness factor of the texture

    def centre_at(self, t: float) -> np.ndarray:
        return np.asarray(self.centre, float) + t * np.asarray(self.velocity, float)

    def mask(self, xx: np.ndarray, yy: np.ndarray, t: float) -> np.ndarray:
        """Pixels inside the ellipse at time ``t`` (arrays of view x and y)."""
        cx, cy = self.centre_at(t)
        c, s = np.cos(self.angle), np.sin(self.angle)
        dx, dy = xx - cx, yy - cy
        u = (c * dx + s * dy) / self.axes[0]
        v = (-s * dx + c * dy) / self.axes[1]
        return u * u + v * v <= 1.0


class MovingCameraScene:
    """Background photo under a :class:`CameraPath` plus :class:`MovingObject` s (front last)."""

    def __init__(self, photo: np.ndarray, camera: CameraPath, objects: Sequence[MovingObject], *,
                 height: int, width: int, brightness: float = 1.0) -> None:
        self.photo = np.ascontiguousarray(photo, np.float32)
        if self.photo.ndim != 2:
            raise ValueError(f"photo must be a 2-D grey image, got shape {self.photo.shape}")
        self.camera = camera
        self.objects = tuple(objects)
        self.height, self.width = int(height), int(width)
        self.brightness = float(brightness)
        self._yy, self._xx = np.mgrid[0:self.height, 0:self.width].astype(np.float32)
        self._centre = np.array([(self.width - 1) / 2.0, (self.height - 1) / 2.0])

    # -- geometry -----------------------------------------------------------------------------
    def _photo_coords(self, t: float, xx: np.ndarray, yy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = self.camera.matrix(t)
        o = self.camera.offset(t)
        dx, dy = xx - self._centre[0], yy - self._centre[1]
        return (o[0] + m[0, 0] * dx + m[0, 1] * dy).astype(np.float32), (o[1] + m[1, 0] * dx + m[1, 1] * dy).astype(np.float32)

    def _view_coords(self, t: float, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inv = np.linalg.inv(self.camera.matrix(t))
        o = self.camera.offset(t)
        dx, dy = px - o[0], py - o[1]
        return self._centre[0] + inv[0, 0] * dx + inv[0, 1] * dy, self._centre[1] + inv[1, 0] * dx + inv[1, 1] * dy

    def _front(self, t: float, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
        """Index of the front-most object at each point (-1: background)."""
        front = np.full(xx.shape, -1, np.int32)
        for k, ob in enumerate(self.objects):
            front[ob.mask(xx, yy, t)] = k
        return front

    # -- rendering ----------------------------------------------------------------------------
    def intensity(self, t: float) -> np.ndarray:
        """``(H, W)`` float32 intensity in [0, 1] at time ``t`` (spike frames)."""
        import cv2

        px, py = self._photo_coords(t, self._xx, self._yy)
        img = cv2.remap(self.photo, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        for ob in self.objects:
            m = ob.mask(self._xx, self._yy, t)
            if not m.any():
                continue
            cx, cy = ob.centre_at(t)
            th, tw = ob.texture.shape
            tx = (self._xx - cx + tw / 2.0).astype(np.float32)
            ty = (self._yy - cy + th / 2.0).astype(np.float32)
            tex = cv2.remap(ob.texture, tx, ty, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
            img = np.where(m, np.clip(tex * ob.gain, 0.0, 1.0), img)
        return np.clip(img * self.brightness, 0.0, 1.0).astype(np.float32)

    def frames(self, n: int) -> np.ndarray:
        """Intensities at ``t = 0 .. n-1``, ``(n, H, W)`` float32."""
        return np.stack([self.intensity(float(t)) for t in range(n)])

    def flow(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Exact forward flow ``(H, W, 2)`` float32 (u right, v down, px) from ``t0`` to ``t1`` and
        its validity ``(H, W)`` bool (the point stays in view and is not hidden at ``t1``)."""
        xx, yy = self._xx.astype(np.float64), self._yy.astype(np.float64)
        front0 = self._front(t0, xx, yy)
        # background points: through the photo
        px, py = self._photo_coords(t0, xx, yy)
        bx, by = self._view_coords(t1, px.astype(np.float64), py.astype(np.float64))
        x1, y1 = bx.copy(), by.copy()
        for k, ob in enumerate(self.objects):
            sel = front0 == k
            d = np.asarray(ob.velocity) * (t1 - t0)
            x1[sel] = xx[sel] + d[0]
            y1[sel] = yy[sel] + d[1]
        flow = np.stack([x1 - xx, y1 - yy], -1).astype(np.float32)
        inside = (x1 >= 0) & (x1 <= self.width - 1) & (y1 >= 0) & (y1 <= self.height - 1)
        front1 = self._front(t1, x1, y1)
        valid = inside & (front1 == front0)
        return flow, valid


def package_photos(min_side: int = 256) -> list[np.ndarray]:
    """Grey photos that ship inside installed packages (scikit-image, matplotlib, scikit-learn),
    float32 in [0, 1], at least ``min_side`` px on each side. Raises ``ImportError`` naming the
    extra when none of these packages is installed."""
    out: list[np.ndarray] = []
    try:
        import skimage.data as d
        from skimage.color import rgb2gray

        for name in ("astronaut", "coffee", "chelsea", "rocket", "camera", "brick", "grass", "gravel",
                     "hubble_deep_field", "immunohistochemistry", "retina", "moon", "page"):
            try:
                im = getattr(d, name)()
            except Exception:  # some skimage images are fetched on demand and fail offline
                continue
            im = rgb2gray(im[..., :3]) if im.ndim == 3 else im.astype(np.float64) / (255.0 if im.dtype == np.uint8 else 1.0)
            out.append(np.asarray(im, np.float32))
    except ImportError:
        pass
    for path in sample_photo_files():
        from PIL import Image

        with Image.open(path) as im:
            out.append(np.asarray(im.convert("L"), np.float32) / 255.0)
    out = [p for p in out if min(p.shape) >= min_side]
    if not out:
        raise ImportError("no photos found: install the 'vision' extra (scikit-image, matplotlib)")
    return out


def sample_photo_files() -> list[Path]:
    """Photographs in matplotlib's and scikit-learn's sample data (those installed); no scikit-image ones."""
    files = []
    for mod, rel in (("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
                     ("sklearn", "datasets/images/china.jpg"), ("sklearn", "datasets/images/flower.jpg")):
        try:
            m = __import__(mod)
        except ImportError:
            continue
        p = Path(m.__file__).parent / rel
        if p.is_file():
            files.append(p)
    return files


def _resize_to_cover(photo: np.ndarray, height: int, width: int, margin: float, rng: np.random.Generator) -> np.ndarray:
    import cv2

    need_h, need_w = height * margin, width * margin
    s = max(need_h / photo.shape[0], need_w / photo.shape[1])
    s *= rng.uniform(1.0, 1.3)
    if abs(s - 1.0) > 1e-3:
        photo = cv2.resize(photo, (int(round(photo.shape[1] * s)), int(round(photo.shape[0] * s))),
                           interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    return np.clip(photo, 0.0, 1.0).astype(np.float32)


def moving_camera_scene(seed: int, *, height: int = 250, width: int = 400, camera: str | None = None,
                        photos: Sequence[np.ndarray] | None = None, objects: tuple[int, int] = (1, 3),
                        object_speed: tuple[float, float] = (0.15, 0.9), max_pan: float = 0.3,
                        dim_fraction: float = 0.25, duration: float = 120.0) -> MovingCameraScene:
    """A random :class:`MovingCameraScene` drawn from ``seed``.

    ``camera``: one of :data:`CAMERA_KINDS`, or ``None`` to draw it (a third each). Pan speed up to
    ``max_pan`` px per frame; zoom up to 0.1 % and rotation up to 0.01 degrees per frame for
    ``"pan_zoom_rotate"``. ``objects``: the range of the number of objects; their speeds are uniform
    in ``object_speed`` px per frame. A fraction ``dim_fraction`` of scenes are dim (brightness
    0.05-0.25, otherwise 0.6-1.0). ``duration`` (frames) keeps objects mostly in view.
    """
    rng = np.random.default_rng(seed)
    pool = list(photos) if photos is not None else package_photos(min_side=200)
    if camera is None:
        camera = CAMERA_KINDS[int(rng.integers(len(CAMERA_KINDS)))]
    if camera not in CAMERA_KINDS:
        raise ValueError(f"camera must be one of {CAMERA_KINDS}, got {camera!r}")
    pan = zoom = rot = 0.0
    direction = rng.uniform(0, 2 * np.pi)
    if camera != "still":
        pan = rng.uniform(0.05, max_pan)
    if camera == "pan_zoom_rotate":
        zoom = rng.uniform(-1e-3, 1e-3)
        rot = np.deg2rad(rng.uniform(-0.01, 0.01))
    margin = 1.0 + 2 * (pan * duration + 10) / min(height, width) + 0.3
    photo = _resize_to_cover(pool[int(rng.integers(len(pool)))], height, width, margin, rng)
    ph, pw = photo.shape
    start = (pw / 2.0 - pan * np.cos(direction) * duration / 2, ph / 2.0 - pan * np.sin(direction) * duration / 2)
    cam = CameraPath(pan=(pan * np.cos(direction), pan * np.sin(direction)), zoom=zoom, rotation=rot, start=start)
    obs = []
    for _ in range(int(rng.integers(objects[0], objects[1] + 1))):
        a = rng.uniform(0.08, 0.2) * min(height, width) * 1.5
        b = a * rng.uniform(0.5, 1.0)
        speed = rng.uniform(*object_speed)
        ang = rng.uniform(0, 2 * np.pi)
        vel = (speed * np.cos(ang), speed * np.sin(ang))
        mid = (rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height)
        centre = (mid[0] - vel[0] * duration / 2, mid[1] - vel[1] * duration / 2)
        src = pool[int(rng.integers(len(pool)))]
        th, tw = int(2 * a + 8), int(2 * a + 8)
        y0 = int(rng.integers(0, max(1, src.shape[0] - th)))
        x0 = int(rng.integers(0, max(1, src.shape[1] - tw)))
        tex = np.ascontiguousarray(src[y0:y0 + th, x0:x0 + tw], np.float32)
        if tex.shape != (th, tw):
            import cv2

            tex = cv2.resize(src, (tw, th), interpolation=cv2.INTER_AREA).astype(np.float32)
        gain = rng.uniform(1.3, 1.8) if rng.random() < 0.5 else rng.uniform(0.35, 0.7)
        obs.append(MovingObject(centre=centre, axes=(a, b), angle=rng.uniform(0, np.pi), velocity=vel,
                                texture=tex, gain=gain))
    brightness = rng.uniform(0.05, 0.25) if rng.random() < dim_fraction else rng.uniform(0.6, 1.0)
    return MovingCameraScene(photo, cam, obs, height=height, width=width, brightness=brightness)
