"""What the viewer looks at: a small source protocol, the file source and the catalog.

The web app never opens files itself and never sees a path from a request. It
talks to :class:`ViewSource` objects held in a :class:`Catalog` built when the
viewer starts; a request names a source by its index in the catalog.

The seam for other sources
--------------------------
A :class:`ViewSource` gives three things:

``info()``
    :class:`SourceInfo`: name, frames available now, frame size, readout rate.
``snapshot()``
    A :class:`~spikevision.SpikeStream` over the frames available now; frame
    ``i`` of the stream is frame number ``stream.first_frame + i`` of the
    viewer's API (a file's frames count from 0; a live buffer's keep their
    camera index while they are held). The caller uses it for one request
    and drops it. Reconstruction, flow and
    export all run on this stream through the library's own functions
    (:func:`spikevision.recon.reconstruct`, :func:`spikevision.flow.estimate_flow`),
    so a source only has to deliver frames.
``counts(start, stop)``
    Spikes per frame, ``int64 (n,)``, for the rate plot; a source may cache it.

A file is one such source (:class:`FileSource`). A live feed is another
(:class:`~spikevision.view.live.LiveSource`): ``info()`` reports the frames
held now (``first_frame`` is the oldest one's camera index), ``snapshot()``
is a view of the buffer, ``counts`` the counts the live pipeline made.

Memory
------
A ``.dat`` file is opened once and read with ``pread`` (only the frames a
request asks for, into fresh arrays: nothing stays resident); opening it checks
the size against the data (:func:`spikevision.io.sensor.open_dat`), which is
done once, not per request. An ``.npy`` file is memory-mapped, and pages read
through a memory map stay in the process's resident set for as long as the map
lives, so :class:`FileSource` maps it afresh for every snapshot (a ``stat`` and
an ``mmap``, microseconds) and the pages one request read are released with its
stream. The rate plot is counted on the packed bits (population count,
:meth:`SpikeStream.spike_counts`) in slices of :data:`COUNT_CHUNK_BYTES`.
``.npz`` and ``.h5`` files are read through their own readers (an ``.npz``
archive is decompressed into memory once).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np

from ..io.formats import SUFFIXES, load
from ..stream import SpikeStream

__all__ = ["ViewSource", "SourceInfo", "LoadOptions", "FileSource", "Catalog", "open_catalog", "COUNT_CHUNK_BYTES"]

#: Packed bytes counted per memory map when computing the rate plot.
COUNT_CHUNK_BYTES = 32 * 2**20

#: Suffixes whose reader maps the file (a fresh map per snapshot releases the pages read).
_MAPPED = (".npy",)


@dataclass(frozen=True)
class SourceInfo:
    """What the viewer shows about a source: ``frames`` available now, ``height`` x ``width``, ``rate_hz``."""

    name: str
    frames: int
    height: int
    width: int
    rate_hz: float
    #: Number of the first frame available (0 for a file; a live buffer's oldest camera frame).
    first_frame: int = 0
    #: For a live source, the feed's state (``LiveSource.status()``); ``None`` for a file.
    live: Mapping[str, Any] | None = None

    @property
    def duration_s(self) -> float:
        """``frames / rate_hz`` seconds (0 before a live feed has told its rate)."""
        return self.frames / self.rate_hz if self.rate_hz > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``/api/info``: ``frames, height, width, rate_hz, duration_s, name, first_frame, live``
        (and ``feed``, the live feed's state, for a live source)."""
        out = {"frames": self.frames, "height": self.height, "width": self.width, "rate_hz": self.rate_hz,
               "duration_s": self.duration_s, "name": self.name, "first_frame": self.first_frame,
               "live": self.live is not None}
        if self.live is not None:
            out["feed"] = dict(self.live)
        return out


@runtime_checkable
class ViewSource(Protocol):
    """A recording (or a live buffer) the viewer can show; see the module docstring."""

    def info(self) -> SourceInfo: ...

    def snapshot(self) -> SpikeStream: ...

    def counts(self, start: int, stop: int) -> np.ndarray: ...


@dataclass(frozen=True)
class LoadOptions:
    """How to open spike files: the options of :func:`spikevision.io.load` (``.dat`` needs a size)."""

    height: int | None = None
    width: int | None = None
    sensor: str | None = None
    upright: bool = False
    rate_hz: float | None = None
    drop_partial: bool = False

    def kwargs(self) -> dict[str, Any]:
        return {"height": self.height, "width": self.width, "sensor": self.sensor, "upright": self.upright,
                "rate_hz": self.rate_hz, "drop_partial": self.drop_partial}


class FileSource:
    """A spike file as a :class:`ViewSource`, opened with :func:`spikevision.io.load`.

    The file is opened once at construction (so a bad file fails at start,
    with the reader's message); a memory-mapped ``.npy`` is mapped afresh for
    each :meth:`snapshot`, other files are kept open. Spike counts per frame are computed on first use and
    cached (``int64``, 8 bytes per frame).

    >>> src = FileSource("clip.dat", LoadOptions(sensor="vidar"))   # doctest: +SKIP
    >>> src.info().frames, src.counts(0, 10).shape                   # doctest: +SKIP
    (301, (10,))
    """

    def __init__(self, path: str | os.PathLike, options: LoadOptions = LoadOptions()) -> None:
        self._path = Path(path)
        self._options = options
        first = load(self._path, **options.kwargs())
        self._info = SourceInfo(name=self._path.name, frames=first.n_frames, height=first.height,
                                width=first.width, rate_hz=first.rate_hz)
        # Mapped files are mapped afresh per snapshot; others (.dat read with pread, .npz, .h5) are kept open.
        self._kept = None if self._path.suffix.lower() in _MAPPED else first
        self._counts: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The file (for the server's own use; never sent to clients)."""
        return self._path

    def info(self) -> SourceInfo:
        return self._info

    def snapshot(self) -> SpikeStream:
        st = self._kept if self._kept is not None else load(self._path, **self._options.kwargs())
        if st.first_frame:  # the viewer counts a file's frames from 0 (an .h5 cut may remember another start)
            st = SpikeStream(st.source, rate_hz=st.rate_hz, attrs=st.attrs, first_frame=0)
        return st

    def counts(self, start: int, stop: int) -> np.ndarray:
        """Spikes in each frame of ``[start, stop)``, ``int64 (n,)`` (all frames counted once, then cached)."""
        with self._lock:
            if self._counts is None:
                self._counts = self._count_all()
        return self._counts[start:stop]

    def _count_all(self) -> np.ndarray:
        info = self._info
        out = np.empty(info.frames, np.int64)
        step = max(1, COUNT_CHUNK_BYTES // max(1, (info.height * info.width + 7) // 8))
        for i in range(0, info.frames, step):
            j = min(i + step, info.frames)
            out[i:j] = self.snapshot().spike_counts(i, j)   # a mapped file: a fresh map per slice
        return out

    def close(self) -> None:
        if self._kept is not None:
            self._kept.close()


class Catalog:
    """The sources a viewer was started on, addressed by index (``0 .. len - 1``).

    Entries that failed to open keep their error message (shown in the file
    list) instead of a source.
    """

    def __init__(self, entries: list[tuple[str, ViewSource | str]]) -> None:
        if not entries:
            raise ValueError("a viewer catalog needs at least one entry")
        self._entries = list(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def listing(self) -> list[dict[str, Any]]:
        """``[{"id", "name", "frames" | "error"}]`` for the file list (no paths)."""
        out = []
        for i, (name, src) in enumerate(self._entries):
            if isinstance(src, str):
                out.append({"id": i, "name": name, "error": src})
            else:
                info = src.info()
                out.append({"id": i, "name": name, "frames": info.frames, "height": info.height, "width": info.width})
        return out

    def get(self, index: int) -> ViewSource:
        """Source ``index``; :class:`LookupError` when there is none, :class:`ValueError` when it failed to open."""
        if not 0 <= index < len(self._entries):
            raise LookupError(f"no file with id {index}; ids are 0..{len(self._entries) - 1}")
        name, src = self._entries[index]
        if isinstance(src, str):
            raise ValueError(f"file {index} ({name}) could not be opened: {src}")
        return src

    def first_open(self) -> int | None:
        """Index of the first entry that opened, or ``None``."""
        return next((i for i, (_, s) in enumerate(self._entries) if not isinstance(s, str)), None)

    def close(self) -> None:
        for _, src in self._entries:
            close = getattr(src, "close", None)
            if close is not None:
                close()


def _describe_error(exc: Exception, path: Path) -> str:
    """The reader's message with the folder part of the path removed (file names only)."""
    return str(exc).replace(str(path.parent) + os.sep, "").replace(str(path.parent), ".")


def open_catalog(path: str | os.PathLike, options: LoadOptions = LoadOptions()) -> Catalog:
    """A :class:`Catalog` of one spike file, or of the spike files (by suffix, sorted) in a folder.

    One file that cannot be opened is an error; in a folder, such files are
    listed with their error. A folder without spike files is an error.
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
        if not files:
            raise FileNotFoundError(f"no spike files ({', '.join(SUFFIXES)}) in folder {p}")
        entries: list[tuple[str, ViewSource | str]] = []
        for f in files:
            try:
                entries.append((f.name, FileSource(f, options)))
            except (ValueError, TypeError, OSError) as exc:
                entries.append((f.name, _describe_error(exc, f)))
        return Catalog(entries)
    if not p.exists():
        raise FileNotFoundError(f"spike file or folder not found: {p}")
    return Catalog([(p.name, FileSource(p, options))])
