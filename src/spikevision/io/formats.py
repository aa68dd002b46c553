"""Load and save spike streams by file suffix: ``.dat``, ``.h5``, ``.npy``, ``.npz``.

* ``.dat``: the camera format (:mod:`spikevision.io.dat`); needs the frame size.
* ``.h5`` / ``.hdf5``: the self-describing container (:mod:`spikevision.io.container`).
* ``.npy``: unpacked ``(T, H, W)`` uint8 (or bool) 0/1, row 0 on top, C order.
  Read lazily with ``pread`` (no memory map, so a file truncated underneath
  gives an error, not ``SIGBUS``); every window is checked to hold only 0/1
  when it is decoded or counted (a ``max`` over the bytes just read).
* ``.npz``: members ``spikes`` (unpacked, as ``.npy``), ``rate_hz`` (float64
  scalar) and ``attrs_json`` (string scalar), exactly these three; also reads
  foreign archives that name the array ``spk`` (as the UHSR sample does; their
  other members are ignored, the rate is 20 kHz unless given).

What each reader checks before it trusts a file: ``docs/robustness.md``.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import SpikeFormatError, check_binary_array, check_existing_file, check_memory, check_positive_float
from ..stream import SpikeStream
from .atomic import atomic_open
from .container import read_h5, write_h5
from .dat import FileRows, read_dat, write_dat

__all__ = ["load", "save", "SUFFIXES", "read_npy", "read_npz"]

SUFFIXES = (".dat", ".h5", ".hdf5", ".npy", ".npz")
_NPZ_MEMBERS = {"spikes", "rate_hz", "attrs_json"}


def _suffix(path: Path) -> str:
    s = path.suffix.lower()
    if s not in SUFFIXES:
        raise ValueError(f"unknown spike file type {s!r} for {path}; expected one of {', '.join(SUFFIXES)}")
    return s


def _npy_header(fh: Any, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the ``.npy`` stream at ``fh`` (positioned at its start)."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=10_000)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=10_000)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except Exception as exc:  # noqa: BLE001 - the header parser raises TokenError, SyntaxError, OverflowError ...
        raise SpikeFormatError(f"{where} does not start with a valid .npy header: {type(exc).__name__}: {exc}") from exc
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise SpikeFormatError(f"{where}: the .npy header's shape must be a tuple of integers, got {shape!r}")
    return shape, bool(fortran), np.dtype(dtype)


def _check_spike_header(shape: tuple[int, ...], fortran: bool, dtype: np.dtype, where: str) -> tuple[int, int, int]:
    if dtype not in (np.dtype(np.uint8), np.dtype(np.bool_)):
        raise SpikeFormatError(f"{where}: expected a (T, H, W) uint8/bool array of 0/1, got dtype {dtype}")
    if len(shape) != 3 or min(shape) < 0:
        raise SpikeFormatError(f"{where}: expected a (T, H, W) array, got shape {shape}")
    if shape[0] == 0 or shape[1] == 0 or shape[2] == 0:
        raise SpikeFormatError(f"{where} holds no spike frames (shape {shape})")
    if fortran:
        raise SpikeFormatError(f"{where} is stored in Fortran order; save it with np.save(path, np.ascontiguousarray(a))")
    return shape  # type: ignore[return-value]


class _NpyFrames:
    """Frames of a ``.npy`` file, read with ``pread`` and checked to hold only 0/1 as they are read."""

    def __init__(self, path: Path, shape: tuple[int, int, int], offset: int) -> None:
        t, self.height, self.width = shape
        self.path = path
        self._rows = FileRows(path, t, self.height * self.width, offset=offset)

    def __len__(self) -> int:
        return len(self._rows)

    def _read(self, start: int, stop: int, scratch: np.ndarray | None = None) -> np.ndarray:
        a = self._rows[start:stop] if scratch is None else self._rows.read_into(start, stop, scratch)
        if a.size and a.max() > 1:
            raise SpikeFormatError(
                f"{self.path}: frames [{start}, {stop}) hold the value {int(a.max())}; spike files hold only 0 and 1"
            )
        return a

    def decode(self, start: int, stop: int) -> np.ndarray:
        check_memory(max(0, stop - start) * self.height * self.width, f"reading frames [{start}, {stop}) of {self.path}")
        return self._read(start, stop).reshape(-1, self.height, self.width)

    def counts(self, start: int, stop: int) -> np.ndarray:
        out = np.empty(max(0, stop - start), np.int64)
        step = max(1, (1 << 20) // (self.height * self.width))  # ~1 MB reused buffer: stays in cache
        scratch = np.empty((min(step, max(0, stop - start)), self.height * self.width), np.uint8)
        for i in range(start, stop, step):
            j = min(i + step, stop)
            out[i - start : j - start] = self._read(i, j, scratch).sum(axis=1, dtype=np.int64)
        return out

    def close(self) -> None:
        self._rows.close()


def read_npy(path: str | os.PathLike) -> SpikeStream:
    """Open a ``(T, H, W)`` uint8/bool 0/1 ``.npy`` file lazily (frames are read and checked on demand).

    The header is parsed with a size limit and its shape checked against the
    file's real length before anything is read. Raises
    :class:`~spikevision.SpikeFormatError` for a broken header, another dtype
    or shape, a length mismatch, or (when frames are read) values other than 0/1.

    >>> s = read_npy("clip.npy")  # doctest: +SKIP
    """
    p = check_existing_file(path, ".npy file")
    with open(p, "rb") as fh:
        shape, fortran, dtype = _npy_header(fh, str(p))
        offset = fh.tell()
    t, h, w = _check_spike_header(shape, fortran, dtype, str(p))
    size = p.stat().st_size
    if size != offset + t * h * w:
        raise SpikeFormatError(f"{p} has {size} bytes; its header's shape {shape} needs {offset + t * h * w}")
    return SpikeStream(_NpyFrames(p, (t, h, w), offset), attrs={"source": str(p)})


def _npz_member(zf: zipfile.ZipFile, name: str, where: str) -> np.ndarray:
    info = zf.getinfo(name)
    check_memory(info.file_size, f"member {name} of {where}")
    with zf.open(info) as fh:
        shape, fortran, dtype = _npy_header(fh, f"{where}[{name}]")
        if dtype.hasobject or fortran:
            raise SpikeFormatError(f"{where}[{name}]: object arrays and Fortran order are not read")
        n = math.prod(shape) * dtype.itemsize
        check_memory(n, f"member {name} of {where}")
        data = fh.read(info.file_size + 1)  # reading to the end makes zipfile check the member's CRC
    start = len(data) - n
    if start != 0:
        raise SpikeFormatError(f"{where}[{name}]: the header's shape {shape} ({dtype}) needs {n} bytes, got {len(data)}")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def read_npz(path: str | os.PathLike) -> SpikeStream:
    """Read a ``.npz`` spike archive written by :func:`save` (or a foreign one holding ``spk``).

    The archive must hold exactly ``spikes``, ``rate_hz`` and ``attrs_json``
    (a renamed or missing member is an error, not a silent default); member
    sizes are checked against the memory budget before they are inflated, and
    every zip or zlib failure becomes a :class:`~spikevision.SpikeFormatError`.
    """
    p = check_existing_file(path, ".npz file")
    where = str(p)
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
            members = {n.removesuffix(".npy"): n for n in names}
            if len(members) != len(names):
                raise SpikeFormatError(f"{p}: duplicate member names {sorted(names)}")
            if "spikes" in members:
                if set(members) != _NPZ_MEMBERS:
                    raise SpikeFormatError(
                        f"{p}: a spikevision .npz holds exactly {sorted(_NPZ_MEMBERS)}, found {sorted(members)}"
                    )
                arr = _npz_member(zf, members["spikes"], where)
                rate = _npz_member(zf, members["rate_hz"], where)
                text = _npz_member(zf, members["attrs_json"], where)
                key = "spikes"
            elif "spk" in members:
                arr, rate, text, key = _npz_member(zf, members["spk"], where), None, None, "spk"
            else:
                raise SpikeFormatError(f"{p}: no 'spikes' (or 'spk') array; keys are {sorted(members)}")
    except SpikeFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile/zlib raise BadZipFile, zlib.error, EOFError, NotImplementedError ...
        raise SpikeFormatError(f"{p} is not a valid .npz archive: {type(exc).__name__}: {exc}") from exc
    if arr.dtype not in (np.dtype(np.uint8), np.dtype(np.bool_)) or arr.ndim != 3 or 0 in arr.shape:
        raise SpikeFormatError(f"{p}[{key}]: expected a non-empty (T, H, W) uint8/bool array, got {arr.dtype} {arr.shape}")
    arr = check_binary_array(arr.view(np.uint8), f"{p.name}[{key}]")
    attrs: dict[str, Any] = {}
    kw: dict[str, Any] = {}
    if rate is not None:
        if rate.shape != () or rate.dtype.kind not in "fiu":
            raise SpikeFormatError(f"{p}[rate_hz]: expected a number, got {rate.dtype} {rate.shape}")
        try:
            kw["rate_hz"] = check_positive_float(rate.item(), "rate_hz")
        except ValueError as exc:
            raise SpikeFormatError(f"{p}[rate_hz]: {exc}") from exc
        if text.shape != () or text.dtype.kind != "U":
            raise SpikeFormatError(f"{p}[attrs_json]: expected a string, got {text.dtype} {text.shape}")
        try:
            attrs = json.loads(str(text.item()))
        except json.JSONDecodeError as exc:
            raise SpikeFormatError(f"{p}[attrs_json] is not valid JSON: {exc}") from exc
        if not isinstance(attrs, dict):
            raise SpikeFormatError(f"{p}[attrs_json]: expected a JSON object, got {type(attrs).__name__}")
    return SpikeStream(arr, attrs={**attrs, "source": str(p)}, **kw)


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
    if rate_hz is not None:
        rate_hz = check_positive_float(rate_hz, "rate_hz")  # 0 is an error, not "the default"
    if s == ".dat":
        from .sensor import open_dat

        return open_dat(p, height=height, width=width, sensor=sensor, rate_hz=rate_hz, upright=upright or None,
                        drop_partial=drop_partial, header_bytes=header_bytes, layout=layout)
    check_existing_file(p, "spike file")
    if s in (".h5", ".hdf5"):
        st = read_h5(p)
    elif s == ".npy":
        st = read_npy(p)
    else:
        st = read_npz(p)
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
