"""``view``: look through a recording in the browser."""

from __future__ import annotations

from pathlib import Path

import click

from .options import dat_options


def register(group: click.Group) -> None:
    @group.command(name="view")
    @click.argument("path")
    @dat_options
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to listen on. Anything but loopback needs a token (one is made if not given).")
    @click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
                  help="Port (0: any free port).")
    @click.option("--token", default=None, envvar="SPIKEVISION_VIEW_TOKEN",
                  help="Token every request must carry (at least 16 characters; env SPIKEVISION_VIEW_TOKEN).")
    @click.option("--export-dir", type=click.Path(file_okay=False), default="spikevision-exports", show_default=True,
                  help="The only folder the viewer writes exports to (created on the first export).")
    @click.option("--no-export", is_flag=True, help="Turn exports off (the viewer writes nothing).")
    @click.option("--no-browser", is_flag=True, help="Do not open a browser.")
    @click.option("--live", "live_replay", is_flag=True,
                  help="Replay the file as a live feed at --speed (the page follows the newest frame).")
    @click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="With --live: multiple of the camera rate (default 1).")
    @click.option("--loop", is_flag=True, help="With --live: replay the file again and again.")
    @click.option("--keep", type=click.IntRange(min=1), default=None,
                  help="Live: frames held for scrubbing (default: 256 MB worth).")
    def view_cmd(path, height, width, sensor, upright, rate_hz, drop_partial, host, port, token, export_dir,
                 no_export, no_browser, live_replay, speed, loop, keep):
        """Serve PATH (a spike file or a folder of them) to the browser; or a live feed: PATH tcp://HOST:PORT or
        unix://PATH listens for one sender (`spikevision live send`, a camera driver), FILE --live replays a file.

        \b
        spikevision view clip.dat --sensor vidar
        spikevision view recordings/ --sensor vidar --port 0 --no-browser
        spikevision view clip.h5 --host 0.0.0.0 --token "$(openssl rand -hex 16)"
        spikevision view tcp://127.0.0.1:5555
        spikevision view clip.dat --sensor vidar --live --speed 0.1 --loop
        """
        from ..view import LoadOptions, ServeOptions, open_catalog, open_live, serve
        from ..view.live import LIVE_SCHEMES

        options = LoadOptions(height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                              drop_partial=drop_partial)
        is_address = path.startswith(LIVE_SCHEMES)
        p = Path(path)
        if not is_address and not p.exists():
            raise click.BadParameter(f"no such file or folder: {path}", param_hint="PATH")
        if (live_replay or loop) and (is_address or p.is_dir()):
            raise click.UsageError("--live and --loop replay one spike file (a tcp:// or unix:// PATH is live already)")
        if (loop or speed is not None) and not live_replay:
            raise click.UsageError("--loop and --speed need --live (a socket feed is paced by its sender)")
        if keep is not None and not (is_address or live_replay):
            raise click.UsageError("--keep is for live feeds (tcp://, unix:// or --live)")
        if p.is_file() and p.suffix.lower() == ".dat" and sensor is None and (height is None or width is None):
            raise click.UsageError("a .dat file does not store its size: give --height and --width, or --sensor")
        if is_address or live_replay:
            catalog = open_live(path, options, speed=1.0 if speed is None else speed, loop=loop, keep=keep)
            address = catalog.get(0).address
            if address is not None:
                click.echo(f"live feed: waiting for a sender on {address}")
        else:
            catalog = open_catalog(p, options)
        if catalog.first_open() is None:
            raise click.UsageError(f"none of the {len(catalog)} spike files in {p} could be opened "
                                   "(.dat files need --sensor or --height/--width)")
        out = None if no_export else Path(export_dir).resolve()
        serve(catalog, ServeOptions(host=host, port=port, token=token, export_dir=out, open_browser=not no_browser),
              announce=click.echo)
