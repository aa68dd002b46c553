"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Any, Callable

import click

from ..io.dat import SENSORS


def dat_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--height/--width/--sensor/--upright/--rate/--drop-partial`` for commands that read spike files."""
    opts = [
        click.option("--height", "-H", type=click.IntRange(min=1), help="Frame height in pixels (.dat only)."),
        click.option("--width", "-W", type=click.IntRange(min=1), help="Frame width in pixels (.dat only)."),
        click.option("--sensor", help=f"Named frame size for .dat: {', '.join(sorted(SENSORS))} or HxW."),
        click.option("--upright", is_flag=True, help=".dat rows stored top-to-bottom (SPIFT/PHM); default bottom-to-top."),
        click.option("--rate", "rate_hz", type=click.FloatRange(min=0, min_open=True), help="Readout rate in Hz (default 20000)."),
        click.option("--drop-partial", is_flag=True, help="Ignore a trailing partial frame instead of failing."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def open_stream(path: str, *, height: int | None, width: int | None, sensor: str | None, upright: bool,
                rate_hz: float | None, drop_partial: bool) -> Any:
    """Open a spike file with the options of :func:`dat_options`."""
    from ..io.formats import load

    if str(path).lower().endswith(".dat") and sensor is None and (height is None or width is None):
        raise click.UsageError("a .dat file does not store its size: give --height and --width, or --sensor")
    return load(path, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz, drop_partial=drop_partial)
