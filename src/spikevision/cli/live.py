"""``live replay | send | record``: spike streams at camera rate (see docs/live.md)."""

from __future__ import annotations

import json
import sys
import time

import click

from .options import dat_options, open_stream

_LIVE_SCHEMES = ("tcp://", "unix://")


def _speed(ctx: click.Context | None, param: click.Parameter | None, value: str) -> float | None:
    if str(value).lower() == "max":
        return None
    try:
        x = float(value)
    except ValueError:
        raise click.BadParameter(f"expected 'max' or a positive number, got {value!r}") from None
    if not x > 0:
        raise click.BadParameter(f"speed must be positive, got {value!r}")
    return x


def _open_feed(src, *, height, width, sensor, upright, rate_hz, drop_partial, loop, frames, accept_timeout):
    from ..live import FileFeed, SocketFeed

    if str(src).startswith(_LIVE_SCHEMES):
        feed = SocketFeed(src)
        click.echo(f"waiting for a sender on {feed.address} ...", err=True)
        feed.accept(timeout=accept_timeout)
        return feed
    stream = open_stream(src, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                         drop_partial=drop_partial)
    return FileFeed(stream, loop=loop, frames=frames)


class _Status:
    """One terminal line, refreshed about once a second."""

    def __init__(self, enabled: bool, rate_hz: float, pixels: int) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.rate_hz = rate_hz
        self.pixels = pixels
        self.t0 = time.perf_counter()
        self.last = self.t0

    def chunk(self, run) -> None:
        now = time.perf_counter()
        if not self.enabled or now - self.last < 1.0:
            return
        self.last = now
        cam = (run.frames + run.ring.dropped) / self.rate_hz
        rate = run.spikes / max(1, run.frames * self.pixels)
        click.echo(f"\r{run.frames} frames  {cam:.2f} s camera  {cam / (now - self.t0):.2f}x  "
                   f"rate {rate:.4f}  dropped {run.ring.dropped}  queue {run.ring.queued}   ", err=True, nl=False)

    def end(self) -> None:
        if self.enabled:
            click.echo("", err=True)


def register(group: click.Group) -> None:
    @group.group()
    def live() -> None:
        """Live spike streams: replay at camera rate, send and record network feeds."""

    @live.command()
    @click.argument("src")
    @dat_options
    @click.option("--speed", default="max", show_default=True, callback=_speed, help="'max', or a multiple of the camera rate (1 = real time).")
    @click.option("--preview", default="tfp", show_default=True, help="Preview method: tfp, tfi, atfi, ... or 'none'.")
    @click.option("--preview-fps", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
                  help="Previews per second of camera time.")
    @click.option("--window", type=click.IntRange(min=1), default=41, show_default=True, help="Preview window (frames).")
    @click.option("--policy", type=click.Choice(["block", "drop-oldest"]), default="block", show_default=True,
                  help="When the consumer falls behind: slow the source, or drop the oldest frames (counted).")
    @click.option("--loop", is_flag=True, help="Replay the file again and again (with --frames).")
    @click.option("--frames", type=click.IntRange(min=1), default=None, help="Stop after this many frames.")
    @click.option("--hot-pixels", is_flag=True, help="Also count hot pixels (sampled frames).")
    @click.option("--accept-timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
                  help="Seconds to wait for a sender (tcp:// or unix:// sources).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON line: frames, wall_s, realtime_factor, "
                  "dropped, previews, latency_ms_p99.")
    def replay(src, height, width, sensor, upright, rate_hz, drop_partial, speed, preview, preview_fps, window, policy,
               loop, frames, hot_pixels, accept_timeout, as_json):
        """Stream SRC (a spike file, or tcp://HOST:PORT / unix:///PATH to listen for a sender) through the live
        pipeline: per-frame spike counts on the packed bits and previews at --preview-fps of camera time."""
        from ..live import LiveRun, PreviewSettings

        if loop and frames is None:
            raise click.UsageError("--loop needs --frames (a replay must end)")
        settings = None if preview.lower() == "none" else PreviewSettings(preview.lower(), fps=preview_fps, window=window)
        with _open_feed(src, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                        drop_partial=drop_partial, loop=loop, frames=frames, accept_timeout=accept_timeout) as feed:
            h = feed.header
            status = _Status(not as_json, h.rate_hz, h.height * h.width)
            run = LiveRun(feed, speed=speed, preview=settings, policy=policy, hot_pixels=hot_pixels,
                          on_chunk=lambda c, n: status.chunk(run), max_frames=frames)
            report = run.run()
            status.end()
        if as_json:
            click.echo(json.dumps(report.json_summary()))
            return
        click.echo(f"{src}: {h.height} x {h.width} at {h.rate_hz:g} Hz ({report.backend} kernels)")
        click.echo(f"  frames       {report.frames}  ({report.camera_s:.3f} s of camera time)")
        click.echo(f"  wall         {report.wall_s:.3f} s  ({report.realtime_factor:.2f}x real time)")
        click.echo(f"  dropped      {report.dropped} frames  (policy {policy}, queue peak {report.queue_high_water})")
        click.echo(f"  spike rate   {report.mean_rate:.4f} spikes / pixel / frame")
        if settings is not None:
            click.echo(f"  previews     {report.previews} of {report.expected_previews} ({settings.method} at "
                       f"{settings.fps:g} fps, {report.skipped_previews} skipped); latency p50 "
                       f"{report.latency_ms_p50:.1f} ms, p99 {report.latency_ms_p99:.1f} ms")
        if report.hot_pixels is not None:
            click.echo(f"  hot pixels   {report.hot_pixels}")

    @live.command()
    @click.argument("src", type=click.Path(dir_okay=False))
    @click.argument("dest")
    @dat_options
    @click.option("--speed", default="1", show_default=True, callback=_speed, help="Multiple of the camera rate, or 'max'.")
    @click.option("--loop", is_flag=True, help="Start over at the end of the file (endless without --frames).")
    @click.option("--frames", type=click.IntRange(min=1), default=None, help="Send this many frames.")
    def send(src, dest, height, width, sensor, upright, rate_hz, drop_partial, speed, loop, frames):
        """Send spike file SRC to a receiver at DEST (tcp://HOST:PORT or unix:///PATH) in the live wire format."""
        from ..live import send as send_feed

        with _open_feed(src, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                        drop_partial=drop_partial, loop=loop, frames=frames, accept_timeout=None) as feed:
            t0 = time.perf_counter()
            n = send_feed(feed, dest, speed=speed)
            wall = time.perf_counter() - t0
        click.echo(f"sent {n} frames to {dest} in {wall:.3f} s ({n / feed.header.rate_hz / max(wall, 1e-9):.2f}x real time)",
                   err=True)

    @live.command()
    @click.argument("src")
    @click.option("-o", "--out", required=True, type=click.Path(dir_okay=False),
                  help="Output .dat or .h5 (rotated segments get _0000, _0001 ... suffixes).")
    @click.option("--frames", type=click.IntRange(min=1), default=None, help="Stop after this many frames.")
    @click.option("--rotate", default=None, help="New segment after a size or camera time, e.g. 1GB, 500MiB, 10s, "
                  "'1GB,30s'.")
    @click.option("--trigger", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="Record only when the mean spike rate leaves its running baseline by this much "
                  "(spikes / pixel / frame).")
    @click.option("--pre-frames", type=click.IntRange(min=0), default=2000, show_default=True,
                  help="With --trigger: frames kept from before each event.")
    @click.option("--post-frames", type=click.IntRange(min=1), default=20000, show_default=True,
                  help="With --trigger: frames kept after the last event.")
    @click.option("--accept-timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
                  help="Seconds to wait for a sender.")
    def record(src, out, frames, rotate, trigger, pre_frames, post_frames, accept_timeout):
        """Listen on SRC (tcp://HOST:PORT or unix:///PATH), accept one sender and record its frames byte for
        byte; no frame is dropped (TCP slows the sender down instead)."""
        from ..live import ActivityTrigger, Rotation, SocketFeed
        from ..live import record as record_feed

        if not str(src).startswith(_LIVE_SCHEMES):
            raise click.UsageError(f"SRC must be tcp://HOST:PORT or unix:///PATH, got {src!r}")
        rotation = Rotation.parse(rotate) if rotate else None
        with SocketFeed(src) as feed:
            click.echo(f"waiting for a sender on {feed.address} ...", err=True)
            h = feed.accept(timeout=accept_timeout)
            trig = ActivityTrigger(n_pixels=h.height * h.width, threshold=trigger) if trigger is not None else None
            segments, report = record_feed(feed, out, rotation=rotation, max_frames=frames, trigger=trig,
                                           pre_frames=pre_frames, post_frames=post_frames)
        rows = "top-down (read with --upright)" if h.upright else "bottom-up"
        click.echo(f"recorded {report.frames} frames of {h.height} x {h.width} at {h.rate_hz:g} Hz, rows {rows}, "
                   f"into {len(segments)} segment(s)")
        for s in segments:
            click.echo(f"  {s}")
