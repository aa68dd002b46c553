"""Moving layered scenes with exact flow, for training and tests (numpy + OpenCV).

A scene is a textured background and a few textured sprites (ellipses and
polygons), each moved by its own affine motion: translation ``v`` (px per
spike frame), rotation ``w`` (rad per frame) and zoom ``z`` (per frame) about
its centre. Layer ``k`` maps its texture coordinates ``q`` to the image at time
``t`` by ``x = M_k(t) q``; the flow of a pixel ``x`` visible on layer ``k`` at
``t0`` is ``M_k(t1) M_k(t0)^-1 x - x`` (exact, in pixels, u right, v down).
Intensities are rendered frame by frame and fired through
:func:`spikevision.sim.fire`, so the spikes are those of the camera model.

:func:`make_sample` gives one training sample (two spike windows and the
flow between their centres); :func:`make_clip` a longer clip with the flow
between any two frames.

Photo scenes (:func:`photo_scene`, a fraction ``photo_fraction`` of the samples when the config
names a ``photo_dir``): a natural photograph as background seen by a camera that pans, zooms and
rotates, with one to three soft-edged objects cut from other photographs of the folder moving on
their own, some of them changing motion once, some scenes changing brightness, dim scenes down to
a twentieth of full brightness. The photographs are read from the folder only (installed for
training by ``scripts/get_training_photos.sh``); nothing is fetched here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

__all__ = ["SceneConfig", "LayeredScene", "random_layered_scene", "sim_scene", "photo_scene", "load_photos",
           "make_sample", "make_batch"]


@dataclass(frozen=True)
class SceneConfig:
    """How random scenes are drawn (speeds in px per spike frame).

    A fraction ``sim_fraction`` of the samples comes from
    :func:`spikevision.sim.random_scene` (``sim_max_speed`` in px per 20
    frames, seeds drawn from ``[10**6, 2**31)`` so that evaluation sets made
    with seeds below ``10**6`` are never trained on), the rest from
    :func:`random_layered_scene`.

    Low light and still scenes (both off by default): ``sim_gain_range``
    scales the brightness of the ``random_scene`` samples (drawn
    log-uniformly; ``(1, 1)`` leaves them as they are); with ``log_gain`` the
    layered scenes' ``gain_range`` is drawn log-uniformly too (dim scenes,
    where a pixel fires once in tens of frames, get as many samples as
    bright ones); a fraction ``static_fraction`` of the samples are layered
    scenes where nothing moves (zero flow everywhere), so that noise in a
    dim still scene is not read as motion.

    Scale (off by default): with ``sim_size > 0`` the ``random_scene`` samples
    are drawn as ``sim_size x sim_size`` scenes and a random window of the
    sample's size is cut from them (:meth:`spikevision.sim.Scene.crop`), so
    layers have the sizes, and rotating or zooming layers the flow gradients,
    of full-size scenes (drawn at the crop's size they are that much smaller).

    Photo scenes (off by default): a fraction ``photo_fraction`` of the samples are
    :func:`photo_scene` samples from the photographs of ``photo_dir`` (a folder, searched
    recursively for ``.jpg`` / ``.jpeg`` / ``.png`` / ``.webp``; relative paths from the working
    directory). Camera pan up to ``photo_max_pan`` px per frame, zoom up to ``photo_max_zoom`` and
    rotation up to ``photo_max_rotation`` rad per frame, objects up to ``photo_object_speed`` px per
    frame, brightness drawn log-uniformly from ``photo_gain_range``.
    """

    max_speed: float = 1.0
    background_still: float = 0.35
    background_speed: float = 0.5
    sprites: tuple[int, int] = (1, 5)
    max_rotation: float = 0.004
    max_zoom: float = 0.002
    gain_range: tuple[float, float] = (0.12, 1.0)
    noisy_fraction: float = 0.2
    sim_fraction: float = 0.6
    sim_max_speed: float = 16.0
    sim_gain_range: tuple[float, float] = (1.0, 1.0)
    log_gain: bool = False
    static_fraction: float = 0.0
    sim_size: int = 0
    photo_dir: str = ""
    photo_fraction: float = 0.0
    photo_max_pan: float = 0.8
    photo_max_zoom: float = 0.002
    photo_max_rotation: float = 0.0006
    photo_object_speed: float = 1.0
    photo_gain_range: tuple[float, float] = (0.05, 1.0)

    def __post_init__(self) -> None:
        for name in ("gain_range", "sim_gain_range", "photo_gain_range"):
            lo, hi = getattr(self, name)
            if not (0 < lo <= hi):
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high, got {getattr(self, name)}")
        for name in ("static_fraction", "noisy_fraction", "sim_fraction", "photo_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("photo_max_pan", "photo_max_zoom", "photo_max_rotation", "photo_object_speed"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.photo_fraction > 0 and not self.photo_dir:
            raise ValueError("photo_fraction > 0 needs photo_dir, a folder of photographs "
                             "(scripts/get_training_photos.sh installs some)")
        if isinstance(self.sim_size, bool) or not isinstance(self.sim_size, int) or self.sim_size < 0:
            raise ValueError(f"sim_size must be an integer >= 0 (0: scenes at the sample's size), got {self.sim_size!r}")


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Multi-octave noise plus random edges, float32 in [0, 1]."""
    import cv2

    out = np.zeros((h, w), np.float32)
    amp = 1.0
    for cell in (rng.integers(24, 64), 12, 6, 3):
        gh, gw = max(2, h // int(cell) + 2), max(2, w // int(cell) + 2)
        g = rng.random((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
        amp *= rng.uniform(0.4, 0.8)
    for _ in range(int(rng.integers(3, 12))):  # sharp-edged blobs and bars: corners to match
        val = float(rng.uniform(-0.8, 0.8))
        if rng.random() < 0.5:
            c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.circle(out, c, int(rng.integers(2, max(3, min(h, w) // 5))), val, -1)
        else:
            p = rng.integers(0, [w, h], size=(2, 2))
            cv2.rectangle(out, tuple(map(int, p[0])), tuple(map(int, p[1])), val, -1)
    lo, hi = np.percentile(out, [1, 99])
    return np.clip((out - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)


def _affine(centre: np.ndarray, v: np.ndarray, w: float, z: float, t: float) -> np.ndarray:
    """3x3 matrix of ``q -> centre + v t + (1 + z t) R(w t) (q - centre)`` (texture centred on ``centre``)."""
    a, s = w * t, 1.0 + z * t
    r = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    m = np.eye(3)
    m[:2, :2] = r
    m[:2, 2] = centre + v * t - r @ centre
    return m


@dataclass
class _Layer:
    texture: np.ndarray
    alpha: np.ndarray | None
    centre: np.ndarray
    v: np.ndarray
    w: float
    z: float
    #: piecewise motion: from frame ``turn`` on, the layer moves by ``(v2, w2, z2)`` about where its centre is then
    turn: float | None = None
    v2: np.ndarray | None = None
    w2: float = 0.0
    z2: float = 0.0

    def matrix(self, t: float) -> np.ndarray:
        """3x3 texture -> canvas matrix at time ``t``."""
        if self.turn is None or t <= self.turn:
            return _affine(self.centre, self.v, self.w, self.z, t)
        m1 = _affine(self.centre, self.v, self.w, self.z, self.turn)
        c = (m1 @ np.array([*self.centre, 1.0]))[:2]
        v2 = np.zeros(2) if self.v2 is None else self.v2
        return _affine(c, v2, self.w2, self.z2, t - self.turn) @ m1


class LayeredScene:
    """Background + sprites; :meth:`intensity` renders a frame, :meth:`flow` gives exact flow."""

    def __init__(self, layers: list[_Layer], height: int, width: int, margin: int, gain: float, offset: float,
                 gain_rate: float = 0.0) -> None:
        self.layers, self.height, self.width, self.margin = layers, height, width, margin
        self.gain, self.offset, self.gain_rate = gain, offset, gain_rate  # brightness gain * exp(gain_rate * t)

    def _warp(self, img: np.ndarray, t: float, layer: _Layer, interp: int) -> np.ndarray:
        import cv2

        m = layer.matrix(t)
        shift = np.array([[1, 0, -self.margin], [0, 1, -self.margin], [0, 0, 1]], float)  # canvas -> view
        m = (shift @ m)[:2]
        return cv2.warpAffine(img, m, (self.width, self.height), flags=interp, borderMode=cv2.BORDER_REFLECT)

    def intensity(self, t: float) -> np.ndarray:
        """Frame at time ``t`` (spike frames), ``(H, W)`` float32 in [0, 1]."""
        import cv2

        out = np.zeros((self.height, self.width), np.float32)
        for layer in self.layers:
            tex = self._warp(layer.texture, t, layer, cv2.INTER_LINEAR)
            if layer.alpha is None:
                out = tex
            else:
                a = self._warp(layer.alpha, t, layer, cv2.INTER_LINEAR)
                out = a * tex + (1 - a) * out
        gain = self.gain * float(np.exp(self.gain_rate * t)) if self.gain_rate else self.gain
        return np.clip(self.offset + gain * out, 0, 1).astype(np.float32)

    def flow(self, t0: float, t1: float) -> np.ndarray:
        """Exact flow from ``t0`` to ``t1``, ``(H, W, 2)`` float32 (u right, v down) of the visible layer."""
        import cv2

        ys, xs = np.mgrid[0 : self.height, 0 : self.width].astype(np.float64)
        pts = np.stack([xs + self.margin, ys + self.margin, np.ones_like(xs)], axis=-1)
        out = np.zeros((self.height, self.width, 2), np.float32)
        for layer in self.layers:
            m = layer.matrix(t1) @ np.linalg.inv(layer.matrix(t0))
            f = (pts @ m.T)[..., :2] - pts[..., :2]
            if layer.alpha is None:
                out[:] = f
            else:
                a = self._warp(layer.alpha, t0, layer, cv2.INTER_NEAREST) > 0.5
                out[a] = f[a]
        return out


def _draw_gain(rng: np.random.Generator, lo: float, hi: float, log: bool) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if log else float(rng.uniform(lo, hi))


def random_layered_scene(rng: np.random.Generator, height: int, width: int, cfg: SceneConfig = SceneConfig(),
                         *, static: bool = False) -> LayeredScene:
    """A random scene of ``height x width`` pixels (textures drawn on a larger canvas);
    ``static``: nothing moves."""
    import cv2

    margin = int(np.ceil(cfg.max_speed * 40)) + 8
    ch, cw = height + 2 * margin, width + 2 * margin
    layers = []
    still = rng.random() < cfg.background_still
    vb = np.zeros(2) if still else rng.uniform(-cfg.background_speed, cfg.background_speed, 2)
    layers.append(_Layer(_texture(rng, ch, cw), None, np.array([cw / 2, ch / 2]), vb,
                         0.0 if still else float(rng.uniform(-1, 1) * cfg.max_rotation / 2),
                         0.0 if still else float(rng.uniform(-1, 1) * cfg.max_zoom / 2)))
    for _ in range(int(rng.integers(cfg.sprites[0], cfg.sprites[1] + 1))):
        alpha = np.zeros((ch, cw), np.float32)
        cx, cy = rng.uniform(margin, cw - margin), rng.uniform(margin, ch - margin)
        r = rng.uniform(0.08, 0.3) * min(height, width)
        if rng.random() < 0.5:
            cv2.ellipse(alpha, (int(cx), int(cy)), (int(r), int(r * rng.uniform(0.4, 1.0))), float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        else:
            n = int(rng.integers(3, 7))
            ang = np.sort(rng.uniform(0, 2 * np.pi, n))
            rad = r * rng.uniform(0.5, 1.0, n)
            poly = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)
            cv2.fillPoly(alpha, [poly], 1.0)
        speed = rng.uniform(0, cfg.max_speed)
        direction = rng.uniform(0, 2 * np.pi)
        v = speed * np.array([np.cos(direction), np.sin(direction)])
        layers.append(_Layer(_texture(rng, ch, cw), alpha, np.array([cx, cy]), v,
                             float(rng.uniform(-1, 1) * cfg.max_rotation), float(rng.uniform(-1, 1) * cfg.max_zoom)))
    gain = _draw_gain(rng, *cfg.gain_range, cfg.log_gain)
    offset = float(rng.uniform(0, 0.1) * gain)
    if static:
        for layer in layers:
            layer.v, layer.w, layer.z = np.zeros(2), 0.0, 0.0
    return LayeredScene(layers, height, width, margin, gain * (1 - 0.1), offset)


#: file endings of the photographs a ``photo_dir`` is searched for
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
#: photographs are kept with their short side at most this long (px)
PHOTO_SIDE = 512
_PHOTO_CACHE: dict[str, np.ndarray] = {}
_PHOTO_LISTS: dict[str, list[str]] = {}


def photo_files(folder: str) -> list[str]:
    """Sorted photograph files under ``folder`` (recursive, links followed); a clear error when there are none."""
    import os

    key = str(folder)
    if key not in _PHOTO_LISTS:
        if not folder or not os.path.isdir(folder):
            raise FileNotFoundError(f"photo_dir {folder!r} is not a folder (scripts/get_training_photos.sh installs "
                                    "training photographs and prints where)")
        found = []
        for root, _, names in os.walk(folder, followlinks=True):
            found += [os.path.join(root, n) for n in names if n.lower().endswith(PHOTO_SUFFIXES)]
        if not found:
            raise FileNotFoundError(f"photo_dir {folder!r} holds no photographs ({', '.join(PHOTO_SUFFIXES)})")
        _PHOTO_LISTS[key] = sorted(found)
    return _PHOTO_LISTS[key]


def _read_photo(path: str) -> np.ndarray:
    """Grey photograph, float32 in [0, 1], short side at most :data:`PHOTO_SIDE` (cached per process)."""
    import cv2

    if path not in _PHOTO_CACHE:
        img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if img is None or img.ndim != 2 or min(img.shape) < 8:
            raise ValueError(f"{path}: not a readable photograph")
        if img.dtype != np.uint8:  # 16-bit files
            img = (img.astype(np.float32) * (255.0 / max(float(img.max()), 1.0))).astype(np.uint8)
        f = PHOTO_SIDE / min(img.shape)
        if f < 1:
            img = cv2.resize(img, (max(8, round(img.shape[1] * f)), max(8, round(img.shape[0] * f))),
                             interpolation=cv2.INTER_AREA)
        _PHOTO_CACHE[path] = img
    return _PHOTO_CACHE[path].astype(np.float32) / 255.0


def load_photos(folder: str) -> list[np.ndarray]:
    """Every photograph of ``folder`` (see :func:`photo_files`), grey float32 in [0, 1]."""
    return [_read_photo(p) for p in photo_files(folder)]


def _photo_texture(rng: np.random.Generator, photo: np.ndarray, h: int, w: int) -> np.ndarray:
    """A random window of ``photo`` resized to ``h x w`` (random scale and flips), float32."""
    import cv2

    ph, pw = photo.shape
    cover = max(h / ph, w / pw)
    f = cover * float(rng.uniform(1.0, max(1.0, 2.0 / cover) if cover < 1 else 1.5))  # magnification of the photo
    ch, cw = min(ph, int(np.ceil(h / f))), min(pw, int(np.ceil(w / f)))
    y, x = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
    crop = photo[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if rng.random() < 0.3:
        crop = crop[::-1]
    interp = cv2.INTER_AREA if ch > h else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=interp), np.float32)


def _soft_shape(rng: np.random.Generator, ch: int, cw: int, cx: float, cy: float, r: float) -> np.ndarray:
    """Soft-edged ellipse or polygon of radius about ``r`` at ``(cx, cy)``, float32 alpha in [0, 1]."""
    import cv2

    alpha = np.zeros((ch, cw), np.float32)
    if rng.random() < 0.5:
        cv2.ellipse(alpha, (int(cx), int(cy)), (max(2, int(r)), max(2, int(r * rng.uniform(0.4, 1.0)))),
                    float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    else:
        n = int(rng.integers(4, 9))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = r * rng.uniform(0.5, 1.0, n)
        cv2.fillPoly(alpha, [np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)], 1.0)
    sigma = float(rng.uniform(0.5, 2.0))
    return cv2.GaussianBlur(alpha, (0, 0), sigma)


class PhotoScene(LayeredScene):
    """:class:`LayeredScene` whose :meth:`flow` also gives a valid mask: pixels in the soft edge of an object
    (alpha strictly between 0.05 and 0.95 at ``t0``), where two layers blend, are left out.
    ``camera_moving``: whether the camera pans (and maybe zooms and rotates)."""

    camera_moving: bool = False

    def flow(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        fl = super().flow(t0, t1)
        valid = np.ones((self.height, self.width), bool)
        for layer in self.layers:
            if layer.alpha is not None:
                a = self._warp(layer.alpha, t0, layer, cv2.INTER_LINEAR)
                valid &= ~((a > 0.05) & (a < 0.95))
        return fl, valid


def _random_motion(rng: np.random.Generator, speed: float) -> np.ndarray:
    d = rng.uniform(0, 2 * np.pi)
    return speed * np.array([np.cos(d), np.sin(d)])


def photo_scene(rng: np.random.Generator, height: int, width: int, cfg: SceneConfig, *, frames: int = 64,
                photos: list[np.ndarray] | None = None) -> PhotoScene:
    """A natural photograph seen by a moving camera, with independently moving objects cut from other photographs.

    Camera (about the view centre): still (a fifth), panning (two fifths) or panning, zooming and
    rotating (two fifths), pan speed uniform up to ``cfg.photo_max_pan`` px per frame; one to three
    soft-edged objects, each a window of a photograph other than the background's (when the folder
    has more than one) made brighter or darker, moving at up to ``cfg.photo_object_speed`` px per
    frame with a little rotation and zoom. A quarter of the objects and a tenth of the cameras
    change motion once during the first ``frames`` frames (piecewise motion); a fifth of the scenes
    change brightness by up to 40 % over ``frames`` frames; brightness log-uniform in
    ``cfg.photo_gain_range`` (dim scenes). The flow is exact (every layer is affine, see the module
    notes); ``photos`` (optional) replaces the folder's photographs.
    """
    pool = photos if photos is not None else load_photos(cfg.photo_dir)
    if not pool:
        raise ValueError("photo_scene needs at least one photograph")
    pan_max = cfg.photo_max_pan
    margin = int(np.ceil(pan_max * frames + cfg.photo_max_zoom * frames * max(height, width) / 2)) + 8
    ch, cw = height + 2 * margin, width + 2 * margin
    centre = np.array([cw / 2, ch / 2])
    kind = rng.random()
    v = np.zeros(2) if kind < 0.2 else _random_motion(rng, float(rng.uniform(0, pan_max)))
    w = z = 0.0
    if kind >= 0.6:
        w = float(rng.uniform(-1, 1) * cfg.photo_max_rotation)
        z = float(rng.uniform(-1, 1) * cfg.photo_max_zoom)
    bg_index = int(rng.integers(len(pool)))
    # the camera moves by (v, w, z): the background moves the opposite way in the image
    bg = _Layer(_photo_texture(rng, pool[bg_index], ch, cw), None, centre, -v, -w, -z)
    if kind >= 0.2 and rng.random() < 0.1:
        bg.turn = float(rng.uniform(0.2, 0.8) * frames)
        bg.v2 = -_random_motion(rng, float(rng.uniform(0, pan_max)))
        bg.w2, bg.z2 = bg.w, bg.z
    layers = [bg]
    others = [i for i in range(len(pool)) if i != bg_index] or [bg_index]
    for _ in range(int(rng.integers(1, 4))):
        tex = _photo_texture(rng, pool[others[int(rng.integers(len(others)))]], ch, cw)
        tex = tex * float(rng.uniform(0.5, 1.5)) + float(rng.uniform(-0.25, 0.25))  # brighter or darker
        cx, cy = rng.uniform(margin, cw - margin), rng.uniform(margin, ch - margin)
        r = float(rng.uniform(0.08, 0.3) * min(height, width))
        layer = _Layer(np.clip(tex, 0, 1.2).astype(np.float32), _soft_shape(rng, ch, cw, cx, cy, r), np.array([cx, cy]),
                       _random_motion(rng, float(rng.uniform(0, cfg.photo_object_speed))),
                       float(rng.uniform(-1, 1) * 0.004), float(rng.uniform(-1, 1) * 0.002))
        if rng.random() < 0.25:
            layer.turn = float(rng.uniform(0.2, 0.8) * frames)
            layer.v2 = _random_motion(rng, float(rng.uniform(0, cfg.photo_object_speed)))
            layer.w2, layer.z2 = float(rng.uniform(-1, 1) * 0.004), float(rng.uniform(-1, 1) * 0.002)
        layers.append(layer)
    gain = _draw_gain(rng, *cfg.photo_gain_range, True)
    offset = float(rng.uniform(0, 0.05) * gain)
    rate = float(np.log(rng.uniform(0.6, 1.4)) / frames) if rng.random() < 0.2 else 0.0
    scene = PhotoScene(layers, height, width, margin, gain * 0.9, offset, gain_rate=rate)
    scene.camera_moving = kind >= 0.2
    return scene


def _settings(rng: np.random.Generator, noisy_fraction: float) -> Any:
    from ..sim.camera import NOISY_PRESET, REDS_PRESET

    return NOISY_PRESET if rng.random() < noisy_fraction else REDS_PRESET


def sim_scene(rng: np.random.Generator, height: int, width: int, cfg: SceneConfig = SceneConfig()) -> Any:
    """A :func:`spikevision.sim.random_scene` sample of ``height x width`` (a window of a
    ``sim_size`` scene when ``cfg.sim_size`` is larger)."""
    from ..sim import random_scene

    sh, sw = max(height, cfg.sim_size), max(width, cfg.sim_size)
    scene = random_scene(seed=int(rng.integers(10**6, 2**31)), height=sh, width=sw, max_speed=cfg.sim_max_speed)
    if (sh, sw) != (height, width):
        scene = scene.crop(int(rng.integers(0, sh - height + 1)), int(rng.integers(0, sw - width + 1)), height, width)
    return scene


def make_sample(rng: np.random.Generator, *, height: int, width: int, dt: int, window: int,
                cfg: SceneConfig = SceneConfig(), scene: Any = None,
                info: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spike windows around ``t0`` and ``t0 + dt`` and the exact flow between them.

    ``scene`` (optional) is any object with ``intensity(t)`` and
    ``flow(t0, t1)`` (returning a flow or a ``(flow, valid)`` pair); by default
    a :func:`random_layered_scene`. Returns ``w1, w2`` ``(window, H, W)`` uint8,
    ``flow`` ``(H, W, 2)`` float32 and ``valid`` ``(H, W)`` bool as the 4th value
    when the scene gives one (else all true) — i.e. ``(w1, w2, flow, valid)``. ``info`` (optional
    dict) receives ``camera_moving``: true for a photo scene whose camera moves.
    """
    from ..sim.camera import fire

    start = 0.0
    if scene is None and cfg.photo_fraction > 0 and rng.random() < cfg.photo_fraction:
        scene = photo_scene(rng, height, width, cfg, frames=dt + window)
    if scene is None and cfg.static_fraction > 0 and rng.random() < cfg.static_fraction:
        scene = random_layered_scene(rng, height, width, cfg, static=True)
    if scene is None:
        if rng.random() < cfg.sim_fraction:
            scene = sim_scene(rng, height, width, cfg)
            start = float(rng.integers(100, 260))  # its layers are placed for t near 200
            if tuple(cfg.sim_gain_range) != (1.0, 1.0):  # dimmer than the scene's own brightness
                scene = replace(scene, brightness=scene.brightness * _draw_gain(rng, *cfg.sim_gain_range, True))
        else:
            scene = random_layered_scene(rng, height, width, cfg)
    half = window // 2
    t0 = half
    n = dt + window
    frames = np.stack([scene.intensity(start + t) for t in range(n)])
    spikes = fire(frames, settings=_settings(rng, cfg.noisy_fraction), seed=int(rng.integers(2**31)))
    w1 = spikes[t0 - half : t0 - half + window]
    w2 = spikes[t0 + dt - half : t0 + dt - half + window]
    fl = scene.flow(start + t0, start + t0 + dt)
    if info is not None:
        info["camera_moving"] = bool(getattr(scene, "camera_moving", False))
    if isinstance(fl, tuple):
        fl, valid = fl
    else:
        valid = np.ones(fl.shape[:2], bool)
    return w1, w2, np.asarray(fl, np.float32), np.asarray(valid, bool)


def make_batch(rng: np.random.Generator, batch: int, *, size: int, dts: tuple[int, ...], window: int,
               cfg: SceneConfig = SceneConfig(), infos: list | None = None) -> tuple[np.ndarray, ...]:
    """``batch`` samples of ``size x size``, one ``dt`` (drawn from ``dts``) per batch; ``infos``
    (optional list) receives each sample's ``info`` (see :func:`make_sample`).

    Returns ``w1, w2`` ``(B, window, S, S)`` uint8, ``flow`` ``(B, 2, S, S)``
    float32, ``valid`` ``(B, S, S)`` bool.
    """
    dt = int(rng.choice(np.asarray(dts)))
    out = []
    for _ in range(batch):
        info: dict = {}
        out.append(make_sample(rng, height=size, width=size, dt=dt, window=window, cfg=cfg, info=info))
        if infos is not None:
            infos.append(info)
    w1, w2, fl, va = (np.stack(x) for x in zip(*out))
    return w1, w2, np.ascontiguousarray(fl.transpose(0, 3, 1, 2)), va
