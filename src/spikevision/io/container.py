"""Self-describing HDF5 container for spike data (``.h5``; needs the ``h5`` extra).

Why HDF5 (h5py): one portable file that MATLAB, HDFView, C and Julia read
without spikevision, chunked random access, built-in compression, and a
format stable for decades. zarr reads windows a little faster but stores a
directory of files (or a zip) and is less widely readable.

Layout
------
* dataset ``/spikes``: ``uint8`` ``(T, frame_bytes)``, each row one frame packed
  exactly as in a ``.dat`` file (see :mod:`spikevision.io.dat`), chunked by
  ``chunk_frames`` frames and compressed (gzip by default).
* attributes of ``/spikes``: ``format = "spikevision.spikes"``,
  ``format_version = 1``, ``height``, ``width``, ``rate_hz``,
  ``rows = "bottom-up" | "top-down"`` (storage order of rows),
  ``bitorder = "little"``, ``first_frame`` and ``attrs_json`` (the stream's
  free-form attributes as JSON).

A stream read from a ``.dat`` file keeps its bottom-up rows, so
``.dat -> .h5 -> .dat`` is byte-exact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import SpikeFormatError, check_binary_array, check_existing_file, check_positive_int
from ..stream import SpikeStream
from .atomic import atomic_path
from .dat import PackedSource, _packed_chunks, _progress, frame_bytes, unwrap_source

__all__ = ["write_h5", "read_h5", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "spikevision.spikes"
FORMAT_VERSION = 1


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise ImportError("the HDF5 container needs h5py: pip install 'spikevision[h5]'") from exc
    return h5py


def _stored_upright(stream: SpikeStream) -> bool:
    src, _ = unwrap_source(stream)
    return src.upright if isinstance(src, PackedSource) else True


def write_h5(
    path: str | os.PathLike,
    data: Any,
    *,
    compression: str | None = "gzip",
    chunk_frames: int = 64,
    progress: bool = False,
) -> Path:
    """Write a stream (or ``(T, H, W)`` 0/1 array) to an HDF5 container, atomically."""
    h5py = _h5py()
    stream = data if isinstance(data, SpikeStream) else SpikeStream(check_binary_array(data))
    if stream.n_frames == 0:
        raise SpikeFormatError("refusing to write an empty container: the stream has 0 frames")
    chunk_frames = check_positive_int(chunk_frames, "chunk_frames")
    upright = _stored_upright(stream)
    nb = frame_bytes(stream.height, stream.width)
    out = Path(path)
    bar = _progress(stream.n_frames, f"writing {out.name}", progress)
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            ds = f.create_dataset(
                "spikes",
                shape=(stream.n_frames, nb),
                dtype=np.uint8,
                chunks=(min(chunk_frames, stream.n_frames), nb),
                compression=compression,
            )
            i = 0
            for packed in _packed_chunks(stream, upright, max(chunk_frames, 1024)):
                ds[i : i + len(packed)] = packed
                i += len(packed)
                bar.update(len(packed))
            ds.attrs.update(
                format=FORMAT_NAME,
                format_version=FORMAT_VERSION,
                height=stream.height,
                width=stream.width,
                rate_hz=stream.rate_hz,
                rows="top-down" if upright else "bottom-up",
                bitorder="little",
                first_frame=stream.first_frame,
                attrs_json=json.dumps(dict(stream.attrs), default=str),
            )
    bar.close()
    return out


def read_h5(path: str | os.PathLike) -> SpikeStream:
    """Open an HDF5 spike container lazily; close it with ``stream.close()`` or ``with``."""
    h5py = _h5py()
    p = check_existing_file(path, "container")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise SpikeFormatError(f"{p} is not a readable HDF5 file: {exc}") from exc
    try:
        if "spikes" not in f:
            raise SpikeFormatError(f"{p} has no '/spikes' dataset; not a spikevision container")
        ds = f["spikes"]
        a = ds.attrs
        if a.get("format") != FORMAT_NAME:
            raise SpikeFormatError(f"{p}: expected format {FORMAT_NAME!r}, found {a.get('format')!r}")
        if int(a.get("format_version", -1)) > FORMAT_VERSION:
            raise SpikeFormatError(f"{p}: format version {a['format_version']} is newer than this reader ({FORMAT_VERSION})")
        if a.get("bitorder") != "little" or a.get("rows") not in ("top-down", "bottom-up"):
            raise SpikeFormatError(f"{p}: unsupported bit order {a.get('bitorder')!r} or row order {a.get('rows')!r}")
        src = PackedSource(ds, int(a["height"]), int(a["width"]), upright=a["rows"] == "top-down", closer=f.close)
        attrs = json.loads(a.get("attrs_json", "{}"))
        return SpikeStream(src, rate_hz=float(a["rate_hz"]), attrs=attrs, first_frame=int(a.get("first_frame", 0)))
    except BaseException:
        f.close()
        raise
