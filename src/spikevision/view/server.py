"""Run the viewer: bind, print the address, open the browser, serve with uvicorn.

Safe by default: the server binds ``127.0.0.1``. Any other host needs a token
(one is made with :func:`secrets.token_urlsafe` when none is given), and every
request without it is answered ``401``. On loopback without a token the app
answers only to loopback host names (a guard against DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .app import LOOPBACK_HOSTS, ViewSettings, create_app
from .source import Catalog

__all__ = ["serve", "is_loopback", "ServeOptions", "viewer_url"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names the local machine only (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServeOptions:
    """``host``/``port`` to bind (``port=0``: any free port), ``token`` (required off loopback:
    ``None`` makes one), ``export_dir`` (``None``: exports off), ``open_browser``."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    export_dir: Path | None = None
    open_browser: bool = True


def viewer_url(host: str, port: int, token: str | None) -> str:
    """The page's address (with ``?token=`` when there is one)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another --port)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(catalog: Catalog, options: ServeOptions = ServeOptions(), *,
          announce: Callable[[str], None] = print) -> None:
    """Serve ``catalog`` until interrupted (Ctrl-C); ``announce`` prints the address and the token."""
    token = options.token
    if token is not None and len(token) < 16:
        raise ValueError(f"a token must have at least 16 characters, got {len(token)}")
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the viewer needs its web server: pip install 'spikevision[view]'") from exc

    loopback = is_loopback(options.host)
    if not loopback and token is None:
        token = secrets.token_urlsafe(24)
    settings = ViewSettings(token=token, export_dir=options.export_dir,
                            allowed_hosts=LOOPBACK_HOSTS if loopback and token is None else None)
    app = create_app(catalog, settings)
    sock = _bind(options.host, options.port)
    port = sock.getsockname()[1]
    url = viewer_url(options.host, port, token)
    announce(f"spikevision view: {url}")
    if not loopback:
        announce(f"listening on {options.host}:{port}; every request needs the token {token}")
    if options.export_dir is not None:
        announce(f"exports go to {options.export_dir}")
    announce("press Ctrl-C to stop")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    if options.open_browser:
        threading.Timer(0.3, lambda: webbrowser.open(url)).start()
    threading.Thread(target=_warm_up, args=(catalog,), name="spikevision-warm-up", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        catalog.close()


def _warm_up(catalog: Catalog) -> None:
    """Import what the first requests need and encode one frame while the browser loads the page.

    The rate plot is counted when the page asks for it (after its first image),
    so that counting a multi-GB file does not delay the first paint.
    """
    import importlib

    for name in ("spikevision.view.render", "spikevision.recon", "spikevision.flow", "spikevision.viz.flow", "cv2",
                 "scipy.ndimage"):
        try:
            importlib.import_module(name)
        except ImportError:  # the request that needs it will say so
            pass
    first = catalog.first_open()
    if first is not None:
        from .render import png_bytes

        try:
            png_bytes(catalog.get(first).snapshot()[0])
        except (ValueError, ImportError, IndexError):
            pass
    try:  # then load (or compile) the ATFI kernel, before an ATFI panel asks (numba: ~130 MB resident)
        from ..recon.adaptive import warm_up

        warm_up()
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first ATFI request compiles
        pass
