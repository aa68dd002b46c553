"""The live pipeline: a producer thread fills a :class:`~spikevision.live.ring.FrameRing` from a feed;
the consumer counts spikes per frame, runs the operators and yields previews.

:class:`LiveRun` is the seam for viewers: iterate over it to get
:class:`~spikevision.live.operators.Preview` objects (image plus camera frame
and time) as they are ready; :attr:`LiveRun.report` summarises the run.

>>> import numpy as np
>>> from spikevision.live import LiveRun, PreviewSettings, SimulatedCamera
>>> cam = SimulatedCamera(np.full((16, 16), 0.5), n_frames=2000, seed=0)
>>> run = LiveRun(cam, preview=PreviewSettings("tfp", fps=100))
>>> [p.frame for p in run][:3]
[20, 220, 420]
>>> run.report.frames, run.report.dropped, run.report.previews
(2000, 0, 10)
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .._checks import check_positive_float, check_positive_int
from . import kernels
from .operators import HotPixels, Preview, PreviewSettings, RecentFrames, make_preview
from .ring import Chunk, FrameRing, RingClosed
from .sources import Feed, chunk_frames_for, paced

__all__ = ["LiveRun", "LiveReport", "expected_previews", "RING_BYTES"]

#: Default ring size in bytes (frames = RING_BYTES // frame_bytes, at least 4 chunks).
RING_BYTES = 256 << 20


def expected_previews(n_frames: int, rate_hz: float, settings: PreviewSettings) -> int:
    """Previews a gap-free run of ``n_frames`` frames gives: ``#{k : t_k - w // 2 + w <= n_frames}``."""
    last_lo = n_frames - settings.window  # the last window start that fits
    if last_lo < 0:
        return 0
    step = float(rate_hz) / float(settings.fps)
    return int(np.floor(last_lo / step + 1e-9)) + 1


@dataclass(frozen=True)
class LiveReport:
    """Summary of a live run (times in seconds; latencies in milliseconds)."""

    frames: int
    wall_s: float
    camera_s: float
    realtime_factor: float
    dropped: int
    previews: int
    expected_previews: int
    skipped_previews: int
    latency_ms_p50: float
    latency_ms_p99: float
    spikes: int
    mean_rate: float
    queue_high_water: int
    backend: str
    hot_pixels: int | None = None

    def json_summary(self) -> dict[str, Any]:
        """The one-line summary of ``spikevision live replay --json``."""
        d = asdict(self)
        return {k: d[k] for k in ("frames", "wall_s", "realtime_factor", "dropped", "previews", "latency_ms_p99")}


class LiveRun:
    """Run ``feed`` through a ring buffer and the live operators; iterate to get previews.

    Parameters
    ----------
    feed:
        A source from :mod:`spikevision.live.sources` (or anything with a
        ``header`` and ``chunks(max_frames)``).
    speed:
        ``None``: as fast as possible; ``1.0``: camera rate; ``x``: ``x`` times camera rate.
    preview:
        What to preview (``None``: no previews, only counts), or several settings
        (e.g. TFP at 60 fps and the CNN at 5 fps); previews of all of them are
        yielded in camera order per chunk, told apart by ``Preview.method``. The
        report counts the first one's previews.
    capacity:
        Ring size in frames (default :data:`RING_BYTES` worth).
    policy:
        ``"block"`` or ``"drop-oldest"`` when the consumer falls behind.
    hot_pixels:
        Also look for hot pixels (:class:`~spikevision.live.operators.HotPixels`).
    on_chunk:
        Called with each :class:`~spikevision.live.ring.Chunk` and its per-frame counts (recorders, triggers).
    block_s:
        Camera time per delivered chunk when paced (the feed's granularity; sets the latency floor).
    max_frames:
        Stop after this many frames (the producer is told to stop).
    keep_recent:
        Keep the last this-many frames in :attr:`recent`
        (:class:`~spikevision.live.operators.RecentFrames`) for a viewer to snapshot.
    """

    def __init__(
        self,
        feed: Feed,
        *,
        speed: float | None = None,
        preview: PreviewSettings | Sequence[PreviewSettings] | None = None,
        capacity: int | None = None,
        policy: str = "block",
        hot_pixels: bool = False,
        on_chunk: Callable[[Any, np.ndarray], None] | None = None,
        block_s: float = 1e-3,
        max_frames: int | None = None,
        keep_recent: int | None = None,
    ) -> None:
        self.feed = feed
        h = feed.header
        self.speed = None if speed is None else check_positive_float(speed, "speed")
        self.layout = kernels.lane_layout(h.height, h.width, upright=h.upright)
        kernels.warm_up(self.layout)
        self.chunk_frames = chunk_frames_for(h, speed=self.speed, block_s=check_positive_float(block_s, "block_s"))
        cap = capacity if capacity is not None else max(4 * self.chunk_frames, RING_BYTES // h.frame_bytes)
        self.ring = FrameRing(frame_bytes=h.frame_bytes, capacity=check_positive_int(cap, "capacity"), policy=policy)
        if self.chunk_frames > self.ring.capacity:
            self.chunk_frames = self.ring.capacity
        settings = [] if preview is None else [preview] if isinstance(preview, PreviewSettings) else list(preview)
        for ps in settings:
            if not isinstance(ps, PreviewSettings):
                raise TypeError(f"preview must be PreviewSettings, got {type(ps).__name__}")
            if ps.fps > h.rate_hz:
                raise ValueError(f"preview fps ({ps.fps}) cannot exceed the camera rate ({h.rate_hz} Hz)")
        self.preview = settings[0] if settings else None
        self.previewers = [make_preview(self.layout, h.rate_hz, ps) for ps in settings]
        self.previewer = self.previewers[0] if self.previewers else None
        self.hot = HotPixels(self.layout) if hot_pixels else None
        self.recent = RecentFrames(self.layout, h.rate_hz, capacity=keep_recent) if keep_recent else None
        self.on_chunk = on_chunk
        self.max_frames = None if max_frames is None else check_positive_int(max_frames, "max_frames")
        self.report: LiveReport | None = None
        self.latencies: list[float] = []
        self.frames = 0
        self.spikes = 0
        self._started = False

    def _produce(self) -> None:
        h = self.feed.header
        try:
            for c in paced(self.feed.chunks(self.chunk_frames), rate_hz=h.rate_hz, speed=self.speed):
                self.ring.put(c)
        except RingClosed:
            pass
        except BaseException as exc:  # handed to the consumer, re-raised there
            self.ring.close(exc)
            return
        self.ring.close()

    def __iter__(self) -> Iterator[Preview]:
        if self._started:
            raise RuntimeError("a LiveRun can be iterated once")
        self._started = True
        clock = time.perf_counter
        producer = threading.Thread(target=self._produce, name="spikevision-live-producer", daemon=True)
        t0 = clock()
        producer.start()
        try:
            for chunk in self.ring:
                if self.max_frames is not None:
                    left = self.max_frames - self.frames
                    if len(chunk.packed) > left:
                        chunk = Chunk(chunk.first, chunk.packed[:left], chunk.arrival)
                counts = kernels.frame_counts(chunk.packed, self.layout)
                self.frames += len(counts)
                self.spikes += int(counts.sum())
                if self.on_chunk is not None:
                    self.on_chunk(chunk, counts)
                if self.hot is not None:
                    self.hot.feed(chunk)
                if self.recent is not None:
                    self.recent.feed(chunk, counts)
                for k, pv in enumerate(self.previewers):
                    for p in pv.feed(chunk, clock):
                        if k == 0:
                            self.latencies.append(p.latency_s)
                        yield p
                if self.max_frames is not None and self.frames >= self.max_frames:
                    break
        finally:
            self.ring.cancel()
            producer.join(timeout=5.0)
            self._finish(clock() - t0)

    def run(self, on_preview: Callable[[Preview], None] | None = None) -> LiveReport:
        """Consume the whole feed; call ``on_preview`` for each preview; return the report."""
        for p in self:
            if on_preview is not None:
                on_preview(p)
        assert self.report is not None
        return self.report

    def _finish(self, wall: float) -> None:
        h = self.feed.header
        camera = (self.frames + self.ring.dropped) / h.rate_hz
        lat = np.asarray(self.latencies) * 1e3
        pv = self.previewer
        self.report = LiveReport(
            frames=self.frames,
            wall_s=wall,
            camera_s=camera,
            realtime_factor=camera / wall if wall > 0 else float("inf"),
            dropped=self.ring.dropped,
            previews=pv.emitted if pv is not None else 0,
            expected_previews=expected_previews(self.frames + self.ring.dropped, h.rate_hz, self.preview)
            if self.preview is not None else 0,
            skipped_previews=pv.skipped if pv is not None else 0,
            latency_ms_p50=float(np.percentile(lat, 50)) if len(lat) else float("nan"),
            latency_ms_p99=float(np.percentile(lat, 99)) if len(lat) else float("nan"),
            spikes=self.spikes,
            mean_rate=self.spikes / max(1, self.frames * h.height * h.width),
            queue_high_water=self.ring.high_water,
            backend=kernels.BACKEND,
            hot_pixels=int(self.hot.mask().sum()) if self.hot is not None else None,
        )
