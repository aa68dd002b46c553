"""Exports from the viewer: every file goes into one folder chosen at start, written atomically.

Names are made here from the recording's name, the panel and the frame
range (``clip_tfp_f100.png``, ``clip_raw_f100-400.mp4``, ``clip_f100-400.dat``);
a name that exists gets ``-2``, ``-3`` ... appended. Nothing a request sends
becomes part of a path except through :func:`safe_stem`.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..stream import SpikeStream
from .render import check_frame_range, frame_image

__all__ = ["Exporter", "safe_stem", "range_frames", "MAX_VIDEO_FRAMES", "VIDEO_SUFFIXES"]

#: Most frames one MP4/GIF export renders.
MAX_VIDEO_FRAMES = 3000

VIDEO_SUFFIXES = (".mp4", ".gif")


def safe_stem(text: str) -> str:
    """``text`` reduced to ``[A-Za-z0-9_.-]`` (at most 80 characters, no leading dot); ``"export"`` if nothing is left."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("._")[:80]
    return s or "export"


def range_frames(stream: SpikeStream, start: int, stop: int, *, method: str, window: int | None = None,
                 every: int = 1) -> np.ndarray:
    """Gray panel ``method`` (:func:`~spikevision.view.render.frame_image`) at frames ``start, start + every, ... < stop``.

    ``(N, H, W)`` float32 in [0, 1]; at most :data:`MAX_VIDEO_FRAMES` frames.
    """
    check_frame_range(stream, start, stop, "the export")
    times = range(start, stop, every)
    if len(times) > MAX_VIDEO_FRAMES:
        raise ValueError(f"the export would render {len(times)} frames; at most {MAX_VIDEO_FRAMES} "
                         f"(raise 'every' or shorten the range)")
    out = np.empty((len(times), stream.height, stream.width), np.float32)
    for i, t in enumerate(times):
        out[i] = frame_image(stream, t, method=method, window=window)
    return out


class Exporter:
    """Writes exports into ``folder`` (created on first use), atomically; returns the path written."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()

    def _target(self, stem: str, suffix: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        base = safe_stem(stem)
        p = self.folder / f"{base}{suffix}"
        k = 2
        while p.exists():
            p = self.folder / f"{base}-{k}{suffix}"
            k += 1
        return p

    def png(self, stem: str, image: Any) -> Path:
        """A gray ``(H, W)`` (float [0, 1] or uint8) or RGB ``(H, W, 3)`` uint8 image as PNG."""
        from ..io.atomic import atomic_open
        from .render import png_bytes

        data = png_bytes(image, fast=False)
        with self._lock:
            p = self._target(stem, ".png")
            with atomic_open(p, "wb") as fh:
                fh.write(data)
        return p

    def video(self, stem: str, frames: Any, *, suffix: str, fps: float) -> Path:
        """Gray frames ``(N, H, W)`` as ``.mp4`` or ``.gif`` (:func:`spikevision.viz.export.write_video`)."""
        from ..viz.export import write_video

        if suffix not in VIDEO_SUFFIXES:
            raise ValueError(f"video exports are {VIDEO_SUFFIXES}, got {suffix!r}")
        with self._lock:
            p = self._target(stem, suffix)
            write_video(p, frames, fps=fps)
        return p

    def dat(self, stem: str, stream: SpikeStream, start: int, stop: int) -> Path:
        """Frames ``[start, stop)`` as a ``.dat`` cut (:func:`spikevision.io.write_dat`, camera row order)."""
        from ..io.dat import write_dat

        check_frame_range(stream, start, stop, "the .dat cut")
        with self._lock:
            p = self._target(stem, ".dat")
            write_dat(p, stream[start:stop])
        return p
