"""Record a live feed to ``.dat`` or ``.h5`` segments, byte for byte, rotated by size or camera time.

Each segment is written atomically (:mod:`spikevision.io.atomic`): it appears
under its name complete or not at all. Without rotation the single segment is
the output path itself; with rotation segments are named ``OUT_0000.dat``,
``OUT_0001.dat`` ... A ``.dat`` segment holds the packed frames exactly as they
arrived (the row order of the feed's header; a top-down feed gives a ``.dat``
to be read with ``upright=True``). An ``.h5`` segment is the
:mod:`spikevision.io.container` layout, written by
:func:`~spikevision.io.write_h5` from the segment's frames (so it records the
row order and rate).
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .._checks import check_positive_int
from ..io.atomic import atomic_open
from .operators import ActivityTrigger
from .ring import Chunk
from .wire import WireHeader

__all__ = ["Rotation", "SegmentWriter", "TriggeredRecorder", "record"]

_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Rotation:
    """Start a new segment after ``max_bytes`` bytes or ``max_seconds`` of camera time (whichever first)."""

    max_bytes: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_bytes is not None:
            check_positive_int(self.max_bytes, "rotation max_bytes")
        if self.max_seconds is not None and not (math.isfinite(self.max_seconds) and self.max_seconds > 0):
            raise ValueError(f"rotation max_seconds must be positive, got {self.max_seconds!r}")

    @classmethod
    def parse(cls, text: str) -> "Rotation":
        """``"500MB"``, ``"1GiB"``, ``"10s"``, ``"2min"`` ... (several separated by commas).

        >>> Rotation.parse("1GB,30s")
        Rotation(max_bytes=1000000000, max_seconds=30.0)
        """
        size = seconds = None
        for part in str(text).split(","):
            m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]+)\s*", part)
            unit = m[2].lower() if m else ""
            if m and unit in _SIZE_UNITS:
                size = int(float(m[1]) * _SIZE_UNITS[unit])
            elif m and unit in _TIME_UNITS:
                seconds = float(m[1]) * _TIME_UNITS[unit]
            else:
                raise ValueError(f"rotation {part!r}: expected a size (e.g. 500MB, 1GiB) or a time (10s, 2min)")
        return cls(max_bytes=size, max_seconds=seconds)

    def frames_per_segment(self, header: WireHeader) -> int | None:
        limits = []
        if self.max_bytes is not None:
            limits.append(max(1, self.max_bytes // header.frame_bytes))
        if self.max_seconds is not None:
            limits.append(max(1, int(round(self.max_seconds * header.rate_hz))))
        return min(limits) if limits else None


class SegmentWriter:
    """Append packed frames to atomically written segments.

    >>> import numpy as np, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "rec.dat"
    >>> with SegmentWriter(out, WireHeader(250, 400, 20000.0), rotation=Rotation(max_seconds=0.01)) as w:
    ...     w.write(np.zeros((500, 12500), np.uint8))             # 500 frames = 25 ms of camera time
    >>> [p.name for p in w.segments], out.with_name("rec_0002.dat").stat().st_size // 12500
    (['rec_0000.dat', 'rec_0001.dat', 'rec_0002.dat'], 100)
    """

    def __init__(self, out: str | os.PathLike, header: WireHeader, *, rotation: Rotation | None = None) -> None:
        self.out = Path(out)
        suffix = self.out.suffix.lower()
        if suffix not in (".dat", ".h5", ".hdf5"):
            raise ValueError(f"record to a .dat or .h5 file, got {self.out.name!r}")
        if not (self.out.parent if str(self.out.parent) else Path(".")).is_dir():
            raise FileNotFoundError(f"output folder does not exist: {self.out.parent}")
        self.h5 = suffix != ".dat"
        if self.h5:
            from ..io.container import _h5py

            _h5py()  # fail before the first frame when h5py is missing
        self.header = header
        self.per_segment = rotation.frames_per_segment(header) if rotation is not None else None
        self.rotating = rotation is not None
        self.segments: list[Path] = []
        self.frames = 0
        self._stack: contextlib.ExitStack | None = None
        self._fh: Any = None
        self._tmp: Path | None = None
        self._in_segment = 0

    def _name(self, i: int) -> Path:
        if not self.rotating:
            return self.out
        return self.out.with_name(f"{self.out.stem}_{i:04d}{self.out.suffix}")

    def _open(self) -> None:
        target = self._name(len(self.segments))
        self._stack = contextlib.ExitStack()
        if self.h5:  # frames go to a hidden .dat first, converted on close
            self._tmp = target.with_name(f".{target.name}.part.dat")
            self._fh = self._stack.enter_context(atomic_open(self._tmp, "wb"))
        else:
            self._fh = self._stack.enter_context(atomic_open(target, "wb"))
        self._in_segment = 0

    def write(self, packed: np.ndarray) -> None:
        """Append packed frames ``(n, frame_bytes)`` uint8, rotating segments as needed."""
        p = np.asarray(packed)
        if p.dtype != np.uint8 or p.ndim != 2 or p.shape[1] != self.header.frame_bytes:
            raise ValueError(f"packed frames must be uint8 (n, {self.header.frame_bytes}), got {p.dtype} {p.shape}")
        i = 0
        while i < len(p):
            if self._fh is None:
                self._open()
            n = len(p) - i
            if self.per_segment is not None:
                n = min(n, self.per_segment - self._in_segment)
            self._fh.write(memoryview(np.ascontiguousarray(p[i : i + n])).cast("B"))
            self._in_segment += n
            self.frames += n
            i += n
            if self.per_segment is not None and self._in_segment >= self.per_segment:
                self.end_segment()

    def end_segment(self) -> Path | None:
        """Finish the open segment (if any) and return its path; the next write starts a new one."""
        if self._fh is None:
            return None
        target = self._name(len(self.segments))
        stack, self._stack, self._fh = self._stack, None, None
        stack.close()  # fsync + rename
        if self.h5:
            from ..io.container import write_h5
            from ..io.dat import read_dat

            tmp, self._tmp = self._tmp, None
            try:
                with read_dat(tmp, height=self.header.height, width=self.header.width,
                              rate_hz=self.header.rate_hz, upright=self.header.upright) as s:
                    write_h5(target, s.with_attrs(source="live"))
            finally:
                tmp.unlink(missing_ok=True)
        self.segments.append(target)
        return target

    def abort(self) -> None:
        """Drop the open segment (its temporary file is removed; finished segments stay)."""
        if self._stack is not None:
            stack, self._stack, self._fh = self._stack, None, None
            with contextlib.suppress(RuntimeError):
                stack.__exit__(RuntimeError, RuntimeError("recording aborted"), None)
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)
                self._tmp = None

    def close(self) -> list[Path]:
        self.end_segment()
        return self.segments

    def __enter__(self) -> "SegmentWriter":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class TriggeredRecorder:
    """Record only around activity: each trigger event starts a segment with ``pre_frames`` frames from before
    the event and runs until ``post_frames`` after the last event.

    Chunks are kept by reference for the pre-trigger buffer (at most
    ``pre_frames`` frames plus one chunk), so the feed must not reuse their
    memory (no feed in :mod:`spikevision.live.sources` does).
    """

    def __init__(self, writer: SegmentWriter, trigger: ActivityTrigger, *, pre_frames: int, post_frames: int) -> None:
        self.writer = writer
        self.trigger = trigger
        self.pre = check_positive_int(pre_frames, "pre_frames", allow_zero=True)
        self.post = check_positive_int(post_frames, "post_frames")
        self._buffer: collections.deque[Chunk] = collections.deque()
        self._until = -1  # recording frames < _until
        self.events: list[int] = []

    def feed(self, chunk: Chunk, counts: np.ndarray) -> None:
        """Take a chunk and its per-frame spike counts."""
        a, b = chunk.first, chunk.stop
        pos = a
        for e in self.trigger.feed(a, counts):
            self.events.append(e.frame)
            if e.frame >= self._until:  # a new segment: write the pre-trigger frames first
                if pos < self._until:
                    self.writer.write(chunk.packed[pos - a : self._until - a])
                    self.writer.end_segment()
                    pos = self._until
                start = max(e.frame - self.pre, 0)
                for c in self._frames_from(start, a):
                    self.writer.write(c)
                pos = max(pos, start)
            self._until = e.frame + self.post
        if pos < min(b, self._until):
            self.writer.write(chunk.packed[pos - a : min(b, self._until) - a])
            if self._until <= b:
                self.writer.end_segment()
        self._buffer.append(chunk)
        while self._buffer and self._buffer[0].stop <= b - self.pre:
            self._buffer.popleft()

    def _frames_from(self, start: int, stop: int) -> Iterator[np.ndarray]:
        for c in self._buffer:
            lo, hi = max(c.first, start), min(c.stop, stop)
            if lo < hi:
                yield c.packed[lo - c.first : hi - c.first]

    def close(self) -> list[Path]:
        return self.writer.close()


def record(
    feed: Any,
    out: str | os.PathLike,
    *,
    rotation: Rotation | None = None,
    max_frames: int | None = None,
    trigger: ActivityTrigger | None = None,
    pre_frames: int = 0,
    post_frames: int = 20_000,
    policy: str = "block",
) -> tuple[list[Path], Any]:
    """Record ``feed`` to ``out`` (``.dat`` / ``.h5``); return the segments written and the run's report.

    With ``trigger``, only the frames around its events are kept (``pre_frames``
    before each event, up to ``post_frames`` after the last one). The ring's
    ``policy="block"`` (default) never drops a frame: a socket sender is slowed
    down by TCP flow control instead.
    """
    from .pipeline import LiveRun

    writer = SegmentWriter(out, feed.header, rotation=rotation)
    if trigger is not None:
        sink: Any = TriggeredRecorder(writer, trigger, pre_frames=pre_frames, post_frames=post_frames)
        on_chunk = sink.feed
    else:
        def on_chunk(chunk: Chunk, counts: np.ndarray) -> None:
            writer.write(chunk.packed)

    run = LiveRun(feed, speed=None, preview=None, policy=policy, on_chunk=on_chunk, max_frames=max_frames)
    with writer:
        report = run.run()
    return writer.segments, report
