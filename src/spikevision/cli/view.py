"""``view``: look through a recording in the browser."""

from __future__ import annotations

from pathlib import Path

import click

from .options import dat_options


def register(group: click.Group) -> None:
    @group.command(name="view")
    @click.argument("path", type=click.Path(exists=True))
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
    def view_cmd(path, height, width, sensor, upright, rate_hz, drop_partial, host, port, token, export_dir,
                 no_export, no_browser):
        """Serve PATH (a spike file or a folder of them) to the browser.

        \b
        spikevision view clip.dat --sensor vidar
        spikevision view recordings/ --sensor vidar --port 0 --no-browser
        spikevision view clip.h5 --host 0.0.0.0 --token "$(openssl rand -hex 16)"
        """
        from ..view import LoadOptions, ServeOptions, open_catalog, serve

        p = Path(path)
        if p.is_file() and p.suffix.lower() == ".dat" and sensor is None and (height is None or width is None):
            raise click.UsageError("a .dat file does not store its size: give --height and --width, or --sensor")
        catalog = open_catalog(p, LoadOptions(height=height, width=width, sensor=sensor, upright=upright,
                                              rate_hz=rate_hz, drop_partial=drop_partial))
        if catalog.first_open() is None:
            raise click.UsageError(f"none of the {len(catalog)} spike files in {p} could be opened "
                                   "(.dat files need --sensor or --height/--width)")
        out = None if no_export else Path(export_dir).resolve()
        serve(catalog, ServeOptions(host=host, port=port, token=token, export_dir=out, open_browser=not no_browser),
              announce=click.echo)
