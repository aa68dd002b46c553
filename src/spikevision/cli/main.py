"""The ``spikevision`` command line.

Start-up stays fast: only numpy and click are imported here; each command
imports what it needs (torch, video libraries ...) when it runs. Commands live
in one module per stage (``cli/io.py``, ``cli/sim.py`` ...), each exposing a
``register(group)`` function; the modules are listed in :data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import importlib
import sys

import click

from .._version import __version__

#: Modules (under ``spikevision.cli``) that add commands to the group.
COMMAND_MODULES = ("io", "evaluate", "demo", "learned", "sim", "flow", "recon", "comm")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="spikevision")
def cli() -> None:
    """spikevision: read, simulate, reconstruct and analyse spike-camera data."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.{_name}").register(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``spikevision`` script; user errors exit with status 2 and one line."""
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
