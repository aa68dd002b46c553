"""``info`` and ``convert``: look at spike files and change their format."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..io.stats import stream_info
from .options import dat_options, open_stream


def register(group: click.Group) -> None:
    @group.command()
    @click.argument("path", type=click.Path(dir_okay=False))
    @dat_options
    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
    def info(path, height, width, sensor, upright, rate_hz, drop_partial, as_json):
        """Frames, size, duration and spike-rate statistics of a spike file.

        Spike counts come from the packed bits (population count), so even
        GB-sized recordings are summarised in about a second.
        """
        with open_stream(path, height=height, width=width, sensor=sensor, upright=upright,
                         rate_hz=rate_hz, drop_partial=drop_partial) as s:
            stats = stream_info(s, progress=not as_json and s.n_frames > 50_000)
        stats = {"path": str(path), **stats}
        if as_json:
            click.echo(json.dumps(stats, indent=2, allow_nan=False))
            return
        click.echo(f"{path}")
        click.echo(f"  frames       {stats['frames']}  ({stats['height']} x {stats['width']} px)")
        click.echo(f"  duration     {stats['duration_s'] * 1e3:.2f} ms at {stats['rate_hz']:g} Hz")
        click.echo(f"  spikes       {stats['total_spikes']}")
        click.echo(f"  mean rate    {stats['mean_rate']:.4f} spikes / pixel / frame")
        click.echo(f"  per frame    min {stats['frame_rate_min']:.4f}  p5 {stats['frame_rate_p05']:.4f}  "
                   f"p95 {stats['frame_rate_p95']:.4f}  max {stats['frame_rate_max']:.4f}  std {stats['frame_rate_std']:.4f}")
        click.echo(f"  empty frames {stats['empty_frames']}")

    @group.command()
    @click.argument("src", type=click.Path(dir_okay=False))
    @click.argument("dst", type=click.Path(dir_okay=False))
    @dat_options
    @click.option("--out-upright", is_flag=True, help="Write .dat rows top-to-bottom (default: camera layout).")
    @click.option("--start", type=click.IntRange(min=0), default=None, help="First frame to keep.")
    @click.option("--stop", type=click.IntRange(min=0), default=None, help="Frame after the last one to keep.")
    def convert(src, dst, height, width, sensor, upright, rate_hz, drop_partial, out_upright, start, stop):
        """Convert between .dat, .h5, .npy and .npz (by suffix), optionally cutting [start, stop)."""
        from ..io.formats import save

        if Path(src).resolve() == Path(dst).resolve():
            raise click.UsageError("SRC and DST are the same file")
        with open_stream(src, height=height, width=width, sensor=sensor, upright=upright,
                         rate_hz=rate_hz, drop_partial=drop_partial) as s:
            part = s[start:stop]
            save(dst, part, upright=out_upright, progress=True)
            click.echo(f"wrote {dst}: {part.n_frames} frames of {part.height} x {part.width}")
