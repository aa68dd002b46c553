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

Reading is memory-mapped: frames are decoded only when asked for, so any
window of a multi-GB file costs memory proportional to the window. Spike
counts are taken from the packed bytes by population count, without unpacking.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .._checks import SpikeFormatError, check_binary_array, check_existing_file, check_positive_int
from ..stream import DEFAULT_RATE_HZ, SpikeStream
from .atomic import atomic_open

__all__ = [
    "SENSORS",
    "frame_bytes",
    "resolve_size",
    "pack_frames",
    "unpack_frames",
    "PackedSource",
    "read_dat",
    "write_dat",
    "DatWriter",
]

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
        return unpack_frames(self.raw(start, stop), self.height, self.width, upright=self.upright)

    def counts(self, start: int, stop: int) -> np.ndarray:
        p = self.raw(start, stop)
        c = _popcount_rows(p)
        if self._pad_mask is not None and len(p):
            c -= np.bitwise_count(p[:, -1] & ~self._pad_mask).astype(np.int64)
        return c

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
            self._closer = None


def read_dat(
    path: str | os.PathLike,
    *,
    height: int | None = None,
    width: int | None = None,
    sensor: str | None = None,
    rate_hz: float = DEFAULT_RATE_HZ,
    upright: bool = False,
    drop_partial: bool = False,
) -> SpikeStream:
    """Open a ``.dat`` spike file as a lazily decoded :class:`SpikeStream`.

    Parameters
    ----------
    path:
        The ``.dat`` file.
    height, width / sensor:
        Frame size in pixels, or a sensor name from :data:`SENSORS`.
    rate_hz:
        Readout rate of the recording (default 20,000 Hz).
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
    h, w = resolve_size(height, width, sensor)
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
    mm = np.memmap(p, dtype=np.uint8, mode="r", shape=(n, nb))
    src = PackedSource(mm, h, w, upright=upright)
    return SpikeStream(src, rate_hz=rate_hz, attrs={"source": str(p)})


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
        self._fh.write(pack_frames(f, upright=self.upright).data)
        self.n_frames += f.shape[0]

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
