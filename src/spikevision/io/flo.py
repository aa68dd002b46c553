"""Middlebury ``.flo`` optical-flow files.

Layout (stated here and only here)
----------------------------------
All values little-endian:

* bytes 0-3: the float32 ``202021.25`` (the ASCII tag ``PIEH``), a sanity check;
* bytes 4-7: int32 width ``W``; bytes 8-11: int32 height ``H``;
* then ``H * W * 2`` float32, row by row from the top row, each pixel ``(u, v)``:
  ``u`` horizontal (positive right), ``v`` vertical (positive down), in pixels.

Middlebury marks unknown flow with components larger than ``1e9``
(:data:`UNKNOWN_FLOW`); :func:`write_flo` refuses NaN and infinity, so mark
unknown pixels with that value (or keep a separate validity mask).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import SpikeFormatError, check_existing_file
from .atomic import atomic_open

__all__ = ["FLO_TAG", "UNKNOWN_FLOW", "read_flo", "write_flo"]

#: The float32 tag at the start of every ``.flo`` file (bytes ``PIEH``).
FLO_TAG = 202021.25
#: Components above this magnitude mean "unknown flow" in the Middlebury convention.
UNKNOWN_FLOW = 1e9
_MAX_SIDE = 1 << 16


def read_flo(path: str | os.PathLike) -> np.ndarray:
    """Read a Middlebury ``.flo`` file as ``(H, W, 2)`` float32 (``[..., 0]`` = u right, ``[..., 1]`` = v down).

    Raises :class:`~spikevision.SpikeFormatError` (a ``ValueError``) when the tag,
    the size fields or the file length are wrong.

    >>> flow = read_flo("frame_0001.flo")  # doctest: +SKIP
    >>> flow.shape                         # doctest: +SKIP
    (436, 1024, 2)
    """
    p = check_existing_file(path, ".flo file")
    raw = p.read_bytes()
    if len(raw) < 12:
        raise SpikeFormatError(f"{p} has {len(raw)} bytes, fewer than the 12-byte .flo header")
    tag = float(np.frombuffer(raw, "<f4", 1, 0)[0])
    if tag != FLO_TAG:
        raise SpikeFormatError(f"{p} is not a .flo file: tag {tag!r} (bytes {raw[:4]!r}), expected {FLO_TAG} (b'PIEH')")
    w, h = (int(v) for v in np.frombuffer(raw, "<i4", 2, 4))
    if not (0 < w <= _MAX_SIDE and 0 < h <= _MAX_SIDE):
        raise SpikeFormatError(f"{p} declares an implausible size {w} x {h} (width x height)")
    need = 12 + 8 * w * h
    if len(raw) != need:
        raise SpikeFormatError(f"{p} has {len(raw)} bytes; a {w} x {h} flow needs {need}")
    return np.frombuffer(raw, "<f4", 2 * w * h, 12).reshape(h, w, 2).astype(np.float32)


def write_flo(path: str | os.PathLike, flow: Any) -> Path:
    """Write ``(H, W, 2)`` flow (u right, v down, pixels) to a Middlebury ``.flo`` file atomically.

    Values are stored as float32. NaN and infinity are refused (use
    :data:`UNKNOWN_FLOW`-sized values or a separate mask for unknown flow).
    Returns the path.
    """
    f = np.asarray(flow)
    if f.ndim != 3 or f.shape[2] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {f.shape}")
    h, w = f.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"flow is empty (shape {f.shape})")
    if h > _MAX_SIDE or w > _MAX_SIDE:
        raise ValueError(f"flow of {h} x {w} is larger than the {_MAX_SIDE}-pixel side this writer allows")
    if f.dtype == np.bool_ or not (np.issubdtype(f.dtype, np.floating) or np.issubdtype(f.dtype, np.integer)):
        raise TypeError(f"flow must be a real-valued array, got dtype {f.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        f32 = np.ascontiguousarray(f, dtype="<f4")
    if not np.isfinite(f32).all():
        raise ValueError("flow contains NaN or infinite values (or values too large for float32)")
    out = Path(path)
    with atomic_open(out, "wb") as fh:
        fh.write(np.array([FLO_TAG], "<f4").tobytes())
        fh.write(np.array([w, h], "<i4").tobytes())
        fh.write(f32.tobytes())
    return out
