"""Write images, image sequences and spike streams as PNG / MP4 / GIF / NPY.

Arrays first: :func:`to_uint8` and :func:`spike_frames` return arrays;
:func:`write_images` and :func:`export_spikes` only save. Every file is
written atomically (:mod:`spikevision.io.atomic`): an interrupted export
leaves no partial file.

Formats, chosen by the output suffix
------------------------------------
``.png``
    One gray image, 8-bit (``(H, W)``, or a sequence of exactly one frame).
``.mp4``
    H.264 (``libx264``, ``yuv420p``) through imageio + imageio-ffmpeg (its
    wheel ships ffmpeg). Odd heights/widths are padded by one edge row/column
    (H.264 needs even sizes); every frame is written, none dropped.
``.gif``
    Looping GIF through imageio (Pillow), frame duration ``1000 / fps`` ms.
``.npy``
    The float32 array itself, ``(H, W)`` or ``(N, H, W)``, values in [0, 1].

Images are float in ``[0, 1]`` (what :func:`spikevision.recon.reconstruct`
returns) or ``uint8``; float values are clipped and rounded to 8 bits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_positive_float, check_positive_int

__all__ = ["to_uint8", "spike_frames", "write_images", "write_png", "write_png_sequence", "write_video",
           "export_spikes", "is_folder_output", "IMAGE_SUFFIXES"]

#: Frame rates a video file can hold (GIF stores frame durations in 1/100 s, at most 655.35 s).
MIN_FPS, MAX_FPS = 1.0 / 655.0, 1000.0

#: Output suffixes understood by :func:`write_images`.
IMAGE_SUFFIXES = (".png", ".mp4", ".gif", ".npy")


def _check_frames(images: Any, name: str = "images") -> np.ndarray:
    a = np.asarray(images)
    if a.ndim not in (2, 3):
        raise ValueError(f"{name} must be (H, W) or (N, H, W), got shape {a.shape}")
    if a.dtype != np.uint8 and not np.issubdtype(a.dtype, np.floating) and a.dtype != np.bool_:
        raise TypeError(f"{name} must be float in [0, 1] or uint8, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating) and a.size and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def to_uint8(images: Any) -> np.ndarray:
    """Float images in [0, 1] (clipped) or uint8 images → uint8, same shape.

    >>> to_uint8(np.array([[0.0, 0.5, 1.2]])).tolist()
    [[0, 128, 255]]
    """
    a = _check_frames(images)
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    return np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)


def spike_frames(spikes: Any, *, mean: int = 1, every: int = 1, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Viewable frames of a spike stream, ``(N, H, W)`` float32 in [0, 1].

    ``mean=1`` gives the raw binary frames (0 or 1); ``mean=m`` averages the
    ``m`` frames ``[i, i + m)`` (a short temporal mean, easier to look at).
    Frames start at ``start`` and advance by ``every``; only frames whose
    whole mean fits before ``stop`` (default the end) are returned.

    >>> s = np.zeros((6, 1, 1), np.uint8); s[::2] = 1
    >>> spike_frames(s, mean=2, every=2).ravel().tolist()
    [0.5, 0.5, 0.5]
    """
    from ..stream import SpikeStream, as_stream

    stream = spikes if isinstance(spikes, SpikeStream) else as_stream(spikes)
    mean = check_positive_int(mean, "mean")
    every = check_positive_int(every, "every")
    start = check_positive_int(start, "start", allow_zero=True)
    stop = stream.n_frames if stop is None else min(check_positive_int(stop, "stop", allow_zero=True), stream.n_frames)
    # range, not np.arange: a stride like 1e20 does not fit int64 and would turn the indices into floats.
    firsts = np.array(range(start, max(start, stop - mean + 1), every)[: stream.n_frames], dtype=np.int64)
    out = np.empty((len(firsts), stream.height, stream.width), np.float32)
    if len(firsts) == 0:
        return out
    frames = stream.frames(int(firsts[0]), int(firsts[-1]) + mean)
    csum = np.zeros((len(frames) + 1, stream.height, stream.width), np.uint32)
    np.cumsum(frames, axis=0, dtype=np.uint32, out=csum[1:])
    rel = firsts - firsts[0]
    out[:] = (csum[rel + mean] - csum[rel]) / np.float32(mean)
    return out


def write_png(path: str | os.PathLike, image: Any) -> Path:
    """Write one ``(H, W)`` gray image (float [0, 1] or uint8) as an 8-bit PNG, atomically."""
    from PIL import Image

    from ..io.atomic import atomic_path

    a = to_uint8(image)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"a PNG holds one image: expected (H, W) or (1, H, W), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"cannot write an empty image (shape {a.shape})")
    with atomic_path(path) as tmp:
        Image.fromarray(a, mode="L").save(tmp, format="PNG")
    return Path(path)


def write_video(path: str | os.PathLike, images: Any, *, fps: float = 30.0, progress: bool = False) -> Path:
    """Write ``(N, H, W)`` gray frames as ``.mp4`` (H.264) or ``.gif``, atomically (see the module docstring)."""
    from ..io.atomic import atomic_path
    from ..progress import progress_bar

    fps = check_positive_float(fps, "fps")
    if not MIN_FPS <= fps <= MAX_FPS:
        raise ValueError(f"fps must lie in [{MIN_FPS:g}, {MAX_FPS:g}] for a video file, got {fps:g}")
    suffix = Path(path).suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"video path must end in .mp4 or .gif, got {suffix!r}")
    a = _check_frames(images)
    if a.ndim != 3 or a.shape[0] == 0 or a.shape[1] == 0 or a.shape[2] == 0:
        raise ValueError(f"a video needs frames (N, H, W) with N, H, W >= 1, got shape {a.shape}")
    try:
        import imageio.v2 as imageio
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("writing videos needs imageio and imageio-ffmpeg: pip install 'spikevision[vision]'") from exc
    with atomic_path(path) as tmp, progress_bar(total=len(a), desc=f"write {suffix[1:]}", enabled=progress,
                                                unit="frame") as bar:
        if suffix == ".mp4":
            pad = ((0, a.shape[1] % 2), (0, a.shape[2] % 2))
            writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                        pixelformat="yuv420p", macro_block_size=1, quality=8,
                                        ffmpeg_log_level="error")
        else:
            pad = ((0, 0), (0, 0))
            writer = imageio.get_writer(tmp, format="GIF", mode="I", duration=1000.0 / fps, loop=0)
        try:
            for frame in a:
                f8 = to_uint8(frame)
                if pad != ((0, 0), (0, 0)):
                    f8 = np.pad(f8, pad, mode="edge")
                writer.append_data(f8)
                bar.update(1)
        finally:
            writer.close()
    return Path(path)


def is_folder_output(path: str | os.PathLike) -> bool:
    """Whether an output path names a folder (a PNG sequence): it ends in ``/``, is an existing folder,
    or has no suffix."""
    s = str(path)
    return s.endswith(("/", os.sep)) or Path(s).is_dir() or Path(s).suffix == ""


def write_png_sequence(folder: str | os.PathLike, images: Any, *, indices: Any = None, prefix: str = "frame_",
                       progress: bool = False) -> list[Path]:
    """Write ``(N, H, W)`` images (or ``(N, H, W, 3)`` uint8 RGB) as ``folder/frame_000020.png`` ...

    ``indices`` (default ``0..N-1``) number the files, e.g. the frame indices that
    :func:`spikevision.recon.reconstruct` returned images for; the numbers are zero-padded
    to six digits so the files sort in time order. Each file is written atomically.
    """
    from PIL import Image

    from ..io.atomic import atomic_path
    from ..progress import progress_bar

    a = np.asarray(images)
    if a.ndim == 2:
        a = a[None]
    if a.ndim not in (3, 4) or a.shape[0] == 0 or (a.ndim == 4 and a.shape[-1] != 3):
        raise ValueError(f"a PNG sequence needs (N, H, W) or (N, H, W, 3) images with N >= 1, got shape {a.shape}")
    idx = np.arange(len(a)) if indices is None else np.asarray(indices, np.int64)
    if idx.shape != (len(a),):
        raise ValueError(f"indices must have one entry per image ({len(a)}), got shape {idx.shape}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with progress_bar(total=len(a), desc=f"write {out.name or out}/", enabled=progress, unit="png") as bar:
        for i, img in zip(idx, a):
            p = out / f"{prefix}{int(i):06d}.png"
            rgb = img if (img.ndim == 3 and img.dtype == np.uint8) else None
            with atomic_path(p) as tmp:
                if rgb is not None:
                    Image.fromarray(rgb, mode="RGB").save(tmp, format="PNG")
                else:
                    Image.fromarray(to_uint8(img), mode="L").save(tmp, format="PNG")
            paths.append(p)
            bar.update(1)
    return paths


def write_images(path: str | os.PathLike, images: Any, *, fps: float = 30.0, progress: bool = False,
                 indices: Any = None) -> Path:
    """Save ``(H, W)`` or ``(N, H, W)`` images by suffix: ``.png`` (one frame), ``.mp4``, ``.gif``, ``.npy``,
    or a folder (a path ending in ``/``, an existing folder, or no suffix): a PNG sequence
    (:func:`write_png_sequence`, files numbered by ``indices``)."""
    from ..io.atomic import atomic_open

    if is_folder_output(path):
        write_png_sequence(path, images, indices=indices, progress=progress)
        return Path(path)
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f"unknown output type {suffix!r} for {path}; expected one of {', '.join(IMAGE_SUFFIXES)} "
                         f"or a folder (ending in /) for a PNG sequence")
    a = _check_frames(images)
    if suffix == ".png":
        if a.ndim == 3 and a.shape[0] != 1:
            raise ValueError(f"a .png holds one frame, got {a.shape[0]} frames: use .mp4, .gif or .npy")
        return write_png(path, a)
    if suffix == ".npy":
        out = a if a.dtype == np.uint8 else a.astype(np.float32, copy=False)
        with atomic_open(path, "wb") as fh:
            np.save(fh, out)
        return Path(path)
    if a.ndim == 2:
        a = a[None]
    return write_video(path, a, fps=fps, progress=progress)


def export_spikes(path: str | os.PathLike, spikes: Any, *, mean: int = 1, every: int = 1, start: int = 0,
                  stop: int | None = None, fps: float = 30.0, progress: bool = False) -> Path:
    """Save a spike stream as a video/array of viewable frames (:func:`spike_frames`), by suffix.

    Raises ``ValueError`` when ``start``/``stop``/``mean`` leave no frame to write.
    """
    frames = spike_frames(spikes, mean=mean, every=every, start=start, stop=stop)
    if len(frames) == 0:
        n = spikes.n_frames if hasattr(spikes, "n_frames") else len(spikes)
        raise ValueError(f"no frame to export: start={start}, stop={stop}, mean={mean} select no whole window "
                         f"of the {n}-frame stream")
    return write_images(path, frames, fps=fps, progress=progress)
