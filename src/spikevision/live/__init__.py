"""Live spike streams: ingest at camera rate, compute on packed bits, preview and record live.

* :mod:`~spikevision.live.sources`: feeds of packed frames (file replay,
  simulated camera, TCP / Unix socket) and pacing at camera rate;
* :mod:`~spikevision.live.wire`: the network wire format;
* :mod:`~spikevision.live.ring`: the bounded frame ring (block / drop-oldest);
* :mod:`~spikevision.live.kernels`: popcount and window counts on packed bits;
* :mod:`~spikevision.live.operators`: TFP / any-method previews, hot pixels, triggers;
* :mod:`~spikevision.live.record`: atomic, rotated ``.dat`` / ``.h5`` segments;
* :mod:`~spikevision.live.pipeline`: :class:`LiveRun`, the loop that ties them.

User guide, wire format and measurements: ``docs/live.md``.
"""

from .kernels import BACKEND, frame_counts, lane_layout
from .operators import (ActivityTrigger, FramesNotHeld, HotPixels, MethodPreview, Preview, PreviewSettings, RecentFrames,
                        TFPPreview, TriggerEvent, make_preview, preview_times)
from .pipeline import LiveReport, LiveRun, expected_previews
from .record import Rotation, SegmentWriter, TriggeredRecorder, record
from .ring import POLICIES, Chunk, FrameRing, RingClosed
from .sources import FileFeed, SimulatedCamera, SocketFeed, paced, parse_address, send
from .wire import HEADER_SIZE, WireError, WireHeader

__all__ = [
    "BACKEND",
    "ActivityTrigger",
    "Chunk",
    "FileFeed",
    "FramesNotHeld",
    "FrameRing",
    "HEADER_SIZE",
    "HotPixels",
    "LiveReport",
    "LiveRun",
    "MethodPreview",
    "POLICIES",
    "Preview",
    "PreviewSettings",
    "RecentFrames",
    "RingClosed",
    "Rotation",
    "SegmentWriter",
    "SimulatedCamera",
    "SocketFeed",
    "TFPPreview",
    "TriggerEvent",
    "TriggeredRecorder",
    "WireError",
    "WireHeader",
    "expected_previews",
    "frame_counts",
    "lane_layout",
    "make_preview",
    "paced",
    "parse_address",
    "preview_times",
    "record",
    "send",
]
