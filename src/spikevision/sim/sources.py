"""Inputs of the simulator: still images, image sequences, videos, arrays and callables.

Every input becomes a stream of *key images*, intensity maps ``(H, W)``
float32 in ``[0, 1]`` at spike-frame times ``0, F, 2F, ...`` (``F`` =
``frames_per_image``). Between two key images the intensity is interpolated
linearly in time; after the last one it is held.

Rules (stated here and only here)
---------------------------------
* **Values.** ``uint8`` images are divided by 255, ``uint16`` by 65535, ``bool``
  maps to 0/1; float images must already lie in ``[0, 1]`` (no silent clipping).
* **Colour.** An image whose last axis has 3 or 4 channels (RGB, RGBA) is
  converted to luminance with the Rec. 601 luma weights
  ``Y = 0.299 R + 0.587 G + 0.114 B`` applied to the stored (gamma-encoded)
  values, as OpenCV's and Pillow's grey conversions do; alpha is ignored.
  Hence a 3-D array ``(H, W, 3)`` or ``(H, W, 4)`` is one colour image, and any
  other 3-D array ``(N, H, W)`` is a sequence of grey images; pass a *list* of
  ``(H, W)`` images to force a sequence whose images are 3 or 4 pixels wide.
* **Lengths.** A still image gives ``DEFAULT_STILL_FRAMES`` (1000 frames, 50 ms
  at 20 kHz) unless ``n_frames`` is given. A sequence of ``N`` images gives
  ``N * F`` frames (``F`` defaults to ``DEFAULT_FRAMES_PER_IMAGE`` = 20, i.e. the
  images are treated as 1000 frames/s footage); image ``i`` is the scene at
  frame ``i * F`` and the last image is held for its ``F`` frames. A callable
  ``intensity(t)`` (``t`` in spike frames, float) needs ``n_frames``; it is
  sampled at every frame (``F = 1``, exact) unless ``frames_per_image`` asks
  for sparser samples.
* **Size.** ``height``/``width`` resize every key image (box filter when
  shrinking, bilinear when enlarging, through Pillow); giving one of them keeps
  the aspect ratio.
* **Files.** ``.npy`` (an array as above, memory-mapped), images (``.png``,
  ``.jpg``, ``.bmp``, ``.tif`` ...), videos (``.mp4``, ``.avi``, ``.mov``,
  ``.mkv``, ``.webm``, ``.gif`` ...) read frame by frame through imageio, and
  folders of images (sorted by name) as sequences.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .._checks import check_existing_file, check_memory, check_positive_int

__all__ = [
    "DEFAULT_STILL_FRAMES",
    "DEFAULT_FRAMES_PER_IMAGE",
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "to_intensity",
    "resize_intensity",
    "IntensityPlan",
    "plan_source",
]

DEFAULT_STILL_FRAMES = 1000
DEFAULT_FRAMES_PER_IMAGE = 20
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".gif", ".wmv", ".flv")
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def to_intensity(image: Any, *, name: str = "image") -> np.ndarray:
    """One image as an intensity map ``(H, W)`` float32 in ``[0, 1]`` (see the module rules).

    Accepts ``(H, W)`` grey or ``(H, W, 3|4)`` colour arrays of ``uint8``,
    ``uint16``, ``bool`` or float (already in ``[0, 1]``).

    >>> to_intensity(np.array([[0, 255]], np.uint8)).tolist()
    [[0.0, 1.0]]
    """
    a = np.asarray(image)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ValueError(f"{name} must be (H, W) grey or (H, W, 3|4) colour, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if a.ndim == 2:
        return _scale(a, name)
    y = _scale(a, name)[..., :3] @ _LUMA
    return np.clip(y, 0.0, 1.0, out=y).astype(np.float32, copy=False)  # rounding of the weighted sum only


def _scale(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype == np.bool_:
        return a.astype(np.float32)
    if a.dtype == np.uint8:
        return np.divide(a, np.float32(255), dtype=np.float32)
    if a.dtype == np.uint16:
        return np.divide(a, np.float32(65535), dtype=np.float32)
    if np.issubdtype(a.dtype, np.floating):
        f = a.astype(np.float32)
        if f.size:
            lo, hi = float(f.min()), float(f.max())
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ValueError(f"{name} contains NaN or infinite values")
            if lo < 0 or hi > 1:
                raise ValueError(f"float {name} must lie in [0, 1], found values in [{lo:.6g}, {hi:.6g}]")
        return f
    raise TypeError(f"{name} must be uint8, uint16, bool or float in [0, 1], got dtype {a.dtype}")


def resize_intensity(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an intensity map ``(H, W)`` float32 (box filter down, bilinear up; needs Pillow)."""
    if img.shape == (height, width):
        return img
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - vision extra missing
        raise ImportError("resizing inputs needs Pillow: pip install 'spikevision[vision]'") from exc
    shrink = height * width < img.shape[0] * img.shape[1]
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    out = np.asarray(Image.fromarray(np.ascontiguousarray(img, np.float32), mode="F").resize((width, height), method))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _target_size(h: int, w: int, height: int | None, width: int | None) -> tuple[int, int]:
    if height is None and width is None:
        return h, w
    if height is not None:
        height = check_positive_int(height, "height")
    if width is not None:
        width = check_positive_int(width, "width")
    if height is None:
        height = max(1, round(h * width / w))
    if width is None:
        width = max(1, round(w * height / h))
    # Refused before any work: the resized key images and the camera's per-pixel state (a few
    # float32 maps) would otherwise be allocated first, whatever the frame count.
    check_memory(16 * height * width, f"a {height}x{width} camera's resized images and per-pixel state")
    return height, width


@dataclass(frozen=True)
class IntensityPlan:
    """What the simulator lights the pixels with (built by :func:`plan_source`).

    ``key_images()`` yields flat intensity maps ``(H * W,)`` float32 at frame
    times ``0, F, 2F, ...``; ``n_frames`` is the stream length (``None`` when a
    video's length is unknown until it is read: the stream then ends ``F``
    frames after the last image).
    """

    height: int
    width: int
    n_frames: int | None
    frames_per_image: int
    key_images: Callable[[], Iterator[np.ndarray]]
    description: str


def _fit(img: np.ndarray, hw: tuple[int, int], name: str) -> np.ndarray:
    out = resize_intensity(img, *hw)
    return out.reshape(-1)


def _read_image_file(path: Path) -> np.ndarray:
    try:
        import imageio.v3 as iio
    except ImportError as exc:  # pragma: no cover
        raise ImportError("reading images needs imageio: pip install 'spikevision[vision]'") from exc
    try:
        return np.asarray(iio.imread(path))
    except ImportError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoders raise SyntaxError, struct.error, zlib.error ...
        raise OSError(f"cannot read the image {path}: {type(exc).__name__}: {exc}") from exc


def _count_video_frames(path: Path) -> int | None:
    try:
        import imageio.v3 as iio

        props = iio.improps(path)
        n = props.shape[0] if props.is_batch else 1
        if np.isfinite(n):
            return int(n)
        import imageio.v2 as iio2

        with iio2.get_reader(path) as r:
            return int(r.count_frames())
    except Exception:  # noqa: BLE001 - counting is an optimisation only
        return None


def _video_frames(path: Path) -> Iterator[np.ndarray]:
    try:
        import imageio.v3 as iio
    except ImportError as exc:  # pragma: no cover
        raise ImportError("reading videos needs imageio and imageio-ffmpeg: pip install 'spikevision[vision]'") from exc
    try:
        yield from iio.imiter(path)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ValueError(f"cannot decode video {path}: {exc}") from exc


def plan_source(
    source: Any,
    *,
    n_frames: int | None = None,
    frames_per_image: int | None = None,
    height: int | None = None,
    width: int | None = None,
) -> IntensityPlan:
    """Turn any simulator input into an :class:`IntensityPlan` (rules in the module docstring)."""
    if n_frames is not None:
        n_frames = check_positive_int(n_frames, "n_frames")
    if frames_per_image is not None:
        frames_per_image = check_positive_int(frames_per_image, "frames_per_image")

    if isinstance(source, (str, os.PathLike)):
        return _plan_path(Path(source), n_frames, frames_per_image, height, width)
    if callable(source) and not isinstance(source, np.ndarray):
        return _plan_callable(source, n_frames, frames_per_image, height, width)
    if isinstance(source, (list, tuple)):
        return _plan_list(list(source), n_frames, frames_per_image, height, width)
    if hasattr(source, "__array__") or isinstance(source, np.ndarray):
        return _plan_array(np.asarray(source), n_frames, frames_per_image, height, width, "array")
    raise TypeError(
        "source must be an image or image-sequence array, a list of images or paths, a file or folder path, "
        f"or a callable t -> (H, W); got {type(source).__name__}"
    )


def _still(img: np.ndarray, n_frames: int | None, height: int | None, width: int | None, desc: str) -> IntensityPlan:
    hw = _target_size(img.shape[0], img.shape[1], height, width)
    flat = _fit(img, hw, "image")
    t = n_frames or DEFAULT_STILL_FRAMES
    return IntensityPlan(hw[0], hw[1], t, t, lambda: iter([flat]), desc)


def _plan_array(a: np.ndarray, n_frames, fpi, height, width, desc) -> IntensityPlan:
    if a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (3, 4)):
        return _still(to_intensity(a), n_frames, height, width, f"still {desc}")
    if a.ndim not in (3, 4) or (a.ndim == 4 and a.shape[-1] not in (3, 4)):
        raise ValueError(f"an image-sequence array must be (N, H, W) or (N, H, W, 3|4), got shape {a.shape}")
    if a.shape[0] == 0 or a.size == 0:
        raise ValueError(f"the image sequence is empty (shape {a.shape})")
    f = fpi or DEFAULT_FRAMES_PER_IMAGE
    hw = _target_size(a.shape[1], a.shape[2], height, width)

    def keys() -> Iterator[np.ndarray]:
        for i in range(a.shape[0]):
            yield _fit(to_intensity(a[i], name=f"image {i}"), hw, f"image {i}")

    return IntensityPlan(hw[0], hw[1], n_frames or a.shape[0] * f, f, keys, f"{a.shape[0]} images ({desc})")


def _plan_list(items: list, n_frames, fpi, height, width) -> IntensityPlan:
    if not items:
        raise ValueError("the image sequence is empty (an empty list)")

    def load(item: Any, i: int) -> np.ndarray:
        if isinstance(item, (str, os.PathLike)):
            return to_intensity(_read_image_file(check_existing_file(item, f"image {i}")), name=str(item))
        return to_intensity(item, name=f"image {i}")

    first = load(items[0], 0)
    hw = _target_size(first.shape[0], first.shape[1], height, width)
    f = fpi or DEFAULT_FRAMES_PER_IMAGE

    def keys() -> Iterator[np.ndarray]:
        for i, item in enumerate(items):
            img = first if i == 0 else load(item, i)
            if i and img.shape != first.shape:
                raise ValueError(f"image {i} has size {img.shape}, expected {first.shape} like image 0")
            yield _fit(img, hw, f"image {i}")

    return IntensityPlan(hw[0], hw[1], n_frames or len(items) * f, f, keys, f"{len(items)} images")


def _plan_callable(fn: Callable, n_frames, fpi, height, width) -> IntensityPlan:
    if n_frames is None:
        raise ValueError("a callable source needs n_frames (its length is not known)")
    f = fpi or 1
    first = to_intensity(fn(0.0), name="intensity(0)")
    hw = _target_size(first.shape[0], first.shape[1], height, width)

    def keys() -> Iterator[np.ndarray]:
        k = 0
        while True:
            img = first if k == 0 else to_intensity(fn(float(k * f)), name=f"intensity({k * f})")
            if img.shape != first.shape:
                raise ValueError(f"intensity({k * f}) has shape {img.shape}, expected {first.shape} like intensity(0)")
            yield _fit(img, hw, "intensity")
            k += 1

    return IntensityPlan(hw[0], hw[1], n_frames, f, keys, f"callable {getattr(fn, '__qualname__', type(fn).__name__)}")


def _plan_path(p: Path, n_frames, fpi, height, width) -> IntensityPlan:
    if p.is_dir():
        files = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"folder {p} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        plan = _plan_list(files, n_frames, fpi, height, width)
        return IntensityPlan(plan.height, plan.width, plan.n_frames, plan.frames_per_image, plan.key_images,
                             f"{len(files)} images in {p}")
    check_existing_file(p, "input")
    suf = p.suffix.lower()
    if suf == ".npy":
        try:
            a = np.load(p, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"cannot read {p} as a numpy array: {exc}") from exc
        return _plan_array(a, n_frames, fpi, height, width, str(p))
    if suf in VIDEO_SUFFIXES and not (suf == ".gif" and _gif_is_still(p)):
        return _plan_video(p, n_frames, fpi, height, width)
    if suf in IMAGE_SUFFIXES or suf == ".gif":
        return _still(to_intensity(_read_image_file(p), name=str(p)), n_frames, height, width, f"still {p}")
    raise ValueError(
        f"unknown input type {suf!r} for {p}; expected .npy, an image ({', '.join(IMAGE_SUFFIXES)}), "
        f"a video ({', '.join(VIDEO_SUFFIXES)}) or a folder of images"
    )


def _gif_is_still(p: Path) -> bool:
    return _count_video_frames(p) == 1


def _plan_video(p: Path, n_frames, fpi, height, width) -> IntensityPlan:
    it = _video_frames(p)
    try:
        first = to_intensity(next(it), name=f"frame 0 of {p}")
    except StopIteration:
        raise ValueError(f"video {p} has no frames") from None
    finally:
        it.close()
    hw = _target_size(first.shape[0], first.shape[1], height, width)
    f = fpi or DEFAULT_FRAMES_PER_IMAGE
    if n_frames is None:
        count = _count_video_frames(p)
        n_frames = count * f if count else None

    def keys() -> Iterator[np.ndarray]:
        for i, frame in enumerate(_video_frames(p)):
            yield _fit(to_intensity(frame, name=f"frame {i} of {p}"), hw, "frame")

    return IntensityPlan(hw[0], hw[1], n_frames, f, keys, f"video {p}")
