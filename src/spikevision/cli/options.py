"""Options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from ..io.dat import SENSORS
from ..io.sensor import LAYOUTS


def _to_meta(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep an option for :func:`open_stream` in ``ctx.meta`` instead of passing it to the command."""
    ctx.meta[f"spikevision.{param.name}"] = value
    return value


def dat_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--height/--width/--sensor/--upright/--rate/--drop-partial`` for commands that read spike files."""
    opts = [
        click.option("--height", "-H", type=click.IntRange(min=1), help="Frame height in pixels (.dat only)."),
        click.option("--width", "-W", type=click.IntRange(min=1), help="Frame width in pixels (.dat only)."),
        click.option("--sensor", help=f"Frame size of a .dat: auto (detect; the default when the file has no "
                                       f".json sidecar), {', '.join(sorted(SENSORS))} or HxW."),
        click.option("--header-bytes", type=click.IntRange(min=0), default=None, expose_value=False, callback=_to_meta,
                     help=".dat: bytes before the first frame (default 0, or the sidecar's)."),
        click.option("--layout", type=click.Choice(["plain", *sorted(LAYOUTS)]), default=None, expose_value=False,
                     callback=_to_meta,
                     help=".dat: stored layout; sps1000 = the 1000x1000 camera's rows padded to 1024 "
                          "(see docs/real-recordings.md)."),
        click.option("--upright", is_flag=True, help=".dat rows stored top-to-bottom (SPIFT/PHM); default bottom-to-top."),
        click.option("--rate", "rate_hz", type=click.FloatRange(min=0, min_open=True), help="Readout rate in Hz (default 20000)."),
        click.option("--drop-partial", is_flag=True, help="Ignore a trailing partial frame instead of failing."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def open_stream(path: str, *, height: int | None, width: int | None, sensor: str | None, upright: bool,
                rate_hz: float | None, drop_partial: bool, header_bytes: int | None = None,
                layout: str | None = None) -> Any:
    """Open a spike file with the options of :func:`dat_options`; a detected .dat size is reported on stderr."""
    import warnings

    from ..io.formats import load
    from ..io.sensor import SizeWarning

    if str(path).lower().endswith(".dat") and (height is None) != (width is None):
        raise click.UsageError("give both --height and --width (or --sensor HxW, or neither to detect the size)")
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        header_bytes = header_bytes if header_bytes is not None else ctx.meta.get("spikevision.header_bytes")
        layout = layout or ctx.meta.get("spikevision.layout")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SizeWarning)
        stream = load(path, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                      drop_partial=drop_partial, header_bytes=header_bytes, layout=layout)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    if stream.attrs.get("size_from") == "detected":
        click.echo(f"{Path(path).name}: detected frame size {stream.height} x {stream.width} "
                   f"(layout {stream.attrs.get('layout')}, row score {stream.attrs.get('row_score', float('nan')):.2f}); "
                   f"pass --sensor to fix it", err=True)
    return stream

