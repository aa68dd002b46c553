"""The viewer's web app (Starlette): the HTTP API and the page.

Routes (all ``GET`` except the export; every answer to a bad request is a 4xx
with ``{"error": "..."}``; see ``docs/viewer.md`` for the full reference):

==================  ==========================================================
``/``               the page (``static/index.html``)
``/api/files``      ``{"files": [{"id", "name", "frames" | "error"}]}``
``/api/info``       ``{frames, height, width, rate_hz, duration_s, name, ...}``
``/api/frame``      PNG ``H x W`` 8-bit gray: ``t``, ``method`` (``raw``,
                    ``mean`` or a reconstruction), optional ``window``
``/api/rate``       ``{"counts": [...]}``, spikes per frame
``/api/flow``       PNG RGB: ``t0``, ``dt``, ``method``, ``arrows=0|1``
``/api/ratemap``    PNG RGB per-pixel rate over ``window`` frames around ``t``,
                    hot pixels red
``/api/hotpixels``  ``{"count", "threshold", "pixels": [[y, x, rate], ...]}``
``/api/pixel``      spike train of pixel ``y, x`` over ``window`` frames around ``t``
``POST /api/export``  JSON body; writes into the export folder, answers ``{"name", "bytes"}``
``POST /api/live``  ``{"hold": true | false}``: freeze / release what a live source shows
==================  ==========================================================

Every route takes ``file=<id>`` (default 0), an index into the catalog the
app was made with; no request names a path. Frame numbers are those of the
source: ``first_frame <= t < first_frame + frames`` (``/api/info``); a file's
start at 0, a live buffer's are camera indices (frames that left the buffer
answer 410). Work that takes time runs in
worker threads (learned methods and flow in their own single lane), so the
event loop keeps answering while a learned reconstruction runs.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, quote

import numpy as np

from .render import (check_frame_range, flow_image, frame_image, hot_pixels, panel_methods, pixel_trace, png_bytes,
                     rate_map_rgb, window_mean)
from .source import Catalog, ViewSource

__all__ = ["ViewSettings", "create_app", "LOOPBACK_HOSTS", "MAX_SUM_WINDOW", "MAX_RECON_PIXELS"]

log = logging.getLogger("spikevision.view")

#: Host names the app answers to by default (a guard against DNS rebinding).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")

#: Longest window (frames) for the mean, the rate map and the pixel inspector (summed in chunks).
MAX_SUM_WINDOW = 20_000

#: Reconstruction windows are limited to this many pixels (window x H x W) per request.
MAX_RECON_PIXELS = 2**28

_STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
_MAX_BODY = 16 * 1024
_PATHLIKE = re.compile(r"(?:[A-Za-z]:)?[\\/](?:[^\s'\"\\/]+[\\/])+([^\s'\"\\/]*)")


@dataclass(frozen=True)
class ViewSettings:
    """How the app serves.

    ``token``: when set, every request must carry it (``?token=`` or the
    ``X-Spikevision-Token`` header), the page included. ``export_dir``: the
    only folder the app writes to (``None``: exports are off).
    ``allowed_hosts``: ``Host`` header names accepted (``None``: any; the
    default accepts loopback names only). ``workers``: threads for classical
    work (learned methods and flow run one at a time beside them).
    """

    token: str | None = None
    export_dir: Path | None = None
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS
    workers: int = 2
    cache_bytes: int = 64 * 2**20


class BadRequest(Exception):
    """A request the app refuses: ``status`` (4xx) and a message for the client."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _scrub(message: str) -> str:
    """``message`` with folder parts of any path removed (answers never reveal where files live)."""
    return _PATHLIKE.sub(lambda m: m.group(1) or "<path>", message)


# --------------------------------------------------------------------------- parameters
class _Params:
    """Query parameters of one request, checked strictly (unknown names are refused)."""

    def __init__(self, query: dict[str, list[str]], allowed: tuple[str, ...]) -> None:
        unknown = sorted(set(query) - set(allowed) - {"token", "_"})
        if unknown:
            raise BadRequest(f"unknown parameter(s) {unknown}; this route takes {sorted(allowed)}")
        for k, v in query.items():
            if len(v) != 1:
                raise BadRequest(f"parameter {k!r} given {len(v)} times")
        self._q = {k: v[0] for k, v in query.items()}

    def text(self, name: str, default: str | None = None) -> str:
        v = self._q.get(name)
        if v is None:
            if default is None:
                raise BadRequest(f"missing parameter {name!r}")
            return default
        if len(v) > 64:
            raise BadRequest(f"parameter {name!r} is too long ({len(v)} characters)")
        return v

    def int(self, name: str, default: int | None = None, *, lo: int = 0, hi: int | None = None,
            required: bool = False) -> int | None:
        v = self._q.get(name)
        if v is None or v == "":
            if required:
                raise BadRequest(f"missing parameter {name!r} (an integer)")
            return default
        if not re.fullmatch(r"[+-]?\d{1,15}", v.strip()):
            raise BadRequest(f"{name} must be an integer, got {v[:32]!r}")
        x = int(v)
        if x < lo:
            raise BadRequest(f"{name} must be >= {lo}, got {x}")
        if hi is not None and x > hi:
            raise BadRequest(f"{name} must be <= {hi}, got {x}")
        return x

    def flag(self, name: str) -> bool:
        v = self._q.get(name, "0")
        if v not in ("0", "1", "true", "false"):
            raise BadRequest(f"{name} must be 0 or 1, got {v[:32]!r}")
        return v in ("1", "true")


def _frame_param(p: _Params, name: str, inf: Any) -> int:
    """A frame number of the source: ``first_frame <= t < first_frame + frames`` (a live buffer's are camera indices)."""
    if inf.frames == 0:
        raise BadRequest("no frames yet: waiting for the live feed" if inf.live is not None
                         else "the recording has no frames")
    t = p.int(name, required=True, lo=0, hi=inf.first_frame + inf.frames - 1)
    if t < inf.first_frame:
        if inf.live is not None:
            raise BadRequest(f"frame {t} is no longer held; held now: [{inf.first_frame}, "
                             f"{inf.first_frame + inf.frames})", 410)
        raise BadRequest(f"{name} must be >= {inf.first_frame}, got {t}")
    return t


def _local(stream: Any, start: int, stop: int | None = None) -> tuple[int, int]:
    """Frame numbers of the API ``[start, stop)`` as indices of ``stream`` (a snapshot); 410 when not held any more."""
    stop = start + 1 if stop is None else stop
    off = stream.first_frame
    if start < off or stop > off + stream.n_frames:
        raise BadRequest(f"frames [{start}, {stop}) are no longer held; held now: [{off}, {off + stream.n_frames})",
                         410)
    return start - off, stop - off


def _window_in(stream: Any, t: int, w: int) -> tuple[int, int]:
    """``w`` frames around frame number ``t``, moved inside the frames of ``stream`` (a snapshot):
    ``[lo, hi)`` as frame numbers (410 when ``t`` is not held any more)."""
    _local(stream, t)
    first, end = stream.first_frame, stream.first_frame + stream.n_frames
    lo = min(max(first, t - w // 2), max(first, end - w))
    return lo, min(end, lo + w)


# --------------------------------------------------------------------------- the app
class _Viewer:
    """State behind the routes: catalog, settings, caches, worker lanes."""

    def __init__(self, catalog: Catalog, settings: ViewSettings) -> None:
        import anyio

        self.catalog = catalog
        self.settings = settings
        self.fast = anyio.CapacityLimiter(max(1, settings.workers))
        self.slow = anyio.CapacityLimiter(1)
        self.counting = anyio.CapacityLimiter(1)
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._cache_size = 0
        self._exporter = None
        if settings.export_dir is not None:
            from .exports import Exporter

            self._exporter = Exporter(settings.export_dir)

    # ---------------------------------------------------------------- helpers
    def source(self, p: _Params) -> tuple[int, ViewSource]:
        default = self.catalog.first_open()
        fid = p.int("file", default if default is not None else 0, lo=0)
        try:
            return fid, self.catalog.get(fid)
        except LookupError as exc:
            raise BadRequest(str(exc), 404) from None
        except ValueError as exc:
            raise BadRequest(_scrub(str(exc)), 409) from None

    def cached(self, key: tuple) -> bytes | None:
        data = self._cache.get(key)
        if data is not None:
            self._cache.move_to_end(key)
        return data

    def store(self, key: tuple, data: bytes) -> None:
        if len(data) > self.settings.cache_bytes // 4:
            return
        self._cache[key] = data
        self._cache_size += len(data)
        while self._cache_size > self.settings.cache_bytes:
            _, old = self._cache.popitem(last=False)
            self._cache_size -= len(old)

    async def run(self, func: Callable[[], Any], lane: Any) -> tuple[Any, float]:
        """``func()`` in a worker thread of ``lane``; library input errors become 4xx answers."""
        import anyio

        t0 = time.perf_counter()
        try:
            out = await anyio.to_thread.run_sync(func, limiter=lane)
        except BadRequest:
            raise
        except ImportError as exc:
            raise BadRequest(f"not available here: {_scrub(str(exc))}", 501) from None
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise BadRequest(_scrub(str(exc)), 410 if _gone(exc) else 400) from None
        return out, (time.perf_counter() - t0) * 1e3

    def window_limit(self, info: Any) -> int:
        return max(1, min(MAX_SUM_WINDOW, MAX_RECON_PIXELS // max(1, info.height * info.width)))


def _gone(exc: Exception) -> bool:
    """Whether ``exc`` says that frames of a live buffer were overwritten while a request read them."""
    if type(exc).__name__ != "FramesNotHeld":
        return False
    from ..live.operators import FramesNotHeld

    return isinstance(exc, FramesNotHeld)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import Response

    body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    return Response(body, status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-store", **(headers or {})})


def _png(data: bytes, ms: float | None) -> Any:
    from starlette.responses import Response

    headers = {"Cache-Control": "no-store"}
    if ms is not None:
        headers["Server-Timing"] = f"compute;dur={ms:.2f}"
    return Response(data, media_type="image/png", headers=headers)


def _error(message: str, status: int) -> Any:
    return _json({"error": message}, status)


def create_app(catalog: Catalog, settings: ViewSettings = ViewSettings()) -> Any:
    """The Starlette app serving ``catalog`` (see the module docstring for the routes).

    >>> from spikevision.view import create_app, open_catalog           # doctest: +SKIP
    >>> app = create_app(open_catalog("clip.dat", LoadOptions(sensor="vidar")))  # doctest: +SKIP
    >>> # run it with uvicorn, or use starlette.testclient.TestClient(app)
    """
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    v = _Viewer(catalog, settings)

    def params(request: Request, *allowed: str) -> _Params:
        return _Params(parse_qs(request.url.query, keep_blank_values=True), ("file", *allowed))

    # ------------------------------------------------------------------ page
    async def index(request: Request) -> Response:
        params(request)
        html = resources.files(__package__).joinpath("static/index.html").read_text("utf-8")
        qs = f"?token={quote(settings.token)}" if settings.token else ""
        return Response(html.replace("__TOKEN_QS__", qs), media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-store",
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            raise BadRequest(f"no such page resource: {name[:64]!r}", 404)
        data = resources.files(__package__).joinpath(f"static/{name}").read_bytes()
        return Response(data, media_type=_STATIC[name],
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    # ------------------------------------------------------------------- api
    async def files(request: Request) -> Response:
        params(request)
        return _json({"files": v.catalog.listing(), "exports": v._exporter is not None})

    async def info(request: Request) -> Response:
        from ..flow import get_flow_method, list_flow_methods
        from ..recon import get_method

        p = params(request)
        fid, src = v.source(p)
        inf = src.info()
        methods = panel_methods()
        learned = [m for m in methods if m not in ("raw", "mean") and get_method(m).kind == "window"]
        windows = {m: get_method(m).window for m in methods if m not in ("raw", "mean")}
        flow_windows = {m: get_flow_method(m).window for m in list_flow_methods()}
        return _json({**inf.as_dict(), "file": fid, "methods": methods, "learned": learned, "windows": windows,
                      "flow_methods": list(list_flow_methods()), "flow_windows": flow_windows,
                      "max_window": v.window_limit(inf),
                      "max_sum_window": MAX_SUM_WINDOW, "exports": v._exporter is not None})

    async def frame(request: Request) -> Response:
        from ..recon import get_method

        p = params(request, "t", "method", "window")
        fid, src = v.source(p)
        inf = src.info()
        t = _frame_param(p, "t", inf)
        method = p.text("method", "raw")
        if method not in ("raw", "mean"):
            try:
                m = get_method(method)
            except ValueError:
                raise BadRequest(f"unknown method {method[:64]!r}; expected one of {panel_methods()}") from None
        limit = MAX_SUM_WINDOW if method == "mean" else v.window_limit(inf)
        window = p.int("window", None, lo=1, hi=limit)
        key = ("frame", fid, inf.first_frame, inf.frames, t, method, window)
        data = v.cached(key)
        if data is not None:
            return _png(data, 0.0)
        lane = v.slow if method not in ("raw", "mean") and m.kind == "window" else v.fast

        def work() -> bytes:
            s = src.snapshot()
            return png_bytes(frame_image(s, _local(s, t)[0], method=method, window=window))
        data, ms = await v.run(work, lane)
        v.store(key, data)
        return _png(data, ms)

    async def rate(request: Request) -> Response:
        p = params(request, "start", "stop")
        fid, src = v.source(p)
        inf = src.info()
        first, end = inf.first_frame, inf.first_frame + inf.frames
        start = p.int("start", first, lo=0, hi=end)
        stop = p.int("stop", end, lo=start, hi=end)
        key = ("rate", fid, first, end, start, stop)
        data = v.cached(key)
        if data is None:
            def work() -> tuple[np.ndarray, int]:
                # A live buffer may have moved on since the page asked: count the frames still held
                # ("start" in the answer says where the counts begin).
                for _ in range(5):
                    a = min(stop, max(start, src.info().first_frame))
                    try:
                        return src.counts(a, stop), a
                    except ValueError as exc:
                        if not _gone(exc):
                            raise
                raise BadRequest(f"frames [{start}, {stop}) are no longer held", 410)
            (counts, a), _ = await v.run(work, v.counting)
            data = json.dumps({"counts": np.asarray(counts).tolist(), "start": a}, separators=(",", ":")).encode()
            v.store(key, data)
        return Response(data, media_type="application/json", headers={"Cache-Control": "no-store"})

    async def flow(request: Request) -> Response:
        from ..flow import list_flow_methods

        p = params(request, "t0", "dt", "method", "arrows")
        fid, src = v.source(p)
        inf = src.info()
        t0 = _frame_param(p, "t0", inf)
        dt = p.int("dt", 20, lo=1, hi=max(1, inf.frames - 1))
        method = p.text("method", "classical")
        if method not in list_flow_methods():
            raise BadRequest(f"unknown flow method {method[:64]!r}; expected one of {sorted(list_flow_methods())}")
        arrows = p.flag("arrows")
        key = ("flow", fid, inf.first_frame, inf.frames, t0, dt, method, arrows)
        data = v.cached(key)
        if data is not None:
            return _png(data, 0.0)

        def work() -> bytes:
            s = src.snapshot()
            return png_bytes(flow_image(s, _local(s, t0)[0], dt, method=method, arrows=arrows))
        data, ms = await v.run(work, v.slow)
        v.store(key, data)
        return _png(data, ms)

    def _rate_window(p: _Params, inf: Any) -> tuple[int, int]:
        t = _frame_param(p, "t", inf)
        return t, p.int("window", min(2000, inf.frames), lo=1, hi=MAX_SUM_WINDOW)

    def _rate_and_hot(src: ViewSource, t: int, w: int) -> tuple[np.ndarray, Any, int, int]:
        s = src.snapshot()
        lo, hi = _window_in(s, t, w)
        r = window_mean(s, *_local(s, lo, hi))
        return r, hot_pixels(r), lo, hi

    async def ratemap(request: Request) -> Response:
        p = params(request, "t", "window")
        fid, src = v.source(p)
        inf = src.info()
        t, w = _rate_window(p, inf)
        key = ("ratemap", fid, inf.first_frame, inf.frames, t, w)
        data = v.cached(key)
        if data is not None:
            return _png(data, 0.0)
        data, ms = await v.run(lambda: png_bytes(rate_map_rgb(*_rate_and_hot(src, t, w)[:2])), v.fast)
        v.store(key, data)
        return _png(data, ms)

    async def hotpixels(request: Request) -> Response:
        p = params(request, "t", "window")
        _, src = v.source(p)
        t, w = _rate_window(p, src.info())
        (r, hot, lo, hi), ms = await v.run(lambda: _rate_and_hot(src, t, w), v.fast)
        return _json({**hot.as_dict(), "start": lo, "stop": hi, "mean_rate": float(r.mean())},
                     headers={"Server-Timing": f"compute;dur={ms:.2f}"})

    async def pixel(request: Request) -> Response:
        p = params(request, "y", "x", "t", "window")
        _, src = v.source(p)
        inf = src.info()
        y = p.int("y", required=True, lo=0, hi=inf.height - 1)
        x = p.int("x", required=True, lo=0, hi=inf.width - 1)
        t = _frame_param(p, "t", inf)
        w = p.int("window", min(400, inf.frames), lo=1, hi=MAX_SUM_WINDOW)

        def work() -> dict[str, Any]:
            s = src.snapshot()
            lo, hi = _window_in(s, t, w)
            out = pixel_trace(s, y, x, *_local(s, lo, hi))
            off = s.first_frame
            return {**out, "start": lo, "stop": hi, "spikes": [f + off for f in out["spikes"]]}
        out, ms = await v.run(work, v.fast)
        return _json({**out, "t": t}, headers={"Server-Timing": f"compute;dur={ms:.2f}"})

    async def json_body(request: Request, what: str) -> dict[str, Any]:
        """The JSON object of a POST from the viewer's own page (415 / 413 / 403 / 400 otherwise)."""
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
            raise BadRequest(f"{what} requests are accepted from the viewer's own page only", 403)
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        if ctype != "application/json":
            raise BadRequest(f"send the {what} request as application/json, got {ctype[:64]!r}", 415)
        if int(request.headers.get("content-length") or 0) > _MAX_BODY:
            raise BadRequest(f"{what} request too large", 413)
        raw = await request.body()
        if len(raw) > _MAX_BODY:
            raise BadRequest(f"{what} request too large", 413)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest(f"the {what} request is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest(f"the {what} request must be a JSON object")
        return body

    async def export(request: Request) -> Response:
        if v._exporter is None:
            raise BadRequest("exports are off: start the viewer with an export folder (--export-dir)", 403)
        params(request)
        body = await json_body(request, "export")
        job = _export_job(v, body)
        path, ms = await v.run(job, v.slow)
        return _json({"name": path.name, "bytes": path.stat().st_size},
                     headers={"Server-Timing": f"compute;dur={ms:.2f}"})

    async def live(request: Request) -> Response:
        p = params(request)
        fid, src = v.source(p)
        hold = getattr(src, "hold", None)
        if hold is None:
            raise BadRequest(f"file {fid} is not a live feed", 404)
        body = await json_body(request, "live")
        unknown = sorted(set(body) - {"hold"})
        if unknown or not isinstance(body.get("hold"), bool):
            raise BadRequest('the live request is {"hold": true | false}')
        held = hold(body["hold"])
        return _json({"held": held, **src.info().as_dict()})

    # ---------------------------------------------------------------- errors
    async def bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return _error(str(exc), exc.status)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 400)
        detail = getattr(exc, "detail", "") or "request refused"
        return _error(f"{detail} ({request.method} {request.url.path[:64]})", status)

    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error while answering %s", request.url.path)
        return _error("internal error", 500)

    routes = [
        Route("/", index), Route("/static/{name}", static),
        Route("/api/files", files), Route("/api/info", info), Route("/api/frame", frame), Route("/api/rate", rate),
        Route("/api/flow", flow), Route("/api/ratemap", ratemap), Route("/api/hotpixels", hotpixels),
        Route("/api/pixel", pixel), Route("/api/export", export, methods=["POST"]),
        Route("/api/live", live, methods=["POST"]),
    ]
    middleware = []
    if settings.allowed_hosts is not None:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts)))
    if settings.token is not None:
        middleware.append(Middleware(_TokenGate, token=settings.token))
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={BadRequest: bad_request, HTTPException: http_error, Exception: internal})


def _export_job(v: _Viewer, body: dict[str, Any]) -> Callable[[], Path]:
    """Check an export request and return the work that writes it (run in a worker thread)."""
    from ..flow import list_flow_methods
    from .exports import range_frames

    allowed = {"file", "kind", "panel", "method", "t", "window", "start", "stop", "every", "fps", "dt", "arrows",
               "crop"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown export field(s) {unknown}; expected some of {sorted(allowed)}")

    def integer(name: str, default: int | None = None, lo: int = 0, hi: int | None = None) -> int | None:
        x = body.get(name, default)
        if x is None:
            return None
        if isinstance(x, bool) or not isinstance(x, int):
            raise BadRequest(f"export field {name!r} must be an integer, got {json.dumps(x)[:32]}")
        if x < lo or (hi is not None and x > hi):
            raise BadRequest(f"export field {name!r} must be in [{lo}, {hi if hi is not None else 'inf'}], got {x}")
        return x

    kind = body.get("kind")
    if kind not in ("png", "mp4", "gif", "dat"):
        raise BadRequest(f"export kind must be one of png, mp4, gif, dat; got {json.dumps(kind)[:32]}")
    fid = integer("file", v.catalog.first_open() or 0)
    try:
        src = v.catalog.get(fid)
    except LookupError as exc:
        raise BadRequest(str(exc), 404) from None
    except ValueError as exc:
        raise BadRequest(_scrub(str(exc)), 409) from None
    inf = src.info()
    stem = Path(inf.name).stem
    exporter = v._exporter
    assert exporter is not None
    method = body.get("method", "raw")
    if not isinstance(method, str) or len(method) > 64:
        raise BadRequest("export field 'method' must be a method name")
    window = integer("window", None, 1, MAX_SUM_WINDOW)

    first, end = inf.first_frame, inf.first_frame + inf.frames
    if inf.frames == 0:
        raise BadRequest("nothing to export: no frames yet")
    if kind == "dat":
        start = integer("start", first, first, end - 1)
        stop = integer("stop", end, start + 1, end)

        def cut() -> Path:
            s = src.snapshot()
            return exporter.dat(f"{stem}_f{start}-{stop}", s, *_local(s, start, stop))
        return cut
    if kind in ("mp4", "gif"):
        if method not in panel_methods():
            raise BadRequest(f"unknown method {method!r}; expected one of {panel_methods()}")
        start = integer("start", first, first, end - 1)
        stop = integer("stop", end, start + 1, end)
        every = integer("every", 1, 1)
        fps = body.get("fps", 30)
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 240:
            raise BadRequest("export field 'fps' must be a number in (0, 240]")

        def video() -> Path:
            s = src.snapshot()
            a, b = _local(s, start, stop)
            return exporter.video(f"{stem}_{method}_f{start}-{stop}",
                                  range_frames(s, a, b, method=method, window=window, every=every),
                                  suffix=f".{kind}", fps=float(fps))
        return video
    # png of one panel, optionally cropped to the visible part
    t = integer("t", None, first, end - 1)
    if t is None:
        raise BadRequest("a PNG export needs the frame 't'")
    panel = body.get("panel", "frame")
    crop = body.get("crop")
    if crop is not None:
        if (not isinstance(crop, list) or len(crop) != 4
                or not all(isinstance(c, int) and not isinstance(c, bool) for c in crop)):
            raise BadRequest("export field 'crop' must be [y0, x0, y1, x1] (integers)")
        y0, x0, y1, x1 = max(0, crop[0]), max(0, crop[1]), min(inf.height, crop[2]), min(inf.width, crop[3])
        if y1 <= y0 or x1 <= x0:
            raise BadRequest(f"export crop {crop} holds no pixel of the {inf.height} x {inf.width} frame")
    if panel == "frame":
        if method not in panel_methods():
            raise BadRequest(f"unknown method {method!r}; expected one of {panel_methods()}")

        def image() -> np.ndarray:
            s = src.snapshot()
            return frame_image(s, _local(s, t)[0], method=method, window=window)
        what = method
    elif panel == "flow":
        if method not in list_flow_methods():
            raise BadRequest(f"unknown flow method {method!r}; expected one of {sorted(list_flow_methods())}")
        dt = integer("dt", 20, 1, max(1, inf.frames - 1))
        arrows = bool(body.get("arrows", False))

        def image() -> np.ndarray:
            s = src.snapshot()
            return flow_image(s, _local(s, t)[0], dt, method=method, arrows=arrows)
        what = f"flow-{method}-dt{dt}"
    elif panel == "ratemap":
        w = window or min(2000, inf.frames)

        def image() -> np.ndarray:
            s = src.snapshot()
            r = window_mean(s, *_local(s, *_window_in(s, t, w)))
            return rate_map_rgb(r, hot_pixels(r))
        what = "ratemap"
    else:
        raise BadRequest(f"export panel must be frame, flow or ratemap; got {json.dumps(panel)[:32]}")

    def job() -> Path:
        img = image()
        if crop is not None:
            img = img[y0:y1, x0:x1]
        return exporter.png(f"{stem}_{what}_f{t}", img)
    return job


class _TokenGate:
    """ASGI middleware: every HTTP request must carry the token (query ``token`` or header)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = b""
        for k, val in scope.get("headers", []):
            if k == b"x-spikevision-token":
                given = val
        if not given:
            q = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (q.get("token") or [""])[0].encode()
        if given and secrets.compare_digest(given, self.token):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "this viewer needs its token: open the URL printed when it started"}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})
