"""Scenes of moving objects with boxes and identities per frame (tracking ground truth).

:func:`track_scene` draws a :class:`~spikevision.sim.scenes.Scene` whose layers
are *objects*: textured shapes that are brighter or darker than the background,
moving at ``speed`` px per spike frame (up to 1 px/frame = 20,000 px/s at
20 kHz) along paths that cross near the image centre (so objects occlude each
other), optionally over a drifting background (camera motion) and in dim
light. :func:`object_boxes` gives each object's box and visibility at any time;
:func:`write_track_sequence` simulates the spikes and writes MOTChallenge
ground truth next to them.

Folder layout of one sequence (what ``spikevision eval track`` reads)::

    SEQ/spikes.dat      spikes, .dat layout (spikevision.io.dat)
    SEQ/spikes.json     height, width, n_frames, rate_hz, camera settings
    SEQ/gt/gt.txt       MOTChallenge rows (spikevision.io.mot), frame = spike frame + 1

A box is the tight box of the whole object (also the parts hidden by another
object), clipped to the image; its visibility is the fraction of the object
seen (inside the image and in front). Rows with visibility below
:data:`MIN_VISIBILITY` carry the consider flag 0 (ignored in scoring, the
MOTChallenge convention).

>>> from spikevision.sim.objects import track_scene, object_boxes
>>> sc = track_scene(seed=0, height=64, width=96, n_objects=2, size=(12, 20), duration=100)
>>> object_boxes(sc, 50.0).shape   # id, x, y, w, h, visibility
(2, 6)
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._checks import check_positive_int
from .camera import REDS_PRESET, CameraSettings
from .scenes import Layer, Motion, Scene, Shape, Texture, make_texture

__all__ = ["track_scene", "object_boxes", "gt_rows", "write_track_sequence", "write_track_dataset",
           "find_track_sequences", "training_photos", "MIN_VISIBILITY", "TRACK_TEXTURES"]

#: Ground-truth boxes seen less than this (fraction) are marked "ignore" (consider flag 0).
MIN_VISIBILITY = 0.25
#: Procedural textures used by :func:`track_scene` (no photographs: those are kept for evaluation sets).
TRACK_TEXTURES = ("dead_leaves", "gradient", "grating", "noise", "checker")


def _span(v: Any, name: str) -> tuple[float, float]:
    lo, hi = (float(v), float(v)) if np.isscalar(v) else (float(v[0]), float(v[1]))
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
        raise ValueError(f"{name} must be a number or a (low, high) range with 0 <= low <= high, got {v!r}")
    return lo, hi


@functools.lru_cache(maxsize=1)
def training_photos() -> tuple[np.ndarray, ...]:
    """Grey photographs for ``photo_fraction`` scenes: matplotlib's and scikit-learn's sample photos.

    Deliberately none of scikit-image's bundled photos: those are the pool of the independent
    evaluation generator (``scripts/make_track_eval_set.py``). Raises ``ImportError`` when
    neither package is installed.
    """
    from PIL import Image

    from .camera_motion import sample_photo_files

    out = []
    for path in sample_photo_files():
        with Image.open(path) as im:
            out.append(np.asarray(im.convert("L"), np.float32) / 255.0)
    if not out:
        raise ImportError("photo_fraction > 0 needs matplotlib or scikit-learn (their sample photos)")
    return tuple(out)


def _photo_texture(rng: np.random.Generator, h: int, w: int) -> Texture:
    """A random crop (scale 1-2 x covering, flips, quarter turns) of one of :func:`training_photos`, ``(h, w)``."""
    import cv2

    img = training_photos()[int(rng.integers(len(training_photos())))]
    if rng.random() < 0.5:
        img = img.T
    s = max(h / img.shape[0], w / img.shape[1]) * rng.uniform(1.0, 2.0)
    img = cv2.resize(img, (max(w, int(math.ceil(img.shape[1] * s))), max(h, int(math.ceil(img.shape[0] * s)))),
                     interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    r = int(rng.integers(0, img.shape[0] - h + 1))
    c = int(rng.integers(0, img.shape[1] - w + 1))
    patch = img[r:r + h, c:c + w]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    if rng.random() < 0.5:
        patch = patch[::-1]
    lo, hi = np.percentile(patch, [1, 99])
    patch = np.clip((patch - lo) / (hi - lo + 1e-6), 0, 1)
    return Texture(np.ascontiguousarray(patch, np.float32), kind="photo")


def _window(tex: Texture, lo: float, hi: float) -> Texture:
    r = tex.raster
    a, b = float(r.min()), float(r.max())
    n = (r - a) / (b - a) if b > a else np.full_like(r, 0.5)
    return Texture((lo + (hi - lo) * n).astype(np.float32), kind=tex.kind, texel=tex.texel)


def track_scene(
    seed: int = 0,
    height: int = 250,
    width: int = 400,
    *,
    n_objects: int | tuple[int, int] = (2, 4),
    speed: float | tuple[float, float] = (0.15, 0.9),
    size: tuple[float, float] = (24.0, 64.0),
    drift: float | tuple[float, float] = (0.0, 0.05),
    drift_probability: float = 0.5,
    brightness: float | tuple[float, float] = (0.5, 1.0),
    dim_fraction: float = 0.2,
    duration: float = 300.0,
    textures: Sequence[str] = TRACK_TEXTURES,
    photo_fraction: float = 0.0,
    object_brightness: tuple[float, float] | None = None,
) -> Scene:
    """A random scene of moving objects for tracking; every choice is drawn from ``seed``.

    Parameters
    ----------
    seed:
        Seed of all random choices.
    height, width:
        Image size, px.
    n_objects:
        Number of objects or an inclusive ``(low, high)`` range.
    speed:
        Object speed range, px per spike frame.
    size:
        Range of the objects' box sides, px.
    drift, drift_probability:
        Camera drift speed range (px per frame) used with that probability
        (the background then pans; objects keep their own motion).
    brightness, dim_fraction:
        Scene brightness range; with probability ``dim_fraction`` it is drawn
        from ``(0.15, 0.35)`` instead (a dim scene).
    duration:
        Frames the scene is made for: objects come in pairs whose paths cross
        (about the same place and time) in the middle of it.
    textures:
        Texture kinds (:data:`TRACK_TEXTURES` by default).
    photo_fraction:
        Probability that a scene's background and object textures are crops of
        :func:`training_photos` instead (matplotlib's and scikit-learn's sample
        photos, never scikit-image's). ``0`` (default) draws exactly what earlier
        versions drew for the same seed.
    object_brightness:
        ``(low, high)`` in ``(0, 1]``: every object's texture spans exactly this
        intensity range, independent of the scene brightness, which then dims
        only the background (bright objects over a dark background). ``None``
        (default): objects are brighter or darker than the background and dimmed
        with it, exactly as earlier versions drew for the same seed.

    Returns
    -------
    Scene
        Layers are the objects, identity ``i`` = layer ``i`` (1-based);
        ``info["ids"]`` lists them.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    height, width = check_positive_int(height, "height"), check_positive_int(width, "width")
    n_lo, n_hi = _span(n_objects, "n_objects")
    v_lo, v_hi = _span(speed, "speed")
    s_lo, s_hi = _span(size, "size")
    d_lo, d_hi = _span(drift, "drift")
    b_lo, b_hi = _span(brightness, "brightness")
    if s_lo <= 0 or b_lo <= 0 or b_hi > 1 or n_lo != int(n_lo) or n_hi != int(n_hi):
        raise ValueError("size must be > 0, brightness in (0, 1], n_objects whole numbers")
    for name, p in (("drift_probability", drift_probability), ("dim_fraction", dim_fraction),
                    ("photo_fraction", photo_fraction)):
        if not 0 <= float(p) <= 1:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
    if not textures or any(k not in TRACK_TEXTURES + ("natural",) for k in textures):
        raise ValueError(f"textures must be a non-empty subset of {TRACK_TEXTURES + ('natural',)}, got {textures!r}")
    if object_brightness is not None:
        try:
            o_lo, o_hi = (float(v) for v in object_brightness)
        except (TypeError, ValueError):
            raise ValueError(f"object_brightness must be a (low, high) pair, got {object_brightness!r}") from None
        if not (0 < o_lo <= o_hi <= 1):
            raise ValueError(f"object_brightness must satisfy 0 < low <= high <= 1, got {object_brightness!r}")
    duration = float(duration)
    rng = np.random.default_rng(seed)
    br = rng.uniform(0.15, 0.35) if rng.random() < dim_fraction else rng.uniform(b_lo, b_hi)
    drifting = rng.random() < drift_probability
    dv = rng.uniform(d_lo, d_hi) if drifting else 0.0
    da = rng.uniform(0, 2 * math.pi)
    bg_vel = (dv * math.cos(da), dv * math.sin(da))
    margin = int(math.ceil(dv * duration)) + 8
    photo = float(photo_fraction) > 0 and rng.random() < float(photo_fraction)

    def texture(h: int, w: int) -> Texture:
        return _photo_texture(rng, h, w) if photo else make_texture(str(rng.choice(textures)), size=(h, w), seed=rng)

    bg_lo, bg_hi = sorted(rng.uniform(0.15, 0.75, 2))
    if object_brightness is not None:
        # the scene brightness dims the background only; objects keep their own range
        bg_lo, bg_hi, scene_br = bg_lo * br, bg_hi * br, 1.0
    else:
        scene_br = br
    bg_tex = _window(texture(height + 2 * margin, width + 2 * margin), bg_lo, bg_hi)
    background = Layer(Shape("plane"), bg_tex,
                       Motion(center=((width - 1) / 2, (height - 1) / 2), velocity=bg_vel, t_ref=0.0))
    n = int(rng.integers(int(n_lo), int(n_hi) + 1))
    layers = []
    for k in range(n):
        if k % 2 == 0:
            # objects come in pairs whose paths cross at about the same place and time
            cross = (rng.uniform(0.25, 0.75) * width, rng.uniform(0.25, 0.75) * height)
            t_cross = rng.uniform(0.3, 0.7) * duration
        w_box, h_box = rng.uniform(s_lo, s_hi, 2)
        kind = str(rng.choice(("ellipse", "rectangle")))
        if kind == "ellipse":
            shape = Shape("ellipse", (w_box / 2, h_box / 2))
        else:
            shape = Shape("polygon", [(-w_box / 2, -h_box / 2), (w_box / 2, -h_box / 2), (w_box / 2, h_box / 2),
                                      (-w_box / 2, h_box / 2)])
        bright = rng.random() < 0.5
        lo, hi = (rng.uniform(0.6, 0.75), rng.uniform(0.9, 1.0)) if bright else (rng.uniform(0.0, 0.05),
                                                                                    rng.uniform(0.2, 0.35))
        if object_brightness is not None:
            lo, hi = o_lo, o_hi
        tex = _window(texture(int(h_box) + 4, int(w_box) + 4), lo, hi)
        v = rng.uniform(v_lo, v_hi)
        a = rng.uniform(0, 2 * math.pi)
        tc = t_cross + rng.uniform(-0.08, 0.08) * duration
        c = (cross[0] + rng.normal(0, 4.0), cross[1] + rng.normal(0, 4.0))
        layers.append(Layer(shape, tex, Motion(center=c, velocity=(v * math.cos(a), v * math.sin(a)), t_ref=tc)))
    info = {"seed": int(seed), "generator": "spikevision.sim.objects.track_scene",
            "duration": duration, "ids": list(range(1, n + 1)), "camera_drift": list(bg_vel),
            "photo": bool(photo)}
    if object_brightness is not None:
        info["background_brightness"] = float(br)
        info["object_brightness"] = [o_lo, o_hi]
    return Scene(height, width, background, tuple(layers), float(scene_br), info=info)


def object_boxes(scene: Scene, t: float) -> np.ndarray:
    """Each object's box and visibility at time ``t`` (spike frames).

    Returns
    -------
    (n, 6) float64
        ``id, x, y, w, h, visibility`` for the objects with at least one pixel
        inside the image (``x, y`` top-left corner, px; the box of the whole
        object clipped to the image). ``id`` is the layer index (1-based).
    """
    h, w = scene.height, scene.width
    labels = scene.labels(float(t))
    out = []
    for i, layer in enumerate(scene.layers, start=1):
        cx, cy, _, s = layer.motion.at(float(t))
        rad = layer.shape.radius * s + 1.0
        r0, r1 = math.floor(cy - rad), math.ceil(cy + rad) + 1
        c0, c1 = math.floor(cx - rad), math.ceil(cx + rad) + 1
        yy, xx = np.mgrid[r0:r1, c0:c1].astype(np.float64)
        m = layer.shape.contains(*layer.motion.to_local(xx, yy, float(t)))
        total = int(m.sum())
        if total == 0:
            continue
        rows = np.nonzero(m.any(axis=1))[0] + r0
        cols = np.nonzero(m.any(axis=0))[0] + c0
        x0, x1 = max(cols[0], 0), min(cols[-1] + 1, w)
        y0, y1 = max(rows[0], 0), min(rows[-1] + 1, h)
        if x0 >= x1 or y0 >= y1:
            continue
        visible = int((labels == i).sum())
        out.append((i, x0, y0, x1 - x0, y1 - y0, visible / total))
    return np.asarray(out, np.float64).reshape(-1, 6)


def gt_rows(scene: Scene, frames: Sequence[int], *, min_visibility: float = MIN_VISIBILITY) -> np.ndarray:
    """MOTChallenge ground-truth rows ``(N, 10)`` for spike frames ``frames`` (0-based; written as frame + 1)."""
    rows = []
    for f in frames:
        for i, x, y, bw, bh, vis in object_boxes(scene, float(f)):
            rows.append((int(f) + 1, int(i), x, y, bw, bh, 1.0 if vis >= min_visibility else 0.0, 1.0, vis, -1.0))
    return np.asarray(rows, np.float64).reshape(-1, 10)


def write_track_sequence(
    scene: Any,
    out_dir: str | os.PathLike,
    *,
    n_frames: int,
    gt_every: int = 10,
    settings: CameraSettings = REDS_PRESET,
    seed: int = 0,
    gt: np.ndarray | None = None,
    info: dict | None = None,
) -> Path:
    """Simulate ``scene`` (a :class:`Scene` or any callable ``t -> (H, W)`` intensity) and write one sequence.

    Writes ``spikes.dat`` + ``spikes.json`` and ``gt/gt.txt`` (rows at every
    ``gt_every``-th frame from 0; for a callable that is not a :class:`Scene`,
    pass the rows yourself as ``gt``). Returns the folder.
    """
    from ..io.atomic import atomic_open
    from ..io.mot import write_mot
    from .simulate import simulate_to_dat

    n_frames = check_positive_int(n_frames, "n_frames")
    gt_every = check_positive_int(gt_every, "gt_every")
    out = Path(out_dir)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    simulate_to_dat(scene, out / "spikes.dat", settings=settings, n_frames=n_frames, frames_per_image=1, seed=seed)
    if gt is None:
        if not isinstance(scene, Scene):
            raise TypeError("a source that is not a Scene needs its ground-truth rows passed as gt=")
        gt = gt_rows(scene, range(0, n_frames, gt_every))
    write_mot(out / "gt" / "gt.txt", gt)
    meta_path = out / "spikes.json"
    meta = json.loads(meta_path.read_text())
    meta["tracking"] = {"gt_every": gt_every, "min_visibility": MIN_VISIBILITY,
                        **({"scene": scene.describe()} if isinstance(scene, Scene) else {}), **(info or {})}
    with atomic_open(meta_path, "w") as fh:
        json.dump(meta, fh, indent=2, default=float)
    return out


def write_track_dataset(
    out_dir: str | os.PathLike,
    *,
    n_sequences: int = 8,
    seed: int = 0,
    n_frames: int = 300,
    gt_every: int = 10,
    settings: CameraSettings = REDS_PRESET,
    scene_options: dict | None = None,
    progress: bool = False,
) -> list[Path]:
    """Write ``n_sequences`` tracking sequences ``seq_0000 ...`` drawn from ``seed`` into ``out_dir``."""
    from ..progress import progress_bar

    n_sequences = check_positive_int(n_sequences, "n_sequences")
    opts = {"height": 250, "width": 400, "duration": float(n_frames), **(scene_options or {})}
    out = []
    ss = np.random.SeedSequence(int(seed))
    with progress_bar(total=n_sequences, desc="synth-track", enabled=progress, unit="seq") as bar:
        for k, child in enumerate(ss.spawn(n_sequences)):
            scene_seed, cam_seed = (int(v) for v in child.generate_state(2) % (2 ** 31))
            sc = track_scene(scene_seed, **opts)
            out.append(write_track_sequence(sc, Path(out_dir) / f"seq_{k:04d}", n_frames=n_frames, gt_every=gt_every,
                                            settings=settings, seed=cam_seed))
            bar.update(1)
    return out


def find_track_sequences(root: str | os.PathLike) -> list[Path]:
    """Sequence folders (``spikes.dat`` + ``spikes.json`` + ``gt/gt.txt``) at or directly under ``root``, sorted."""
    r = Path(root)
    if not r.is_dir():
        raise FileNotFoundError(f"tracking data folder not found: {r}")

    def ok(p: Path) -> bool:
        return (p / "spikes.dat").is_file() and (p / "spikes.json").is_file() and (p / "gt" / "gt.txt").is_file()

    if ok(r):
        return [r]
    seqs = sorted(p for p in r.iterdir() if p.is_dir() and ok(p))
    if not seqs:
        raise FileNotFoundError(f"{r} holds no tracking sequence (folders with spikes.dat, spikes.json and gt/gt.txt)")
    return seqs

