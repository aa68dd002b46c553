"""Unlabeled recordings: any folder of ``.dat`` / ``.h5`` / ``.npz`` spike files (for self-supervised losses).

``.dat`` files do not store their frame size: it comes from ``sensor`` (e.g. ``"vidar"``),
``height`` and ``width``, the file's ``.json`` sidecar, or detection from the data
(:func:`spikevision.io.sensor.open_dat`). Files are opened lazily and memory-mapped where the
format allows (:func:`spikevision.io.formats.load`).

>>> paths = find_recordings("captures/")                          # doctest: +SKIP
>>> window = read_window(paths[0], 200, 41, sensor="vidar")       # (41, H, W) uint8
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .recon import DatasetError

__all__ = ["RECORDING_SUFFIXES", "find_recordings", "open_recording", "read_window"]

#: File endings of spike recordings.
RECORDING_SUFFIXES = (".dat", ".h5", ".hdf5", ".npz", ".npy")


def find_recordings(root: str | os.PathLike) -> list[Path]:
    """Every spike file below ``root`` (recursively, sorted); :class:`DatasetError` if there is none."""
    p = Path(root)
    if not p.is_dir():
        raise FileNotFoundError(f"data folder not found: {p}")
    files = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in RECORDING_SUFFIXES)
    if not files:
        raise DatasetError(f"{p}: no spike recordings ({', '.join(RECORDING_SUFFIXES)})")
    return files


def open_recording(path: str | os.PathLike, *, sensor: str | None = None, height: int | None = None,
                   width: int | None = None, upright: bool = False) -> Any:
    """A :class:`~spikevision.SpikeStream` of one recording (a ``.dat``'s size: ``sensor``, ``height``/``width``,
    its sidecar or detection, as :func:`spikevision.io.load` does)."""
    from ..io.formats import load

    return load(Path(path), sensor=sensor, height=height, width=width, upright=upright)


def read_window(path: str | os.PathLike, at: int, window: int, **kwargs: Any) -> np.ndarray:
    """The ``window`` frames centred on frame ``at`` of a recording, ``(window, H, W)`` uint8."""
    with open_recording(path, **kwargs) as s:
        lo = at - window // 2
        if lo < 0 or lo + window > s.n_frames:
            raise DatasetError(f"{path}: frames [{lo}, {lo + window}) are outside the recording's {s.n_frames}")
        return np.asarray(s.window(at, window), np.uint8)
