"""The spike stream: spikevision's one data type.

Conventions (stated here and only here)
---------------------------------------
* A spike stream is a sequence of binary frames indexed **time first**:
  ``(T, H, W)``. ``T`` counts readout frames, ``H`` rows, ``W`` columns.
* **Row 0 is the top of the image**, column 0 its left edge, as in every image
  library. How a file stores its rows is the reader's business (see
  :mod:`spikevision.io.dat`); once in a :class:`SpikeStream`, frames are upright.
* Values are ``0`` (no spike) and ``1`` (spike), returned as ``uint8`` unless a
  ``bool`` dtype is asked for.
* Frame ``i`` is read out at time ``i / rate_hz`` seconds after the first frame
  of the stream; the default readout rate is 20,000 Hz (PKU Vidar camera).
* ``first_frame`` remembers where a slice started in the recording it came
  from, so a window cut out of a file still knows its absolute frame index.

A stream does not necessarily hold its frames in memory: streams read from a
file decode only the frames that are asked for (see :meth:`SpikeStream.frames`
and :meth:`SpikeStream.chunks`), so windows of a multi-GB file cost memory in
proportion to the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Protocol

import numpy as np

from ._checks import FrameIndexError, check_binary_array, check_positive_float, check_positive_int

__all__ = ["SpikeStream", "FrameSource", "DenseSource", "DEFAULT_RATE_HZ"]

DEFAULT_RATE_HZ = 20_000.0


class FrameSource(Protocol):
    """Where a stream's frames come from (in memory, a memory-mapped file, HDF5 ...)."""

    height: int
    width: int

    def __len__(self) -> int: ...

    def decode(self, start: int, stop: int) -> np.ndarray:
        """Frames ``[start, stop)`` as a C-contiguous ``uint8`` array ``(n, H, W)``, row 0 on top."""

    def counts(self, start: int, stop: int) -> np.ndarray:
        """Spikes in each frame of ``[start, stop)``, ``int64`` of shape ``(n,)``."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class DenseSource:
    """Frames held in memory as a ``uint8`` array ``(T, H, W)`` with values 0/1."""

    array: np.ndarray

    @property
    def height(self) -> int:
        return int(self.array.shape[1])

    @property
    def width(self) -> int:
        return int(self.array.shape[2])

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def decode(self, start: int, stop: int) -> np.ndarray:
        return np.ascontiguousarray(self.array[start:stop])

    def counts(self, start: int, stop: int) -> np.ndarray:
        win = self.array[start:stop]
        return win.reshape(win.shape[0], -1).sum(axis=1, dtype=np.int64)

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class _Window:
    """Frames ``[start, stop)`` of another source, without copying."""

    base: Any
    start: int
    stop: int

    @property
    def height(self) -> int:
        return self.base.height

    @property
    def width(self) -> int:
        return self.base.width

    def __len__(self) -> int:
        return self.stop - self.start

    def decode(self, start: int, stop: int) -> np.ndarray:
        return self.base.decode(self.start + start, self.start + stop)

    def counts(self, start: int, stop: int) -> np.ndarray:
        return self.base.counts(self.start + start, self.start + stop)

    def close(self) -> None:
        self.base.close()


class SpikeStream:
    """Binary spike frames ``(T, H, W)``, time first, row 0 at the top.

    Parameters
    ----------
    source:
        A ``(T, H, W)`` array of 0/1 values (bool or integer dtype), or a
        :class:`FrameSource` (what the file readers pass).
    rate_hz:
        Readout rate in frames per second (default 20,000).
    attrs:
        Free-form metadata (JSON-serialisable values are kept by the writers).
    first_frame:
        Index of frame 0 in the recording this stream was cut from.

    Examples
    --------
    >>> import numpy as np
    >>> s = SpikeStream(np.zeros((100, 4, 6), np.uint8), rate_hz=40_000)
    >>> s.shape, s.duration_s
    ((100, 4, 6), 0.0025)
    >>> np.asarray(s[10:20]).shape
    (10, 4, 6)
    """

    __slots__ = ("_source", "_rate_hz", "_attrs", "_first_frame")

    def __init__(
        self,
        source: Any,
        *,
        rate_hz: float = DEFAULT_RATE_HZ,
        attrs: Mapping[str, Any] | None = None,
        first_frame: int = 0,
    ) -> None:
        if isinstance(source, (np.ndarray, list, tuple)) or (hasattr(source, "__array__") and not hasattr(source, "decode")):
            source = DenseSource(check_binary_array(source))
        elif not (hasattr(source, "decode") and hasattr(source, "counts")):
            raise TypeError(f"source must be a (T, H, W) array or a FrameSource, got {type(source).__name__}")
        self._source = source
        self._rate_hz = check_positive_float(rate_hz, "rate_hz")
        self._attrs = dict(attrs or {})
        self._first_frame = check_positive_int(first_frame, "first_frame", allow_zero=True)

    # ------------------------------------------------------------------ shape
    @property
    def height(self) -> int:
        """Rows per frame (``H``)."""
        return int(self._source.height)

    @property
    def width(self) -> int:
        """Columns per frame (``W``)."""
        return int(self._source.width)

    @property
    def n_frames(self) -> int:
        """Number of frames (``T``)."""
        return len(self._source)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, H, W)``."""
        return (self.n_frames, self.height, self.width)

    def __len__(self) -> int:
        return self.n_frames

    @property
    def rate_hz(self) -> float:
        """Readout rate in frames per second."""
        return self._rate_hz

    @property
    def duration_s(self) -> float:
        """Length of the stream in seconds (``T / rate_hz``)."""
        return self.n_frames / self._rate_hz

    @property
    def attrs(self) -> Mapping[str, Any]:
        """Read-only view of the free-form metadata."""
        return MappingProxyType(self._attrs)

    @property
    def first_frame(self) -> int:
        """Index of frame 0 in the recording this stream was cut from."""
        return self._first_frame

    @property
    def source(self) -> FrameSource:
        """Where the frames come from (for writers that can copy packed bytes directly)."""
        return self._source

    def with_attrs(self, **attrs: Any) -> "SpikeStream":
        """A stream over the same frames with ``attrs`` added to the metadata."""
        return SpikeStream(self._source, rate_hz=self._rate_hz, attrs={**self._attrs, **attrs}, first_frame=self._first_frame)

    def __repr__(self) -> str:
        t, h, w = self.shape
        return f"SpikeStream(T={t}, H={h}, W={w}, rate_hz={self._rate_hz:g}, source={type(self._source).__name__})"

    # -------------------------------------------------------------- indexing
    def _norm_range(self, start: int | None, stop: int | None) -> tuple[int, int]:
        start, stop, _ = slice(start, stop).indices(self.n_frames)
        return start, max(start, stop)

    def __getitem__(self, key: int | slice) -> Any:
        """``stream[i]`` is frame ``i`` (``(H, W)`` uint8); ``stream[a:b]`` a lazy sub-stream."""
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            i = int(key)
            if i < 0:
                i += self.n_frames
            if not 0 <= i < self.n_frames:
                raise FrameIndexError(f"frame {key} out of range for a stream of {self.n_frames} frames")
            return self._source.decode(i, i + 1)[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(self.n_frames)
            if step == 1:
                stop = max(start, stop)
                return SpikeStream(
                    _Window(self._source, start, stop) if (start, stop) != (0, self.n_frames) else self._source,
                    rate_hz=self._rate_hz,
                    attrs=self._attrs,
                    first_frame=self._first_frame + start,
                )
            idx = range(start, stop, step)
            if len(idx) == 0:
                return SpikeStream(np.zeros((0, self.height, self.width), np.uint8), rate_hz=self._rate_hz / abs(step), attrs=self._attrs)
            lo, hi = min(idx), max(idx) + 1
            frames = self._source.decode(lo, hi)[np.asarray(idx) - lo]
            return SpikeStream(frames, rate_hz=self._rate_hz / abs(step), attrs=self._attrs, first_frame=self._first_frame + start)
        raise TypeError(f"index a SpikeStream with an int or a slice, got {type(key).__name__}")

    def time_slice(self, t0_s: float, t1_s: float) -> "SpikeStream":
        """Frames read out in ``[t0_s, t1_s)`` seconds (from the stream's first frame)."""
        for v in (t0_s, t1_s):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"time bounds must be numbers (seconds), got {type(v).__name__} {v!r}")
        t0_s, t1_s = float(t0_s), float(t1_s)
        if not (math.isfinite(t0_s) and math.isfinite(t1_s)):
            raise ValueError(f"time bounds must be finite, got [{t0_s}, {t1_s})")
        if t1_s < t0_s:
            raise ValueError(f"time slice end {t1_s} s is before its start {t0_s} s")
        a = self._first_frame_at(t0_s)
        b = self._first_frame_at(t1_s)
        return self[a:max(a, b)]

    def _first_frame_at(self, t_s: float) -> int:
        """Index of the first frame read out at or after ``t_s``, clamped to ``[0, T]`` (no overflow for huge ``t_s``)."""
        x = t_s * self._rate_hz - 1e-9  # may be inf for t_s near 1e305: compare before converting
        if not x > 0:
            return 0
        if x >= self.n_frames:
            return self.n_frames
        return min(self.n_frames, math.ceil(x))

    def window(self, center: int, length: int) -> np.ndarray:
        """Frames of a ``length``-frame window centred on frame ``center``, ``(length, H, W)`` uint8.

        The window is ``[center - length // 2, center - length // 2 + length)``
        and must lie inside the stream.
        """
        length = check_positive_int(length, "length")
        a = int(center) - length // 2
        b = a + length
        if a < 0 or b > self.n_frames:
            raise ValueError(
                f"a {length}-frame window centred on frame {center} needs frames [{a}, {b}), "
                f"but the stream has frames [0, {self.n_frames})"
            )
        return self._source.decode(a, b)

    # -------------------------------------------------------------- decoding
    def frames(self, start: int | None = None, stop: int | None = None, *, dtype: Any = np.uint8) -> np.ndarray:
        """Decode frames ``[start, stop)`` to an array ``(n, H, W)`` of ``dtype`` (uint8 or bool)."""
        a, b = self._norm_range(start, stop)
        out = self._source.decode(a, b)
        return _as_dtype(out, dtype)

    def to_numpy(self, dtype: Any = np.uint8) -> np.ndarray:
        """All frames as ``(T, H, W)`` ``uint8`` (or ``bool``) 0/1, row 0 on top."""
        return self.frames(dtype=dtype)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self._source.decode(0, self.n_frames)
        if dtype is not None and np.dtype(dtype) != out.dtype:
            out = out.astype(dtype)
        return out

    def to_torch(self, start: int | None = None, stop: int | None = None, *, dtype: Any = None, device: Any = None) -> Any:
        """Frames ``[start, stop)`` as a torch tensor ``(n, H, W)`` (default ``float32``).

        Needs the ``torch`` extra; raises :class:`ImportError` with the install
        command when torch is missing.
        """
        try:
            import torch
        except ImportError as exc:  # pragma: no cover - exercised only without torch
            raise ImportError("to_torch needs PyTorch: pip install torch==2.13.0") from exc
        arr = self.frames(start, stop)
        t = torch.from_numpy(arr)
        return t.to(device=device, dtype=dtype or torch.float32)

    def chunks(self, size: int, *, start: int | None = None, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Iterate over ``(first_index, frames)`` pairs of at most ``size`` frames each.

        Only one chunk is decoded at a time, so memory is bounded by ``size``.
        """
        size = check_positive_int(size, "size")
        a, b = self._norm_range(start, stop)
        for i in range(a, b, size):
            yield i, self._source.decode(i, min(i + size, b))

    # ------------------------------------------------------------ statistics
    def spike_counts(self, start: int | None = None, stop: int | None = None, *, chunk: int = 4096) -> np.ndarray:
        """Spikes per frame for frames ``[start, stop)``, ``int64`` ``(n,)``.

        File-backed streams count set bits in the packed bytes (population
        count) without unpacking them.
        """
        a, b = self._norm_range(start, stop)
        out = np.empty(b - a, np.int64)
        for i in range(a, b, chunk):
            j = min(i + chunk, b)
            out[i - a : j - a] = self._source.counts(i, j)
        return out

    def mean_rate(self) -> float:
        """Mean spikes per pixel per frame over the whole stream (``nan`` if empty)."""
        n = self.n_frames * self.height * self.width
        return float(self.spike_counts().sum() / n) if n else float("nan")

    # ------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Release the file behind the stream (if any)."""
        self._source.close()

    def __enter__(self) -> "SpikeStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _as_dtype(arr: np.ndarray, dtype: Any) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt == np.uint8:
        return arr
    if dt == np.bool_:
        return arr.view(np.bool_)
    raise TypeError(f"spike frames decode to uint8 or bool, got dtype {dt}")


def as_stream(data: Any, *, rate_hz: float = DEFAULT_RATE_HZ) -> SpikeStream:
    """Return ``data`` as a :class:`SpikeStream` (streams pass through, arrays are wrapped)."""
    if isinstance(data, SpikeStream):
        return data
    return SpikeStream(data, rate_hz=rate_hz)
