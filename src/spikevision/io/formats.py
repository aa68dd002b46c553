"""Load and save spike streams by file suffix: ``.dat``, ``.h5``, ``.npy``, ``.npz``.

* ``.dat``: the camera format (:mod:`spikevision.io.dat`); needs the frame size.
* ``.h5`` / ``.hdf5``: the self-describing container (:mod:`spikevision.io.container`).
* ``.npy``: unpacked ``(T, H, W)`` uint8 0/1, row 0 on top; read memory-mapped.
* ``.npz``: key ``spikes`` (unpacked, as ``.npy``) plus ``rate_hz`` and
  ``attrs_json``; also reads archives that name the array ``spk`` (as the
  UHSR sample does).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import SpikeFormatError, check_binary_array, check_existing_file
from ..stream import DEFAULT_RATE_HZ, DenseSource, SpikeStream
from .atomic import atomic_open
from .container import read_h5, write_h5
from .dat import read_dat, write_dat

__all__ = ["load", "save", "SUFFIXES"]

SUFFIXES = (".dat", ".h5", ".hdf5", ".npy", ".npz")


def _suffix(path: Path) -> str:
    s = path.suffix.lower()
    if s not in SUFFIXES:
        raise ValueError(f"unknown spike file type {s!r} for {path}; expected one of {', '.join(SUFFIXES)}")
    return s


def load(
    path: str | os.PathLike,
    *,
    height: int | None = None,
    width: int | None = None,
    sensor: str | None = None,
    rate_hz: float | None = None,
    upright: bool = False,
    drop_partial: bool = False,
    header_bytes: int | None = None,
    layout: str | None = None,
) -> SpikeStream:
    """Open any supported spike file; ``height``/``width``/``sensor``/``upright``/``header_bytes``/``layout``
    apply to ``.dat`` only.

    A ``.dat`` file is opened by :func:`spikevision.io.sensor.open_dat`: with no size given, the size
    comes from its ``.json`` sidecar or is detected from the data (``sensor="auto"``); a given size
    that the data contradict is warned about.
    """
    p = Path(path)
    s = _suffix(p)
    if s == ".dat":
        from .sensor import open_dat

        return open_dat(p, height=height, width=width, sensor=sensor, rate_hz=rate_hz, upright=upright or None,
                        drop_partial=drop_partial, header_bytes=header_bytes, layout=layout)
    check_existing_file(p, "spike file")
    if s in (".h5", ".hdf5"):
        st = read_h5(p)
    elif s == ".npy":
        try:
            arr = np.load(p, mmap_mode="r")
        except ValueError as exc:
            raise SpikeFormatError(f"{p} is not a valid .npy file: {exc}") from exc
        if arr.ndim != 3 or arr.dtype not in (np.uint8, np.bool_):
            raise SpikeFormatError(f"{p}: expected a (T, H, W) uint8/bool array, got {arr.dtype} {arr.shape}")
        st = SpikeStream(DenseSource(arr.view(np.uint8)), attrs={"source": str(p)})
    else:
        try:
            z = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise SpikeFormatError(f"{p} is not a valid .npz file: {exc}") from exc
        with z:
            key = "spikes" if "spikes" in z else "spk" if "spk" in z else None
            if key is None:
                raise SpikeFormatError(f"{p}: no 'spikes' (or 'spk') array; keys are {sorted(z.files)}")
            arr = check_binary_array(z[key], f"{p.name}[{key}]")
            r = float(z["rate_hz"]) if "rate_hz" in z else DEFAULT_RATE_HZ
            attrs = json.loads(str(z["attrs_json"])) if "attrs_json" in z else {}
        st = SpikeStream(arr, rate_hz=r, attrs={**attrs, "source": str(p)})
    if rate_hz is not None:
        st = SpikeStream(st.source, rate_hz=rate_hz, attrs=st.attrs, first_frame=st.first_frame)
    return st


def save(path: str | os.PathLike, data: Any, *, upright: bool = False, progress: bool = False) -> Path:
    """Save a stream or ``(T, H, W)`` 0/1 array by suffix, atomically; return the path."""
    p = Path(path)
    s = _suffix(p)
    stream = data if isinstance(data, SpikeStream) else SpikeStream(check_binary_array(data))
    if s == ".dat":
        return write_dat(p, stream, upright=upright, progress=progress)
    if s in (".h5", ".hdf5"):
        return write_h5(p, stream, progress=progress)
    if stream.n_frames == 0:
        raise SpikeFormatError(f"refusing to write an empty {s} file: the stream has 0 frames")
    arr = stream.to_numpy()
    with atomic_open(p, "wb") as fh:
        if s == ".npy":
            np.save(fh, arr)
        else:
            buf = io.BytesIO()
            np.savez_compressed(buf, spikes=arr, rate_hz=np.float64(stream.rate_hz),
                                attrs_json=np.str_(json.dumps(dict(stream.attrs), default=str)))
            fh.write(buf.getvalue())
    return p
