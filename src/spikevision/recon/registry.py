"""One entry point for every reconstruction method: :func:`reconstruct`.

A method is registered once under a name, either as a callable or *lazily* as
an import path ``"package.module:attribute"`` that is imported only when the
method is first used (so registering the learned models costs no ``torch``
import). Two kinds of method exist:

``kind="stream"``
    ``func(spikes, *, at=None, every=None, progress=False, **options)`` takes
    the whole :class:`~spikevision.SpikeStream` and computes either one image
    (``at``) or all images (``every``) itself, in vectorised passes. The
    classical methods (TFP, TFI, TFSTP, ...) are of this kind.
``kind="window"``
    ``func(frames, **options)`` takes the ``(window, H, W)`` uint8 frames
    centred on the wanted time and returns one ``(H, W)`` image. Whole-stream
    mode calls it once per output frame. Learned models are of this kind.

Which frames a whole-stream call returns (the *context rule*)
-------------------------------------------------------------
The window of length ``w`` centred on frame ``t`` is
``[t - w // 2, t - w // 2 + w)`` (the rule of :meth:`SpikeStream.window`; for
``w = 41`` that is ``[t - 20, t + 20]``). ``every=k`` returns the frames
``0, k, 2k, ...`` whose window lies inside the stream, in increasing order; see
:func:`frame_indices`. Methods without a window (``window=None``, e.g. a
causal TFSTP filter over the whole stream) return every ``k``-th frame.

>>> import numpy as np
>>> from spikevision.recon import reconstruct
>>> spikes = (np.random.default_rng(0).random((81, 4, 5)) < 0.3).astype(np.uint8)
>>> reconstruct(spikes, method="tfp", at=40).shape
(4, 5)
>>> reconstruct(spikes, method="tfp", every=10).shape   # frames 20, 30, 40, 50, 60
(5, 4, 5)
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .._checks import check_positive_int
from ..stream import SpikeStream, as_stream

__all__ = [
    "Method",
    "UnknownMethodError",
    "register_method",
    "unregister_method",
    "list_methods",
    "get_method",
    "reconstruct",
    "frame_indices",
    "method_options",
]

_KINDS = ("stream", "window")
_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class UnknownMethodError(ValueError):
    """The named reconstruction method is not registered."""


@dataclass(frozen=True)
class Method:
    """A registered reconstruction method (see the module docstring for ``kind``).

    ``target`` is the callable or its import path ``"module:attribute"``;
    ``window`` is the default window length (``None``: no window);
    ``defaults`` are default options passed to the callable.
    """

    name: str
    target: Callable[..., Any] | str
    kind: str = "stream"
    window: int | None = 41
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Callable[..., Any]:
        """The callable (importing it on first use when registered by path)."""
        if callable(self.target):
            return self.target
        return _resolve(self.target)


_REGISTRY: dict[str, Method] = {}
_LOCK = threading.Lock()
_RESOLVED: dict[str, Callable[..., Any]] = {}


def _resolve(path: str) -> Callable[..., Any]:
    if path in _RESOLVED:
        return _RESOLVED[path]
    module, attr = path.split(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"reconstruction method at {path!r} could not be imported: {exc}") from exc
    try:
        func = getattr(mod, attr)
    except AttributeError as exc:
        raise ImportError(f"module {module!r} has no attribute {attr!r} (registered as {path!r})") from exc
    if not callable(func):
        raise TypeError(f"{path!r} is not callable (it is a {type(func).__name__})")
    _RESOLVED[path] = func
    return func


def register_method(
    name: str,
    target: Callable[..., Any] | str,
    *,
    kind: str = "stream",
    window: int | None = 41,
    description: str = "",
    defaults: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Method:
    """Register a reconstruction method under ``name``.

    Parameters
    ----------
    name:
        Lower-case name used by :func:`reconstruct` and the CLI (``[a-z0-9_-]+``).
    target:
        The callable, or its import path ``"package.module:attribute"`` (imported
        on first use: ``register_method("cnn", "spikevision.recon.learned.cnn:reconstruct",
        kind="window")`` does not import torch).
    kind:
        ``"stream"`` or ``"window"`` (see the module docstring).
    window:
        Default window length in frames (``None``: the method has no window).
        Callers may override it with the ``window=`` option.
    description:
        One line shown by ``list_methods`` and the CLI help.
    defaults:
        Default keyword options passed to the callable.
    overwrite:
        Replace an existing registration of ``name`` (otherwise an error).
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_\-]+", name):
        raise ValueError(f"method name must match [a-z0-9_-]+, got {name!r}")
    if isinstance(target, str):
        if not _IMPORT_PATH.match(target):
            raise ValueError(f"a lazy method target must look like 'package.module:function', got {target!r}")
    elif not callable(target):
        raise TypeError(f"target must be a callable or an import path string, got {type(target).__name__}")
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if window is not None:
        window = check_positive_int(window, "window")
    if kind == "window" and window is None:
        raise ValueError("a 'window' method needs a default window length, got window=None")
    method = Method(name=name, target=target, kind=kind, window=window, description=description,
                    defaults=dict(defaults or {}))
    with _LOCK:
        if name in _REGISTRY and not overwrite:
            raise ValueError(f"reconstruction method {name!r} is already registered (pass overwrite=True to replace it)")
        _REGISTRY[name] = method
    return method


def unregister_method(name: str) -> None:
    """Remove ``name`` from the registry (an error if it is not registered)."""
    with _LOCK:
        if name not in _REGISTRY:
            raise UnknownMethodError(f"unknown reconstruction method {name!r}; registered: {sorted(_REGISTRY)}")
        del _REGISTRY[name]


def list_methods() -> list[str]:
    """Names of the registered methods, sorted."""
    return sorted(_REGISTRY)


def get_method(name: str) -> Method:
    """The :class:`Method` registered as ``name``."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownMethodError(f"unknown reconstruction method {name!r}; expected one of {list_methods()}") from None


def method_options(name: str) -> frozenset[str] | None:
    """Keyword options method ``name`` accepts (``None`` when it takes any ``**options``).

    ``window`` is always accepted (window methods take it from the registry).
    Imports a lazily registered method.
    """
    m = get_method(name)
    func = m.load()
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    names = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY} - {"at", "every", "progress"}
    return frozenset(names | {"window"})


def frame_indices(n_frames: int, *, every: int, window: int | None) -> np.ndarray:
    """Frames returned by a whole-stream reconstruction (the context rule).

    ``t`` in ``0, every, 2 * every, ...`` such that the window
    ``[t - window // 2, t - window // 2 + window)`` lies inside ``[0, n_frames)``;
    all multiples of ``every`` below ``n_frames`` when ``window`` is ``None``.

    >>> frame_indices(301, every=50, window=41).tolist()
    [50, 100, 150, 200, 250]
    """
    n_frames = check_positive_int(n_frames, "n_frames", allow_zero=True)
    every = check_positive_int(every, "every")
    t = np.arange(0, n_frames, every, dtype=np.int64)
    if window is None:
        return t
    window = check_positive_int(window, "window")
    lo = t - window // 2
    return t[(lo >= 0) & (lo + window <= n_frames)]


def _check_options(func: Callable[..., Any], name: str, options: dict[str, Any], reserved: tuple[str, ...]) -> None:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    params = sig.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY and n not in reserved]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(f"method {name!r} got unknown option(s) {unknown}; it accepts {sorted(accepted)}")


def reconstruct(
    stream_or_array: Any,
    *,
    method: str,
    at: int | None = None,
    every: int | None = None,
    progress: bool = False,
    **options: Any,
) -> np.ndarray:
    """Reconstruct images from spikes with the registered ``method``.

    Parameters
    ----------
    stream_or_array:
        A :class:`~spikevision.SpikeStream` or a ``(T, H, W)`` array of 0/1.
    method:
        A name from :func:`list_methods` (``"tfp"``, ``"tfi"``, ``"tfstp"``, ...).
    at:
        Frame index: return the image at that frame, ``(H, W)`` float32 in [0, 1].
    every:
        Return the images of frames ``0, every, 2 * every, ...`` that have enough
        context (see :func:`frame_indices`), ``(N, H, W)`` float32 in [0, 1].
        Give exactly one of ``at`` and ``every``.
    progress:
        Show a progress bar on whole-stream work.
    **options:
        Method settings, e.g. ``window=41, rate_ratio=0.6`` for TFP. Every
        built-in method takes ``rate_ratio``: a number (spikes per frame of a
        white pixel; 0.6 is the REDS convention and the functions' default) or
        ``"auto"``, estimated from the recording by
        :func:`spikevision.recon.exposure.estimate_rate_ratio` (one value for
        the whole call).

    Returns
    -------
    With ``at``: the ``(H, W)`` image of frame ``at``. With ``every=k``: the
    images of frames ``t = 0, k, 2k, ...`` whose window
    ``[t - window // 2, t - window // 2 + window)`` lies inside the stream, in
    increasing order (``frame_indices(n_frames, every=k, window=window)`` lists
    them): so ``every=1`` on a 301-frame stream with a 41-frame window returns
    the 261 images of frames 20..280, not 301.

    Examples
    --------
    >>> import numpy as np
    >>> img = reconstruct(np.ones((41, 2, 3), np.uint8), method="tfp", at=20, rate_ratio=0.6)
    >>> float(img.max())   # rate 1 spike/frame > 0.6: saturated
    1.0
    """
    if (at is None) == (every is None):
        raise ValueError(f"give exactly one of at= and every=, got at={at!r}, every={every!r}")
    m = get_method(method)
    stream = stream_or_array if isinstance(stream_or_array, SpikeStream) else as_stream(stream_or_array)
    opts = {**m.defaults, **options}
    func = m.load()
    if isinstance(opts.get("rate_ratio"), str):  # "auto": estimated once from the whole recording
        from .exposure import resolve_rate_ratio

        opts["rate_ratio"] = resolve_rate_ratio(opts["rate_ratio"], stream)
    if m.kind == "stream":
        _check_options(func, m.name, opts, ("at", "every", "progress"))
        if "window" not in opts and m.window is not None and "window" in _keyword_names(func):
            opts["window"] = m.window
        if at is not None:
            return func(stream, at=at, **opts)
        return func(stream, every=every, progress=progress, **opts)
    window = opts.pop("window", m.window)
    window = check_positive_int(window, "window")
    _check_options(func, m.name, opts, ())
    if at is not None:
        at = _check_at(at, stream.n_frames, window)
        return _as_image(func(stream.window(at, window), **opts), (stream.height, stream.width), m.name)
    times = frame_indices(stream.n_frames, every=every, window=window)
    out = np.empty((len(times), stream.height, stream.width), np.float32)
    from ..progress import progress_bar

    with progress_bar(total=len(times), desc=f"{m.name}", enabled=progress, unit="frame") as bar:
        for i, t in enumerate(times):
            out[i] = _as_image(func(stream.window(int(t), window), **opts), (stream.height, stream.width), m.name)
            bar.update(1)
    return out


def _keyword_names(func: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return set()


def _check_at(at: Any, n_frames: int, window: int | None) -> int:
    """``at`` as an int after checking its window lies inside ``[0, n_frames)``."""
    at = check_positive_int(at, "at", allow_zero=True)
    if at >= n_frames:
        raise ValueError(f"at={at} is outside the stream, which has frames [0, {n_frames})")
    if window is not None:
        lo = at - window // 2
        if lo < 0 or lo + window > n_frames:
            if n_frames < window:
                raise ValueError(f"a {window}-frame window centred on frame {at} does not fit: the stream has only "
                                 f"{n_frames} frames, so no frame has enough context (use a shorter window)")
            raise ValueError(
                f"a {window}-frame window centred on frame {at} needs frames [{lo}, {lo + window}), "
                f"but the stream has frames [0, {n_frames}); frames {window // 2} to {n_frames - window + window // 2} "
                f"(inclusive) have enough context"
            )
    return at


def _as_image(img: Any, shape: tuple[int, int], name: str) -> np.ndarray:
    a = np.asarray(img, dtype=np.float32)
    if a.shape != shape:
        raise ValueError(f"method {name!r} returned an image of shape {a.shape}, expected {shape}")
    return np.clip(a, 0.0, 1.0)
