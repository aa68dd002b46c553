"""Streaming operators on packed frames: previews, hot pixels, activity triggers.

Each operator is fed :class:`~spikevision.live.ring.Chunk` s in camera order
(with gaps where frames were dropped) and keeps only bounded state.

Previews
--------
A preview at camera frame ``t`` is the image ``reconstruct(stream,
method=m, at=t, window=w)`` would give for the same frames: the window is
``[t - w // 2, t - w // 2 + w)``. Preview times are
``t_k = w // 2 + floor(k * rate_hz / fps)`` (``k = 0, 1, ...``): one per
``1 / fps`` s of camera time, the first whose window starts at frame 0.

* :class:`TFPPreview` counts spikes per pixel on the packed bits
  (:mod:`~spikevision.live.kernels`): windows that do not overlap add the
  window's frames to fresh counters; when previews come faster than half a
  window, counters *slide* (add the entering frames, subtract the leaving
  ones, kept in a packed history of one window).
* :class:`MethodPreview` copies each window's packed frames, decodes them and
  calls the registered method (``tfi``, ``atfi``, ``tfstp``, ``cnn``, ...).

A window that contains a dropped frame gives no preview; it is counted in
``skipped``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .._checks import check_positive_float, check_positive_int
from ..io.dat import unpack_frames
from ..recon.classical import DEFAULT_WINDOW, REDS_RATE_RATIO
from . import kernels
from .ring import Chunk

__all__ = [
    "PreviewSettings",
    "Preview",
    "preview_times",
    "TFPPreview",
    "MethodPreview",
    "make_preview",
    "HotPixels",
    "ActivityTrigger",
    "TriggerEvent",
    "RecentFrames",
    "FramesNotHeld",
]


@dataclass(frozen=True)
class PreviewSettings:
    """What to preview: ``method`` (``"tfp"`` or any :func:`~spikevision.recon.list_methods` name) at ``fps``
    previews per second of camera time, over ``window`` frames, with the method's ``options``."""

    method: str = "tfp"
    fps: float = 60.0
    window: int = DEFAULT_WINDOW
    rate_ratio: float = REDS_RATE_RATIO
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_positive_float(self.fps, "preview fps")
        check_positive_int(self.window, "preview window")
        check_positive_float(self.rate_ratio, "rate_ratio")


@dataclass(frozen=True)
class Preview:
    """One preview image: ``image`` ``(H, W)`` float32 in [0, 1] at camera frame ``frame`` (``time_s`` s).

    ``latency_s`` is the wall time from the arrival of the oldest frame of its
    window to the moment the image was ready (the worst case over its frames).
    """

    frame: int
    time_s: float
    image: np.ndarray
    method: str
    latency_s: float


def preview_times(rate_hz: float, fps: float, window: int, start: int = 0):
    """Endless iterator of preview frames ``t_k = window // 2 + floor(k * rate_hz / fps)`` from ``k = start``."""
    k = start
    step = float(rate_hz) / float(fps)
    while True:
        yield window // 2 + int(np.floor(k * step + 1e-9))
        k += 1


class _Previewer:
    """Shared bookkeeping: preview schedule, gap detection, latency."""

    def __init__(self, layout: kernels.LaneLayout, rate_hz: float, settings: PreviewSettings) -> None:
        self.layout = layout
        self.rate_hz = float(rate_hz)
        self.settings = settings
        self.w = settings.window
        self._times = preview_times(rate_hz, settings.fps, self.w)
        self.skipped = 0
        self.emitted = 0
        self._next_window()

    def _next_window(self) -> None:
        t = next(self._times)
        self.t = t
        self.lo = t - self.w // 2
        self.hi = self.lo + self.w
        self.filled = self.lo  # frames [lo, filled) are in
        self.oldest_arrival: float | None = None
        self.broken = False

    def _image(self, clock: float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _take(self, packed: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _reset(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def feed(self, chunk: Chunk, clock: Any) -> list[Preview]:
        """Take the frames of ``chunk``; return the previews they complete."""
        out: list[Preview] = []
        a, b = chunk.first, chunk.stop
        while True:
            while self.hi <= a and self.filled < self.hi:  # window ended before this chunk: frames missing
                self.skipped += 1
                self._reset()
                self._next_window()
            lo = max(self.lo, a)
            hi = min(self.hi, b)
            if lo >= hi:
                break
            if lo != self.filled:
                self.broken = True  # a gap inside the window
            if self.oldest_arrival is None:
                self.oldest_arrival = chunk.arrival
            if not self.broken:
                self._take(chunk.packed[lo - a : hi - a])
            self.filled = hi
            if hi == self.hi:
                if self.broken:
                    self.skipped += 1
                else:
                    img = self._image(clock)
                    now = clock()
                    out.append(Preview(self.t, self.t / self.rate_hz, img, self.settings.method,
                                       now - self.oldest_arrival))
                    self.emitted += 1
                self._reset()
                self._next_window()
            else:
                break
        return out


class TFPPreview(_Previewer):
    """TFP previews from per-pixel counts on the packed bits (see the module docstring)."""

    def __init__(self, layout: kernels.LaneLayout, rate_hz: float, settings: PreviewSettings, *,
                 backend: str | None = None) -> None:
        if settings.method != "tfp":
            raise ValueError(f"TFPPreview previews method 'tfp', got {settings.method!r}")
        if settings.window > kernels.MAX_LANE_WINDOW:
            raise ValueError(f"TFPPreview counts windows up to {kernels.MAX_LANE_WINDOW} frames, got "
                             f"{settings.window}; use MethodPreview for longer windows")
        super().__init__(layout, rate_hz, settings)
        self.backend = backend or kernels.BACKEND
        self.counts = kernels.new_counts(layout)
        self._scale = np.float32(1.0 / (settings.window * settings.rate_ratio))
        # Sliding mode: previews closer than half a window share counters.
        stride = rate_hz / settings.fps
        self.sliding = 2 * stride < settings.window
        self._hist = np.zeros((settings.window, layout.frame_bytes), np.uint8) if self.sliding else None
        self._arrivals = np.zeros(settings.window, np.float64)
        self._slide_upto = self._valid_from = 0

    def _take(self, packed: np.ndarray) -> None:
        if not self.sliding:
            kernels.add_frames(self.counts, packed, self.layout, backend=self.backend)

    def _reset(self) -> None:
        if not self.sliding:
            self.counts[:] = 0

    def feed(self, chunk: Chunk, clock: Any) -> list[Preview]:
        if not self.sliding:
            return super().feed(chunk, clock)
        # The counters hold frames [S - w, S) (S = self._slide_upto); slide them to each preview's end.
        out: list[Preview] = []
        a, stop = chunk.first, chunk.stop
        if a != self._slide_upto:  # frames were dropped: start again from this chunk
            self.counts[:] = 0
            self._hist[:] = 0
            self._slide_upto = self._valid_from = a
        pos = a
        while pos < stop:
            while self.hi <= pos:  # windows that ended inside a gap
                self.skipped += 1
                self._next_window()
            end = min(stop, pos + self.w, self.hi)
            self._slide(chunk.packed[pos - a : end - a], chunk.arrival)
            pos = end
            if pos == self.hi:
                if self.lo < self._valid_from:  # the window misses frames dropped before _valid_from
                    self.skipped += 1
                else:
                    img = self._image(clock)
                    oldest = self._arrivals[self.lo % self.w]
                    out.append(Preview(self.t, self.t / self.rate_hz, img, "tfp", clock() - oldest))
                    self.emitted += 1
                self._next_window()
        return out

    def _slide(self, packed: np.ndarray, arrival: float) -> None:
        f0 = self._slide_upto
        slots = np.arange(f0, f0 + len(packed)) % self.w
        kernels.subtract_frames(self.counts, self._hist[slots], self.layout, backend=self.backend)
        kernels.add_frames(self.counts, packed, self.layout, backend=self.backend)
        self._hist[slots] = packed
        self._arrivals[slots] = arrival
        self._slide_upto = f0 + len(packed)

    def _image(self, clock: Any) -> np.ndarray:
        out = np.empty((self.layout.height, self.layout.width), np.float32)
        kernels.lanes_to_intensity(self.counts, self.layout, self._scale, out, backend=self.backend)
        return out


class MethodPreview(_Previewer):
    """Previews of any registered reconstruction method, computed on each decoded window."""

    def __init__(self, layout: kernels.LaneLayout, rate_hz: float, settings: PreviewSettings) -> None:
        from ..recon import get_method

        get_method(settings.method)  # unknown names fail here, before any frame
        super().__init__(layout, rate_hz, settings)
        self._buf = np.zeros((settings.window, layout.frame_bytes), np.uint8)

    def _take(self, packed: np.ndarray) -> None:
        i = self.filled - self.lo
        self._buf[i : i + len(packed)] = packed

    def _reset(self) -> None:
        pass

    def _image(self, clock: Any) -> np.ndarray:
        from ..recon import reconstruct

        frames = unpack_frames(self._buf, self.layout.height, self.layout.width, upright=self.layout.upright)
        opts = {"rate_ratio": self.settings.rate_ratio, **dict(self.settings.options)}
        return reconstruct(frames, method=self.settings.method, at=self.w // 2, window=self.w, **opts)


def make_preview(layout: kernels.LaneLayout, rate_hz: float, settings: PreviewSettings) -> _Previewer:
    """The fastest previewer for ``settings``: :class:`TFPPreview` for TFP windows up to 255 frames, else
    :class:`MethodPreview`."""
    if settings.method == "tfp" and not settings.options and settings.window <= kernels.MAX_LANE_WINDOW:
        return TFPPreview(layout, rate_hz, settings)
    return MethodPreview(layout, rate_hz, settings)


class HotPixels:
    """Find hot (stuck or near-stuck) pixels from sampled frames on the packed bits.

    Every ``every`` frames, the next ``sample`` frames are added to per-pixel
    counts; :meth:`mask` marks pixels that fired in at least ``threshold`` of
    the sampled frames. Cost: ``sample / every`` of the stream.

    >>> import numpy as np
    >>> from spikevision.io import pack_frames
    >>> from spikevision.live.kernels import lane_layout
    >>> f = np.zeros((100, 4, 4), np.uint8); f[:, 1, 2] = 1
    >>> hp = HotPixels(lane_layout(4, 4, upright=False), every=10, sample=5)
    >>> hp.feed(Chunk(0, pack_frames(f), 0.0)); np.argwhere(hp.mask()).tolist()
    [[1, 2]]
    """

    def __init__(self, layout: kernels.LaneLayout, *, every: int = 2000, sample: int = 64,
                 threshold: float = 0.95) -> None:
        self.layout = layout
        self.every = check_positive_int(every, "every")
        self.sample = check_positive_int(sample, "sample")
        if self.sample > self.every:
            raise ValueError(f"sample ({self.sample}) must not exceed every ({self.every})")
        self.threshold = check_positive_float(threshold, "threshold")
        self._lanes = kernels.new_counts(layout)
        self._in_lanes = 0
        self.totals = np.zeros(8 * layout.frame_bytes, np.int64)
        #: Frames sampled so far.
        self.sampled = 0

    def feed(self, chunk: Chunk) -> None:
        a = chunk.first
        k0 = a // self.every
        for k in range(k0, (chunk.stop - 1) // self.every + 1):
            lo = max(a, k * self.every)
            hi = min(chunk.stop, k * self.every + self.sample)
            while lo < hi:
                n = min(hi - lo, kernels.MAX_LANE_WINDOW - self._in_lanes)
                kernels.add_frames(self._lanes, chunk.packed[lo - a : lo - a + n], self.layout)
                self._in_lanes += n
                self.sampled += n
                lo += n
                if self._in_lanes == kernels.MAX_LANE_WINDOW:
                    self._flush()

    def _flush(self) -> None:
        self.totals += self._lanes
        self._lanes[:] = 0
        self._in_lanes = 0

    def rates(self) -> np.ndarray:
        """Spikes per sampled frame of each pixel, ``(H, W)`` float64 (zeros before any sample)."""
        self._flush()
        return kernels.lanes_to_image(self.totals, self.layout) / max(self.sampled, 1)

    def mask(self) -> np.ndarray:
        """``(H, W)`` bool: pixels firing in at least ``threshold`` of the sampled frames."""
        return (self.rates() >= self.threshold) & (self.sampled > 0)


@dataclass(frozen=True)
class TriggerEvent:
    """The trigger fired at camera ``frame``: mean spike rate ``rate`` against a baseline ``baseline``."""

    frame: int
    rate: float
    baseline: float


class ActivityTrigger:
    """Fire when the mean spike rate of a frame leaves its running baseline by more than ``threshold``.

    Rates are spikes per pixel per frame (from the per-frame popcount). The
    baseline starts at the first frame's rate and follows an exponential
    average with time constant ``tau_frames``, updated once per chunk. Each
    excursion beyond the threshold fires once; after firing, the trigger stays
    quiet for ``holdoff`` frames.

    >>> import numpy as np
    >>> trig = ActivityTrigger(n_pixels=100, threshold=0.2, tau_frames=50)
    >>> counts = np.full(200, 10); counts[150:] = 60          # rate 0.1, then 0.6
    >>> print(*[e.frame for e in trig.feed(0, counts)])
    150
    """

    def __init__(self, *, n_pixels: int, threshold: float, tau_frames: float = 2000.0, holdoff: int = 0) -> None:
        self.n_pixels = check_positive_int(n_pixels, "n_pixels")
        self.threshold = check_positive_float(threshold, "threshold")
        self.tau = check_positive_float(tau_frames, "tau_frames")
        self.holdoff = check_positive_int(holdoff, "holdoff", allow_zero=True)
        self.baseline: float | None = None
        self._quiet_until = -1
        self._outside = False

    def feed(self, first: int, counts: np.ndarray) -> list[TriggerEvent]:
        """Per-frame spike counts of frames ``first, first + 1, ...``; return the trigger events."""
        if len(counts) == 0:
            return []
        rates = np.asarray(counts, np.float64) / self.n_pixels
        if self.baseline is None:
            self.baseline = float(rates[0])
        outside = np.abs(rates - self.baseline) > self.threshold
        before = np.concatenate(([self._outside], outside[:-1]))
        self._outside = bool(outside[-1])
        events = []
        for i in np.flatnonzero(outside & ~before).tolist():  # each excursion fires once
            f = first + i
            if f > self._quiet_until:
                events.append(TriggerEvent(f, float(rates[i]), self.baseline))
                self._quiet_until = f + self.holdoff
        alpha = 1.0 - np.exp(-len(rates) / self.tau)
        self.baseline += alpha * (float(rates.mean()) - self.baseline)
        return events


class RecentFrames:
    """The last ``capacity`` frames (packed) and their spike counts, for a viewer to snapshot at any time.

    :meth:`feed` runs in the pipeline's thread; :meth:`snapshot` and :meth:`counts`
    may be called from another thread (a web server). A gap (dropped frames)
    starts the buffer again, so a snapshot is always consecutive frames.

    >>> import numpy as np
    >>> from spikevision.io import pack_frames
    >>> from spikevision.live.kernels import lane_layout, frame_counts
    >>> lay = lane_layout(4, 8, upright=False)
    >>> recent = RecentFrames(lay, 20000.0, capacity=50)
    >>> p = pack_frames(np.ones((120, 4, 8), np.uint8))
    >>> recent.feed(Chunk(0, p, 0.0), frame_counts(p, lay))
    >>> s = recent.snapshot(); s.first_frame, s.n_frames, recent.counts(100, 102).tolist()
    (70, 50, [32, 32])
    """

    def __init__(self, layout: kernels.LaneLayout, rate_hz: float, *, capacity: int) -> None:
        import threading

        self.layout = layout
        self.rate_hz = check_positive_float(rate_hz, "rate_hz")
        self.capacity = check_positive_int(capacity, "capacity")
        self._packed = np.zeros((self.capacity, layout.frame_bytes), np.uint8)
        self._counts = np.zeros(self.capacity, np.int64)
        self._lock = threading.Lock()
        self.stop = 0
        self.held = 0

    def feed(self, chunk: Chunk, counts: np.ndarray) -> None:
        """Keep the frames of ``chunk`` (with their per-frame ``counts``), forgetting the oldest."""
        n = min(len(chunk.packed), self.capacity)
        slots = np.arange(chunk.stop - n, chunk.stop) % self.capacity
        with self._lock:
            if chunk.first != self.stop:
                self.held = 0
            self._packed[slots] = chunk.packed[len(chunk.packed) - n :]
            self._counts[slots] = counts[len(counts) - n :]
            self.stop = chunk.stop
            self.held = min(self.capacity, self.held + len(chunk.packed))

    def snapshot(self) -> Any:
        """A :class:`~spikevision.SpikeStream` of the frames held now (a copy; ``first_frame`` = camera index)."""
        from ..io.dat import PackedSource
        from ..stream import SpikeStream

        with self._lock:
            first = self.stop - self.held
            data = self._packed[np.arange(first, self.stop) % self.capacity]
        src = PackedSource(data, self.layout.height, self.layout.width, upright=self.layout.upright)
        return SpikeStream(src, rate_hz=self.rate_hz, first_frame=first, attrs={"source": "live"})

    def span(self) -> tuple[int, int]:
        """Camera frames ``(first, stop)`` held now (``first == stop``: none)."""
        with self._lock:
            return self.stop - self.held, self.stop

    def counts(self, start: int, stop: int) -> np.ndarray:
        """Spikes per frame of camera frames ``[start, stop)``, which must be held now; ``int64 (n,)``."""
        with self._lock:
            first = self.stop - self.held
            if not first <= start <= stop <= self.stop:
                raise FramesNotHeld(f"frames [{start}, {stop}) are not held; held now: [{first}, {self.stop})")
            return self._counts[np.arange(start, stop) % self.capacity].copy()

    def packed(self, start: int, stop: int) -> np.ndarray:
        """A copy of the packed frames ``[start, stop)`` (camera indices, held now), ``(n, frame_bytes)`` uint8."""
        with self._lock:
            first = self.stop - self.held
            if not first <= start <= stop <= self.stop:
                raise FramesNotHeld(f"frames [{start}, {stop}) are no longer held; held now: [{first}, {self.stop})")
            return self._packed[np.arange(start, stop) % self.capacity]

    def view(self) -> Any:
        """A :class:`~spikevision.SpikeStream` of the frames held now, without copying them.

        Frames are copied out of the buffer only when they are read (a window
        for one reconstruction, say), so a view costs nothing to make. Reading
        frames that have been overwritten since raises :class:`FramesNotHeld`
        (a :class:`ValueError`); :meth:`snapshot` copies everything at once.
        ``first_frame`` is the camera index of the view's first frame.
        """
        from ..stream import SpikeStream

        first, stop = self.span()
        return SpikeStream(_HeldFrames(self, first, stop), rate_hz=self.rate_hz, first_frame=first,
                           attrs={"source": "live"})


class FramesNotHeld(ValueError):
    """Frames asked of a :class:`RecentFrames` buffer that it does not hold (any more)."""


class _HeldFrames:
    """Frame source over camera frames ``[first, stop)`` of a :class:`RecentFrames`, decoded when read."""

    def __init__(self, recent: RecentFrames, first: int, stop: int) -> None:
        self.recent = recent
        self.first = first
        self.stop = stop
        self.height = recent.layout.height
        self.width = recent.layout.width

    def __len__(self) -> int:
        return self.stop - self.first

    def decode(self, start: int, stop: int) -> np.ndarray:
        lay = self.recent.layout
        return unpack_frames(self.recent.packed(self.first + start, self.first + stop), lay.height, lay.width,
                             upright=lay.upright)

    def counts(self, start: int, stop: int) -> np.ndarray:
        return self.recent.counts(self.first + start, self.first + stop)

    def close(self) -> None:
        return None
