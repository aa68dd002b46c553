"""A live feed as a viewer source: ``spikevision view tcp://HOST:PORT`` (or ``view FILE --live``).

:class:`LiveSource` runs a feed of :mod:`spikevision.live` (a socket feed,
a file replayed at camera rate, a simulated camera) through
:class:`~spikevision.live.LiveRun` in a background thread and keeps the
newest frames in a :class:`~spikevision.live.RecentFrames` buffer. It is a
:class:`~spikevision.view.ViewSource` like a file:

* ``info()`` reports the frames held now: ``frames`` of them, the first being
  camera frame ``first_frame``, and ``live`` (the feed's state, frames
  received and dropped, whether the view is held);
* ``snapshot()`` is a view of the buffer (:meth:`RecentFrames.view`): frames
  are copied out only when a request reads them, and a frame keeps its camera
  index for as long as it is held;
* ``counts(start, stop)`` are the per-frame spike counts the live pipeline
  computed on the packed bits (camera indices).

:meth:`LiveSource.hold` freezes what the viewer sees (the feed keeps running
and is counted, but new frames do not enter the buffer), so the held frames
can be scrubbed; releasing it starts the buffer again at the newest frames.

Nothing here reads or decodes spikes itself: the feeds, the ring, the counts
and the buffer are :mod:`spikevision.live`'s.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_positive_int
from .source import Catalog, LoadOptions, SourceInfo

__all__ = ["LiveSource", "LIVE_BUFFER_BYTES", "LIVE_SCHEMES", "open_live"]

#: Addresses :func:`open_live` listens on (anything else is a file to replay).
LIVE_SCHEMES = ("tcp://", "unix://")

#: Default size of the buffer of recent frames (frames = this // frame bytes).
LIVE_BUFFER_BYTES = 256 << 20


class LiveSource:
    """A :class:`~spikevision.live.sources.Feed` shown live (see the module docstring).

    Parameters
    ----------
    feed:
        A feed with a ``header`` (:class:`~spikevision.live.FileFeed`,
        :class:`~spikevision.live.SimulatedCamera`), or a
        :class:`~spikevision.live.SocketFeed` that has not accepted yet (it
        waits for its sender in the background thread).
    name:
        Shown in the file list.
    speed:
        Pacing of the feed (``1.0``: camera rate; ``None``: as fast as it
        comes). Socket feeds are paced by their sender: leave ``None``.
    keep:
        Frames held for viewing (default :data:`LIVE_BUFFER_BYTES` worth).
    policy:
        The ring's policy when the viewer's consumer falls behind
        (``"block"`` or ``"drop-oldest"``; drops are reported in ``info().live``).

    Notes
    -----
    Call :meth:`start` to begin and :meth:`close` to stop.

    Examples
    --------
    >>> import numpy as np
    >>> from spikevision.live import SimulatedCamera
    >>> src = LiveSource(SimulatedCamera(np.full((8, 8), 0.5), n_frames=500, seed=0), name="sim", speed=None)
    >>> src.start().wait(timeout=60)
    True
    >>> src.info().frames, src.info().first_frame, src.info().live["state"]
    (500, 0, 'ended')
    >>> src.close()
    """

    def __init__(self, feed: Any, *, name: str, speed: float | None = None, keep: int | None = None,
                 policy: str = "block") -> None:
        self._feed = feed
        self.name = str(name)
        self._speed = speed
        self._keep = None if keep is None else check_positive_int(keep, "keep")
        self._policy = policy
        self._recent: Any = None
        self._run: Any = None
        self._held = False
        self._skipped = 0
        self._state = "starting"
        self._error: str | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        #: The address a socket feed listens on (``None`` otherwise).
        self.address: str | None = getattr(feed, "address", None) if hasattr(feed, "accept") else None

    # ---------------------------------------------------------------- running
    def start(self) -> threading.Event:
        """Start the background thread; returns an event set when the feed has ended (or failed)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="spikevision-view-live", daemon=True)
            self._thread.start()
        return self._done

    def _work(self) -> None:
        from ..live import LiveRun, RecentFrames

        try:
            if getattr(self._feed, "header", None) is None:
                self._state = "waiting"
                self._feed.accept(timeout=None)
            h = self._feed.header
            keep = self._keep or max(1, LIVE_BUFFER_BYTES // h.frame_bytes)
            run = LiveRun(self._feed, speed=self._speed, policy=self._policy, on_chunk=self._on_chunk)
            self._recent = RecentFrames(run.layout, h.rate_hz, capacity=keep)
            self._run = run
            self._state = "running"
            if self._closed:
                return
            for _ in run:  # no previews: the run only counts and hands chunks to _on_chunk
                pass
            self._state = "ended"
        except Exception as exc:  # shown in info().live; the viewer keeps serving what it holds
            self._state = "stopped" if self._closed else "failed"
            self._error = None if self._closed else f"{type(exc).__name__}: {exc}"
        finally:
            self._done.set()

    def _on_chunk(self, chunk: Any, counts: np.ndarray) -> None:
        if self._held:
            self._skipped += len(counts)
            return
        self._recent.feed(chunk, counts)

    def hold(self, on: bool) -> bool:
        """Freeze (``True``) or release (``False``) the frames the viewer shows; returns the new state.

        While held, frames keep arriving and are counted, but the buffer does
        not change; on release it starts again with the next frames.
        """
        self._held = bool(on)
        return self._held

    def close(self) -> None:
        """Stop the feed and the thread (frames held so far stay viewable until the source is dropped)."""
        self._closed = True
        run = self._run
        if run is not None:
            run.ring.cancel()
        close = getattr(self._feed, "close", None)
        if close is not None:
            close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    # ---------------------------------------------------------------- ViewSource
    def status(self) -> dict[str, Any]:
        """``{"state", "received", "dropped", "held", "skipped", "error"}``: the feed as the page shows it.

        ``state`` is ``waiting`` (for a sender), ``running``, ``ended``,
        ``failed`` (``error`` says why) or ``stopped``; ``received`` counts
        frames that reached the viewer, ``dropped`` those the ring dropped,
        ``skipped`` those that arrived while the view was held.
        """
        run = self._run
        return {"state": self._state, "received": int(run.frames) if run is not None else 0,
                "dropped": int(run.ring.dropped) if run is not None else 0, "held": self._held,
                "skipped": int(self._skipped), "error": self._error}

    def info(self) -> SourceInfo:
        h = getattr(self._feed, "header", None)
        recent = self._recent
        first, stop = recent.span() if recent is not None else (0, 0)
        return SourceInfo(name=self.name, frames=stop - first, height=h.height if h else 0,
                          width=h.width if h else 0, rate_hz=float(h.rate_hz) if h else 0.0, first_frame=first,
                          live=self.status())

    def snapshot(self) -> Any:
        """A view of the frames held now (:meth:`~spikevision.live.RecentFrames.view`; camera indices)."""
        recent = self._recent
        if recent is None:
            raise ValueError("no frames yet: the live feed has not started")
        return recent.view()

    def counts(self, start: int, stop: int) -> np.ndarray:
        """Spikes per frame of camera frames ``[start, stop)`` (held now), ``int64 (n,)``."""
        recent = self._recent
        if recent is None:
            if start == stop:
                return np.zeros(0, np.int64)
            raise ValueError("no frames yet: the live feed has not started")
        return recent.counts(start, stop)


def open_live(target: str | os.PathLike, options: LoadOptions = LoadOptions(), *, speed: float | None = 1.0,
              loop: bool = False, keep: int | None = None, policy: str = "block") -> Catalog:
    """A started :class:`LiveSource` in a one-entry :class:`~spikevision.view.Catalog`.

    ``target`` is ``tcp://HOST:PORT`` or ``unix://PATH`` (listen there for one
    sender in the wire format of :mod:`spikevision.live.wire`; ``speed`` is
    ignored, the sender paces the feed), or a spike file replayed at ``speed``
    times the camera rate (``None``: as fast as possible; ``loop``: again and
    again), opened with ``options`` as :func:`spikevision.io.load` does.

    >>> cat = open_live("tcp://127.0.0.1:0")          # doctest: +SKIP
    >>> cat.get(0).address                              # doctest: +SKIP
    'tcp://127.0.0.1:40123'
    """
    from ..io.formats import load
    from ..live import FileFeed, SocketFeed

    text = os.fspath(target)
    if text.startswith(LIVE_SCHEMES):
        feed: Any = SocketFeed(text)
        address = feed.address
        name = address if address.startswith("tcp://") else f"unix socket {Path(address[len('unix://'):]).name}"
        src = LiveSource(feed, name=name, speed=None, keep=keep, policy=policy)
    else:
        path = Path(text)
        feed = FileFeed(load(path, **options.kwargs()), loop=loop)
        src = LiveSource(feed, name=f"{path.name} (live)", speed=speed, keep=keep, policy=policy)
    src.start()
    return Catalog([(src.name, src)])
