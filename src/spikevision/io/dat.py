"""The headerless ``.dat`` spike format of PKU spike cameras (Vidar).

Layout (stated here and only here)
----------------------------------
* No header. Frames follow one another; each frame takes
  ``frame_bytes(H, W) = ceil(H * W / 8)`` bytes.
* Within a frame, pixel ``p = r_file * W + c`` is bit ``p % 8`` of byte
  ``p // 8``: **least significant bit first** (``numpy.packbits(...,
  bitorder="little")``).
* Rows are stored **bottom-to-top**: file row ``r_file = 0`` is the bottom row
  of the image, so the reader flips each frame vertically to give row 0 on top.
  Some datasets (e.g. SPIFT/PHM) store rows top-to-bottom: pass
  ``upright=True``.
* When ``H * W`` is not a multiple of 8, each frame is padded to a whole byte
  with zero bits in the high positions of its last byte; the next frame starts
  on a byte boundary. Readers ignore the padding bits (they are not counted as
  spikes); writers set them to zero.
* Height and width are not in the file. Pass them, or name a sensor from
  :data:`SENSORS` (``"vidar"`` = 250 x 400, ``"1000x1000"``, ``"spift"`` = 500 x 800).

Reading is lazy: frames are decoded only when asked for, so any window of a
multi-GB file costs memory proportional to the window. The packed bytes of a
window are read with ``pread`` (not through a memory map), so a file that
another process truncates while it is being read gives a
:class:`~spikevision.SpikeFormatError` naming the file, never a ``SIGBUS``
(see ``docs/robustness.md`` for the measured cost). Spike counts are taken
from the packed bytes by population count, without unpacking.

A ``.dat`` written by :func:`spikevision.sim.simulate_to_dat` has a JSON
sidecar (``clip.dat`` -> ``clip.json``) with its frame size; :func:`read_dat`
uses it when no size is given, after checking that the sidecar describes this
very file (:func:`read_sidecar`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import weakref
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .._checks import (
    SpikeFormatError,
    check_binary_array,
    check_existing_file,
    check_memory,
    check_positive_float,
    check_positive_int,
)
from ..stream import DEFAULT_RATE_HZ, SpikeStream
from .atomic import atomic_open

__all__ = [
    "SENSORS",
    "frame_bytes",
    "resolve_size",
    "pack_frames",
    "unpack_frames",
    "PackedSource",
    "FileRows",
    "file_sha256",
    "read_dat",
    "read_sidecar",
    "write_dat",
    "DatWriter",
    "SIDECAR_FORMAT",
]

#: ``format`` field of the JSON sidecar written next to a simulated ``.dat``.
SIDECAR_FORMAT = "spikevision.dat-sidecar/1"

#: Named sensor sizes ``(height, width)``.
SENSORS: dict[str, tuple[int, int]] = {
    "vidar": (250, 400),
    "250x400": (250, 400),
    "1000x1000": (1000, 1000),
    "spift": (500, 800),
    "phm": (500, 800),
    "500x800": (500, 800),
}


def frame_bytes(height: int, width: int) -> int:
    """Bytes one ``height x width`` frame takes in a ``.dat`` file: ``ceil(H*W/8)``."""
    return (check_positive_int(height, "height") * check_positive_int(width, "width") + 7) // 8


def resolve_size(height: int | None = None, width: int | None = None, sensor: str | None = None) -> tuple[int, int]:
    """Return ``(height, width)`` from explicit values or a sensor name (``"vidar"``, ``"250x400"`` ...)."""
    if sensor is not None:
        if height is not None or width is not None:
            raise ValueError("give either sensor=... or height=/width=, not both")
        key = str(sensor).lower()
        if key in SENSORS:
            return SENSORS[key]
        m = re.fullmatch(r"(\d+)x(\d+)", key)
        if m:
            return check_positive_int(int(m[1]), "height"), check_positive_int(int(m[2]), "width")
        raise ValueError(f"unknown sensor {sensor!r}; expected one of {sorted(SENSORS)} or 'HxW'")
    if height is None or width is None:
        raise ValueError(
            "a .dat file does not store its frame size: pass height= and width= "
            f"(or sensor=, one of {sorted(SENSORS)}); got height={height}, width={width}"
        )
    return check_positive_int(height, "height"), check_positive_int(width, "width")


def pack_frames(frames: np.ndarray, *, upright: bool = False) -> np.ndarray:
    """Pack upright 0/1 frames ``(n, H, W)`` into ``.dat`` bytes ``(n, frame_bytes)`` uint8.

    ``upright=False`` (the camera's layout) stores rows bottom-to-top.
    """
    f = check_binary_array(frames, "frames")
    n, h, w = f.shape
    if not upright:
        f = f[:, ::-1, :]
    return np.packbits(f.reshape(n, h * w), axis=1, bitorder="little")


def unpack_frames(packed: np.ndarray, height: int, width: int, *, upright: bool = False) -> np.ndarray:
    """Decode ``.dat`` bytes ``(n, frame_bytes)`` into upright frames ``(n, H, W)`` uint8 (C-contiguous)."""
    p = np.asarray(packed)
    nb = frame_bytes(height, width)
    if p.dtype != np.uint8 or p.ndim != 2 or p.shape[1] != nb:
        raise SpikeFormatError(f"packed frames must be uint8 of shape (n, {nb}), got {p.dtype} {p.shape}")
    n = p.shape[0]
    if width % 8 == 0:
        # Flip rows in the packed domain (1/8 of the data), then unpack into a
        # contiguous upright array in one pass.
        rows = p.reshape(n, height, width // 8)
        if not upright:
            rows = rows[:, ::-1, :]
        return np.unpackbits(rows, axis=-1, bitorder="little")
    out = np.unpackbits(p, axis=1, count=height * width, bitorder="little").reshape(n, height, width)
    return out if upright else np.ascontiguousarray(out[:, ::-1, :])


def _popcount_rows(p: np.ndarray) -> np.ndarray:
    """Set bits per row of a C-contiguous uint8 array ``(n, nb)``, as int64."""
    nb = p.shape[1]
    p = np.ascontiguousarray(p)
    for dt in (np.uint64, np.uint32, np.uint16):
        if nb % np.dtype(dt).itemsize == 0:
            words = p.view(dt)
            break
    else:
        words = p
    return np.bitwise_count(words).sum(axis=1, dtype=np.int64)


_COUNT_BLOCK_BYTES = 1 << 20


class PackedSource:
    """Frames stored packed in ``.dat`` layout in any row-sliceable buffer ``(T, frame_bytes)``.

    The buffer may be a :class:`numpy.memmap`, an in-memory array or an HDF5
    dataset; only the rows asked for are read.
    """

    def __init__(self, buffer: Any, height: int, width: int, *, upright: bool, closer: Any = None) -> None:
        nb = frame_bytes(height, width)
        if len(buffer.shape) != 2 or buffer.shape[1] != nb:
            raise SpikeFormatError(f"packed buffer must have shape (T, {nb}) for {height}x{width}, got {tuple(buffer.shape)}")
        self.buffer = buffer
        self.height = int(height)
        self.width = int(width)
        self.upright = bool(upright)
        self._closer = closer
        pad = nb * 8 - height * width
        # Bits of the last byte that hold pixels (padding bits are ignored).
        self._pad_mask = np.uint8(0xFF >> pad) if pad else None

    def __len__(self) -> int:
        return int(self.buffer.shape[0])

    def raw(self, start: int, stop: int) -> np.ndarray:
        """The packed bytes of frames ``[start, stop)`` exactly as stored."""
        return np.asarray(self.buffer[start:stop])

    def decode(self, start: int, stop: int) -> np.ndarray:
        check_memory(max(0, stop - start) * self.height * self.width, f"decoding frames [{start}, {stop})")
        return unpack_frames(self.raw(start, stop), self.height, self.width, upright=self.upright)

    def counts(self, start: int, stop: int) -> np.ndarray:
        nb = self.buffer.shape[1]
        block = max(1, _COUNT_BLOCK_BYTES // nb)
        if stop - start <= block or not hasattr(self.buffer, "read_into"):
            return self._count_packed(self.raw(start, stop))
        # Long ranges: read ~1 MB at a time into one reused buffer (stays in cache, no fresh pages).
        out = np.empty(stop - start, np.int64)
        scratch = np.empty((block, nb), np.uint8)
        for i in range(start, stop, block):
            j = min(i + block, stop)
            out[i - start : j - start] = self._count_packed(self.buffer.read_into(i, j, scratch))
        return out

    def _count_packed(self, p: np.ndarray) -> np.ndarray:
        c = _popcount_rows(p)
        if self._pad_mask is not None and len(p):
            c -= np.bitwise_count(p[:, -1] & ~self._pad_mask).astype(np.int64)
        return c

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
            self._closer = None


class FileRows:
    """Fixed-size rows ``(n, row_bytes)`` of a file from byte ``offset`` on, read with ``pread`` on slicing.

    A ``.dat`` file is ``FileRows(path, n_frames, frame_bytes(H, W))``.
    ``rows[a:b]`` returns a fresh ``uint8`` array ``(b - a, row_bytes)``. Reading
    with ``pread`` instead of a memory map costs one copy of the packed bytes
    (1/8 of the decoded size) but turns a file truncated by another process
    into a :class:`~spikevision.SpikeFormatError` instead of a ``SIGBUS``.
    """

    def __init__(self, path: str | os.PathLike, n_rows: int, row_bytes: int, *, offset: int = 0) -> None:
        self.path = Path(path)
        self.shape = (int(n_rows), int(row_bytes))
        self.offset = int(offset)
        self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._finalizer = weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def __reduce__(self) -> Any:
        return (_reopen_rows, (self.path, *self.shape, self.offset))

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice):
            raise TypeError(f"FileRows is sliced by rows, got {type(key).__name__}")
        a, b, step = key.indices(self.shape[0])
        if step != 1:
            raise ValueError("FileRows slices must be contiguous (step 1)")
        check_memory(max(0, b - a) * self.shape[1], f"reading rows [{a}, {b}) of {self.path}")
        return self.read_into(a, b, np.empty((max(0, b - a), self.shape[1]), np.uint8))

    def read_into(self, a: int, b: int, buf: np.ndarray) -> np.ndarray:
        """Read rows ``[a, b)`` (``0 <= a <= b <= n``) into the first rows of the C-contiguous ``buf``; return that view."""
        n, nb = max(0, b - a), self.shape[1]
        if not (0 <= a <= b <= self.shape[0]) or buf.dtype != np.uint8 or buf.ndim != 2 or buf.shape[1] != nb \
                or buf.shape[0] < n or not buf.flags.c_contiguous:
            raise ValueError(f"read_into needs 0 <= a <= b <= {self.shape[0]} and a C-contiguous uint8 buffer "
                             f"(>= {n}, {nb}); got a={a}, b={b}, buffer {buf.dtype} {buf.shape}")
        out = buf[:n]
        if not self._finalizer.alive:
            raise ValueError(f"{self.path} is closed")
        view = memoryview(out).cast("B")
        done, offset, total = 0, self.offset + a * nb, n * nb
        while done < total:
            try:
                got = os.preadv(self._fd, [view[done:]], offset + done)
            except OSError as exc:
                raise OSError(exc.errno, f"reading frames [{a}, {b}) of {self.path} failed: {exc.strerror}") from exc
            if got == 0:
                size = os.fstat(self._fd).st_size
                raise SpikeFormatError(
                    f"{self.path} shrank while being read: frames [{a}, {b}) need bytes up to {offset + total}, "
                    f"but the file now has {size} bytes (it held {self.shape[0]} frames when opened)"
                )
            done += got
        return out

    def close(self) -> None:
        self._finalizer()


def _reopen_rows(path: Path, n_rows: int, row_bytes: int, offset: int) -> FileRows:
    return FileRows(path, n_rows, row_bytes, offset=offset)


def _sidecar_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _file_stamp(st: os.stat_result) -> dict[str, int]:
    return {"size": int(st.st_size), "inode": int(st.st_ino), "mtime_ns": int(st.st_mtime_ns)}


def file_sha256(path: str | os.PathLike, *, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes, read in ``chunk``-byte pieces (hex string)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_sidecar(path: str | os.PathLike, *, verify: str = "auto") -> dict[str, Any]:
    """The JSON sidecar of a simulated ``.dat`` (``clip.dat`` -> ``clip.json``), checked against the ``.dat``.

    The sidecar records the ``.dat``'s byte size, SHA-256 and the file identity
    (inode, modification time) it had when both were written. ``verify="auto"``
    accepts the pair when size and identity match (no read of the data) and
    otherwise re-hashes the ``.dat`` (a copied pair keeps its hash but not its
    inode); ``"hash"`` always re-hashes; ``"size"`` checks only the size.
    Raises :class:`~spikevision.SpikeFormatError` when the sidecar does not
    describe this ``.dat`` (e.g. two runs wrote to the same path and the
    ``.json`` of one sits beside the ``.dat`` of the other).

    Returns the sidecar's dictionary (``height``, ``width``, ``n_frames``,
    ``rate_hz``, simulation attributes ...).
    """
    if verify not in ("auto", "hash", "size"):
        raise ValueError(f"verify must be 'auto', 'hash' or 'size', got {verify!r}")
    dat = check_existing_file(path, ".dat file")
    side = check_existing_file(_sidecar_path(dat), "sidecar")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpikeFormatError(f"{side} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise SpikeFormatError(f"{side}: expected a JSON object, got {type(meta).__name__}")
    h = _json_int(meta, "height", side)
    w = _json_int(meta, "width", side)
    n = _json_int(meta, "n_frames", side)
    rate = meta.get("rate_hz")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise SpikeFormatError(f"{side}: 'rate_hz' must be a number, got {rate!r}")
    try:
        check_positive_float(rate, "rate_hz")
    except ValueError as exc:
        raise SpikeFormatError(f"{side}: {exc}") from exc
    st = dat.stat()
    if st.st_size != n * frame_bytes(h, w):
        raise SpikeFormatError(
            f"{side} does not describe {dat.name}: it claims {n} frames of {h}x{w} "
            f"({n * frame_bytes(h, w)} bytes) but the file has {st.st_size} bytes"
        )
    file_meta = meta.get("file")
    if file_meta is None:  # sidecars written before the pair was tied together: size check only
        return meta
    if not isinstance(file_meta, dict) or not isinstance(file_meta.get("sha256"), str):
        raise SpikeFormatError(f"{side}: 'file' must be an object with the .dat's 'sha256'")
    if verify == "size":
        return meta
    stamp = {k: file_meta.get(k) for k in ("size", "inode", "mtime_ns")}
    if verify == "auto" and stamp == _file_stamp(st):
        return meta
    if file_sha256(dat) != file_meta["sha256"]:
        raise SpikeFormatError(
            f"{side} does not describe {dat.name}: the .dat's SHA-256 differs from the one recorded with it "
            "(the two files come from different runs or the .dat was changed); simulate again"
        )
    return meta


def _json_int(meta: dict, key: str, where: Path) -> int:
    v = meta.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise SpikeFormatError(f"{where}: {key!r} must be a positive integer, got {v!r}")
    return v


def read_dat(
    path: str | os.PathLike,
    *,
    height: int | None = None,
    width: int | None = None,
    sensor: str | None = None,
    rate_hz: float | None = None,
    upright: bool = False,
    drop_partial: bool = False,
) -> SpikeStream:
    """Open a ``.dat`` spike file as a lazily decoded :class:`SpikeStream`.

    Parameters
    ----------
    path:
        The ``.dat`` file.
    height, width / sensor:
        Frame size in pixels, or a sensor name from :data:`SENSORS`. When
        none is given and a sidecar ``.json`` written with the file exists,
        the size (and rate) come from it, after :func:`read_sidecar` checked
        that it belongs to this file.
    rate_hz:
        Readout rate of the recording (default: the sidecar's, else 20,000 Hz).
    upright:
        ``True`` for files whose rows are stored top-to-bottom (SPIFT/PHM).
        The camera's own layout (default) is bottom-to-top.
    drop_partial:
        The file size must be a whole number of frames; with ``True`` a
        trailing partial frame is ignored instead of raising.

    Returns
    -------
    SpikeStream
        ``(T, H, W)`` frames, row 0 on top; ``np.asarray(stream)`` is uint8 0/1.

    Examples
    --------
    >>> s = read_dat("clip.dat", height=250, width=400)  # doctest: +SKIP
    >>> s.shape                                          # doctest: +SKIP
    (301, 250, 400)
    """
    p = check_existing_file(path, ".dat file")
    attrs: dict[str, Any] = {"source": str(p)}
    if height is None and width is None and sensor is None and _sidecar_path(p).is_file():
        meta = read_sidecar(p)
        height, width = meta["height"], meta["width"]
        rate_hz = float(meta["rate_hz"]) if rate_hz is None else rate_hz
        attrs["sidecar"] = str(_sidecar_path(p))
    h, w = resolve_size(height, width, sensor)
    rate_hz = check_positive_float(DEFAULT_RATE_HZ if rate_hz is None else rate_hz, "rate_hz")
    nb = frame_bytes(h, w)
    size = p.stat().st_size
    if size == 0:
        raise SpikeFormatError(f"{p} is empty (0 bytes): no spike frames to read")
    n, rest = divmod(size, nb)
    if rest:
        if not drop_partial:
            raise SpikeFormatError(
                f"{p} has {size} bytes, not a multiple of the {nb} bytes of a {h}x{w} frame "
                f"({n} whole frames + {rest} bytes). Check height/width, or pass drop_partial=True "
                "to ignore the trailing partial frame."
            )
        if n == 0:
            raise SpikeFormatError(f"{p} has {size} bytes, less than one {h}x{w} frame ({nb} bytes)")
    buf = FileRows(p, n, nb)
    src = PackedSource(buf, h, w, upright=upright, closer=buf.close)
    return SpikeStream(src, rate_hz=rate_hz, attrs=attrs)


def unwrap_source(stream: SpikeStream) -> tuple[Any, int]:
    """The source under a stream's lazy windows and the stream's frame offset in it."""
    base, offset = stream.source, 0
    while hasattr(base, "base") and hasattr(base, "start"):
        offset += base.start
        base = base.base
    return base, offset


def _packed_chunks(stream: SpikeStream, upright: bool, chunk: int) -> Iterable[np.ndarray]:
    # Reach a packed source whose bytes can be copied as they are.
    base, offset = unwrap_source(stream)
    same_layout = isinstance(base, PackedSource) and base.upright == upright
    for i in range(0, stream.n_frames, chunk):
        j = min(i + chunk, stream.n_frames)
        if same_layout:
            yield base.raw(offset + i, offset + j)
        else:
            yield pack_frames(stream.frames(i, j), upright=upright)


def write_dat(
    path: str | os.PathLike,
    data: Any,
    *,
    upright: bool = False,
    chunk: int = 1024,
    progress: bool = False,
) -> Path:
    """Write spike frames to a ``.dat`` file atomically; return its path.

    ``data`` is a :class:`SpikeStream` or a ``(T, H, W)`` array of 0/1 values
    (bool or integer dtype; floats are refused). Frames are written in chunks
    of ``chunk`` frames, so a file-backed stream is never decoded whole, and a
    stream read from a ``.dat`` file is copied byte for byte. ``upright=True``
    writes rows top-to-bottom instead of the camera's bottom-to-top layout.
    """
    stream = data if isinstance(data, SpikeStream) else SpikeStream(check_binary_array(data))
    if stream.n_frames == 0:
        raise SpikeFormatError("refusing to write an empty .dat file: the stream has 0 frames")
    chunk = check_positive_int(chunk, "chunk")
    out = Path(path)
    bar = _progress(stream.n_frames, f"writing {out.name}", progress)
    with atomic_open(out, "wb") as fh:
        for packed in _packed_chunks(stream, upright, chunk):
            fh.write(np.ascontiguousarray(packed).data)
            bar.update(len(packed))
    bar.close()
    return out


class DatWriter:
    """Write a ``.dat`` file frame chunk by frame chunk; the file appears atomically on close.

    >>> with DatWriter("out.dat", height=250, width=400) as w:  # doctest: +SKIP
    ...     for frames in chunks:
    ...         w.write(frames)
    """

    def __init__(self, path: str | os.PathLike, *, height: int, width: int, upright: bool = False) -> None:
        self.path = Path(path)
        self.height = check_positive_int(height, "height")
        self.width = check_positive_int(width, "width")
        self.upright = upright
        self.n_frames = 0
        self._hash = hashlib.sha256()
        self._ctx: Any = None
        self._fh: Any = None

    def __enter__(self) -> "DatWriter":
        self._ctx = atomic_open(self.path, "wb")
        self._fh = self._ctx.__enter__()
        return self

    def write(self, frames: Any) -> None:
        """Append upright frames ``(n, H, W)`` (0/1) or a :class:`SpikeStream`."""
        if self._fh is None:
            raise RuntimeError("DatWriter.write called outside its 'with' block")
        if isinstance(frames, SpikeStream):
            frames = frames.to_numpy()
        f = check_binary_array(frames, "frames")
        if f.shape[1:] != (self.height, self.width):
            raise SpikeFormatError(f"frames must be (n, {self.height}, {self.width}), got {f.shape}")
        packed = pack_frames(f, upright=self.upright)
        self._fh.write(packed.data)
        self._hash.update(packed.data)
        self.n_frames += f.shape[0]

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of the bytes written so far."""
        return self._hash.hexdigest()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        ctx, self._ctx, self._fh = self._ctx, None, None
        if exc_type is None and self.n_frames == 0:
            err = SpikeFormatError(f"no frames were written to {self.path}; refusing to create an empty file")
            ctx.__exit__(SpikeFormatError, err, None)  # removes the temporary file
            raise err
        ctx.__exit__(exc_type, exc, tb)


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from ..progress import progress_bar

    return progress_bar(total=total, desc=desc, enabled=enabled, unit="frame")
