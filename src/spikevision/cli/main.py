"""The ``spikevision`` command line.

Start-up stays fast: only numpy and click are imported here; each command
imports what it needs (torch, video libraries ...) when it runs. Commands live
in one module per stage (``cli/io.py``, ``cli/sim.py`` ...), each exposing a
``register(group)`` function; the modules are listed in :data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import sys
import threading
from typing import Iterator

import click

from .._version import __version__

#: Modules (under ``spikevision.cli``) that add commands to the group.
COMMAND_MODULES = ("io", "evaluate", "demo", "train", "sim", "flow", "recon", "comm", "track", "batch", "view")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="spikevision")
def cli() -> None:
    """spikevision: read, simulate, reconstruct and analyse spike-camera data."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.{_name}").register(cli)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def terminate_as_exit() -> Iterator[None]:
    """While inside, SIGTERM raises ``SystemExit(143)`` instead of killing the process outright.

    Context managers then run their cleanup, so an atomic write interrupted by
    ``kill`` removes its temporary file (the target was never touched). Only
    in the main thread (where Python delivers signals); the previous handler
    is restored on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``spikevision`` script; user errors exit with status 2 and one line."""
    with terminate_as_exit():
        _main(argv)


def _main(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="spikevision", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (ValueError, TypeError, FileNotFoundError, ImportError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
