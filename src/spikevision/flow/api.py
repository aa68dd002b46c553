"""One entry point for optical flow from spikes: :func:`estimate_flow`.

Methods (see :func:`list_flow_methods`):

* ``"spikeflow"`` — the learned network (:mod:`.net`), shipped weights
  ``flow_spikeflow`` verified by size and SHA-256; 41-frame windows around
  ``t0`` and ``t0 + dt`` (the length is stored with the weights); warm-started
  from a classical estimate on the same windows (stored with the weights: ATFI
  images + DIS ``smooth-fast`` at inference for the shipped ones); an interval of 20 or more is
  estimated as two chained steps of half of it (``chain``, see :func:`estimate_flow`);
  by default the median over the original windows and the windows turned by
  half a turn (``ensemble=2``); then the static-background gate (:mod:`.still`, ``still_gate``).
* ``"classical"`` — the baseline: TFP reconstructions (41-frame windows) at
  ``t0`` and ``t0 + dt`` + OpenCV DIS (medium preset); see :mod:`.classical`.
* ``"farneback"`` — the same with Farnebäck's method instead of DIS.

The flow is the displacement (pixels) of each pixel of the scene at ``t0``
between ``t0`` and ``t0 + dt``: ``(H, W, 2)`` float32, ``[..., 0]`` = u
(right), ``[..., 1]`` = v (down).

>>> flow = estimate_flow(stream, t0=100, dt=20, method="spikeflow")   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._checks import check_binary_array, check_positive_int
from .._symmetry import SYMMETRIES, check_ensemble, flow_from_symmetry, to_symmetry
from .still import StillGate, apply_still_gate

__all__ = ["estimate_flow", "flow_between", "compose_flows", "list_flow_methods", "get_flow_method", "FlowMethod",
           "load_flow_model", "UnknownFlowMethodError", "LEARNED_WEIGHTS", "DEFAULT_ENSEMBLE",
           "FLOW_SYMMETRIES"]

#: Registry name of the shipped learned weights.
LEARNED_WEIGHTS = "flow_spikeflow"

#: ``ensemble`` of ``"spikeflow"`` when not given: the median over the original windows and the
#: windows turned by half a turn (see :func:`estimate_flow`).
DEFAULT_ENSEMBLE = 2


class UnknownFlowMethodError(ValueError):
    """The requested flow method is not registered."""


@dataclass(frozen=True)
class FlowMethod:
    """A registered method: how many frames each window needs and the function on two windows.

    ``window_of`` (optional) gives the window length for the method's options
    (the learned method reads it from the weights); ``window`` is the default.
    ``still_gate`` is whether the static-background gate (:mod:`.still`) is on by default.
    """

    name: str
    window: int
    func: Callable[..., np.ndarray]
    description: str
    window_of: Callable[..., int] | None = None
    still_gate: bool = False

    def frames(self, options: dict[str, Any]) -> int:
        """Window length (spike frames) the method needs with these options."""
        return self.window if self.window_of is None else int(self.window_of(**options))

    def span(self, t0: int, dt: int, options: dict[str, Any]) -> tuple[int, int]:
        """Frames ``[lo, hi)`` the two windows centred on ``t0`` and ``t0 + dt`` cover."""
        n = self.frames(options)
        return t0 - n // 2, t0 + dt - n // 2 + n


def _classical(w0: np.ndarray, w1: np.ndarray, *, dt: int, **options: Any) -> np.ndarray:
    from .classical import classical_flow_windows

    return classical_flow_windows(w0, w1, **options)


def _farneback(w0: np.ndarray, w1: np.ndarray, *, dt: int, **options: Any) -> np.ndarray:
    from .classical import classical_flow_windows

    options.setdefault("algorithm", "farneback")
    return classical_flow_windows(w0, w1, **options)


def _learned(w0: np.ndarray, w1: np.ndarray, *, dt: int, ensemble: int = DEFAULT_ENSEMBLE, **options: Any) -> np.ndarray:
    if ensemble == 1:
        return _learned_pairs([w0, w1], [(0, 1)], dt=dt, **options)[0]
    members = [m[0] for m in _learned_symmetric([w0, w1], [(0, 1)], dt=dt, ensemble=ensemble, **options)]
    return _median(members)


def _median(members: list[np.ndarray]) -> np.ndarray:
    """Per-pixel, per-component median of flows ``(H, W, 2)``."""
    return np.ascontiguousarray(np.median(np.stack(members), axis=0), dtype=np.float32)


def _still_gate_of(value: Any) -> StillGate | None:
    """``still_gate=``: True (default parameters), False / None (off) or a :class:`StillGate`."""
    if value is True:
        return StillGate()
    if value is False or value is None:
        return None
    if isinstance(value, StillGate):
        return value
    raise ValueError(f"still_gate must be True, False or a StillGate, got {value!r}")


def _used(pairs: list[tuple[int, int]]) -> list[int]:
    """The window indices ``pairs`` refer to, sorted."""
    return sorted({k for p in pairs for k in p})


def _warm_start_images(pool: Any, windows: list[np.ndarray], keys: list[int], recon: str) -> dict[int, np.ndarray]:
    """``{k: init_image(windows[k])}`` for ``keys``, computed in the thread ``pool``."""
    from .classical import init_image

    return dict(zip(keys, pool.map(lambda k: init_image(windows[k], recon=recon), keys)))


def _learned_pairs(windows: list[np.ndarray], pairs: list[tuple[int, int]], *, dt: int, weights: str | None = None,
                   iters: int | None = None, threads: int | None = None, strict_dt: bool = True,
                   images: dict[int, np.ndarray] | None = None) -> list[np.ndarray]:
    """The network's flow for each pair ``(i, j)`` of ``windows`` (all of one shape), in one batch.

    Each window's warm-start image and trunk features are computed once (the middle window of a
    chained estimate serves both steps), and the images and the pairs' DIS run in a thread pool
    (NumPy and OpenCV release the GIL). ``images`` (window index -> warm-start image) skips
    computing those images.
    """
    import torch
    from concurrent.futures import ThreadPoolExecutor

    from .classical import classical_flow_images

    net, trained_dts = load_flow_model(weights)
    if iters is not None:
        iters = check_positive_int(iters, "iters")
    if strict_dt and trained_dts and dt not in trained_dts:
        raise ValueError(f"the spikeflow weights were trained for dt in {sorted(trained_dts)} spike frames, got dt={dt} "
                         "(pass strict_dt=False to run anyway)")
    n_threads = int(threads) if threads else torch.get_num_threads()
    if threads:
        torch.set_num_threads(n_threads)
    init = None
    if net.cfg.classical_init:
        with ThreadPoolExecutor(max_workers=max(1, min(n_threads, len(windows)))) as pool:
            imgs = dict(images or {})
            imgs.update(_warm_start_images(pool, windows, [k for k in _used(pairs) if k not in imgs], net.cfg.init_recon))
            flows = list(pool.map(lambda p: classical_flow_images(imgs[p[0]], imgs[p[1]], algorithm="dis",
                                                                   preset=net.cfg.init_preset), pairs))
        init = torch.from_numpy(np.stack([f.transpose(2, 0, 1) for f in flows]).astype(np.float32))
    with torch.inference_mode():
        x = torch.from_numpy(np.stack([np.asarray(w, np.float32) for w in windows]))  # a copy: views may be read-only
        out = net.forward_pairs(x, pairs, flow_init=init, iters=iters, all_iters=False)[-1]
    return [np.ascontiguousarray(o.permute(1, 2, 0).numpy(), dtype=np.float32) for o in out]


#: The grid symmetries in the order the flow's self-ensemble uses them: identity, then both flips (a
#: half turn, which negates u and v, so the two members' direction biases in both components
#: oppose), the two single flips, then the same after a transpose. The first K of them for
#: ``ensemble=K``: for 4 and 8 the same sets as :data:`~spikevision._symmetry.SYMMETRIES`; for 2 the
#: half turn instead of the left-right flip (validation dt = 20: 0.797 / 0.725 px on the two
#: validation sets against 0.806 / 0.725, a transpose 0.806 / 0.744; ``docs/flow.md``).
FLOW_SYMMETRIES = tuple(SYMMETRIES[i] for i in (0, 3, 1, 2, 4, 7, 5, 6))

#: Warm-start reconstructions that treat every pixel alike, so that their image of a flipped or
#: transposed window is the flipped or transposed image (checked in the tests): an ensemble
#: computes those images once.
_EQUIVARIANT_RECONS = ("tfp", "tfi", "atfi")


def _learned_symmetric(windows: list[np.ndarray], pairs: list[tuple[int, int]], *, dt: int, ensemble: int,
                       **options: Any) -> list[list[np.ndarray]]:
    """For each of the first ``ensemble`` grid symmetries (:data:`FLOW_SYMMETRIES`), the flows of ``pairs`` (see
    :func:`_learned_pairs`) estimated on the transformed windows and mapped back to the original frame.

    The symmetries run side by side, ``threads`` (default: torch's thread count) at a time, each with
    single-threaded torch and OpenCV: one estimate's operations are too small to split well across
    cores (2 symmetries at dt = 20: 1.14 s instead of 1.26 s on 2 cores, with 6 refinement steps).
    """
    from concurrent.futures import ThreadPoolExecutor

    import cv2
    import torch

    net = load_flow_model(options.get("weights"))[0]
    n_threads = int(options.pop("threads", None) or torch.get_num_threads())
    images: dict[int, np.ndarray] = {}
    if net.cfg.classical_init and net.cfg.init_recon in _EQUIVARIANT_RECONS:
        with ThreadPoolExecutor(max_workers=max(1, min(n_threads, len(windows)))) as pool:
            images = _warm_start_images(pool, windows, _used(pairs), net.cfg.init_recon)

    def member(sym: tuple[bool, bool, bool]) -> list[np.ndarray]:
        flows = _learned_pairs([to_symmetry(w, sym) for w in windows], pairs, dt=dt,
                               images={k: to_symmetry(im, sym) for k, im in images.items()}, **options)
        return [flow_from_symmetry(f, sym) for f in flows]

    # torch's and OpenCV's thread counts are process-wide: set for the members, restored afterwards
    symmetries = FLOW_SYMMETRIES[:ensemble]
    previous = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(n_threads, len(symmetries)))) as pool:
            return list(pool.map(member, symmetries))
    finally:
        torch.set_num_threads(previous[0])
        cv2.setNumThreads(previous[1])


def _learned_window(*, weights: str | None = None, **_: Any) -> int:
    return int(load_flow_model(weights)[0].cfg.frames)


_METHODS: dict[str, FlowMethod] = {
    "spikeflow": FlowMethod("spikeflow", 41, _learned,
                            "learned spike-flow network: temporal spike representation, correlation pyramid, GRU refinement",
                            _learned_window, still_gate=True),
    "classical": FlowMethod("classical", 41, _classical, "baseline: TFP reconstructions at t0 and t0+dt + OpenCV DIS (medium)"),
    "farneback": FlowMethod("farneback", 41, _farneback, "TFP reconstructions at t0 and t0+dt + OpenCV Farneback"),
}


def list_flow_methods() -> dict[str, str]:
    """``{name: description}`` of the registered methods."""
    return {k: m.description for k, m in _METHODS.items()}


def get_flow_method(method: str) -> FlowMethod:
    """The registered :class:`FlowMethod` called ``method`` (:class:`UnknownFlowMethodError` if none is)."""
    if not isinstance(method, str) or method not in _METHODS:
        raise UnknownFlowMethodError(f"unknown flow method {method!r}; expected one of {sorted(_METHODS)}")
    return _METHODS[method]


def flow_between(w0: Any, w1: Any, *, dt: int, method: str = "spikeflow", **options: Any) -> np.ndarray:
    """Flow between the centres of two spike windows ``(L, H, W)`` of 0/1 (``L`` as the method needs).

    ``dt`` is the time between the two centres in spike frames. Used for
    datasets that store one clip per time (SPIFT / PHM, see :mod:`.datasets`).
    ``options`` as for :func:`estimate_flow` except ``chain``; with ``ensemble=K`` the flow is the
    median of the K symmetries' one-step estimates.
    """
    m = get_flow_method(method)
    gate = _still_gate_of(options.pop("still_gate", m.still_gate))
    _ensemble_option(m, options)
    dt = check_positive_int(dt, "dt")
    a = check_binary_array(w0, "w0")
    b = check_binary_array(w1, "w1")
    if a.shape != b.shape:
        raise ValueError(f"w0 and w1 must have the same shape, got {a.shape} and {b.shape}")
    if a.shape[1] == 0 or a.shape[2] == 0:
        raise ValueError(f"spike windows have no pixels (shape {a.shape})")
    n = m.frames(options)
    if a.shape[0] < n:
        raise ValueError(f"method {method!r} needs windows of {n} frames, got {a.shape[0]}")
    if a.shape[0] > n:  # keep the centred sub-window
        s = a.shape[0] // 2 - n // 2
        a, b = a[s : s + n], b[s : s + n]
    out = m.func(a, b, dt=dt, **options)
    if gate is not None:
        out = apply_still_gate(out, a, b, dt=dt, gate=gate)
    return np.ascontiguousarray(out, dtype=np.float32)


def _ensemble_option(m: FlowMethod, options: dict[str, Any]) -> int:
    """Check ``options["ensemble"]`` (if given) in place: a size of :data:`ENSEMBLE_SIZES`, for ``"spikeflow"`` only.
    Returns the size (:data:`DEFAULT_ENSEMBLE` for ``"spikeflow"`` when not given)."""
    if "ensemble" not in options:
        return DEFAULT_ENSEMBLE if m.name == "spikeflow" else 1
    k = options["ensemble"] = check_ensemble(options["ensemble"])
    if m.name != "spikeflow" and k != 1:
        raise ValueError(f"ensemble applies to method 'spikeflow' only, not {m.name!r}")
    if m.name != "spikeflow":
        del options["ensemble"]
    return k


def estimate_flow(stream: Any, t0: int, dt: int, *, method: str = "spikeflow", **options: Any) -> np.ndarray:
    """Optical flow from frame ``t0`` to ``t0 + dt`` of a spike stream.

    Parameters
    ----------
    stream:
        :class:`~spikevision.SpikeStream` or ``(T, H, W)`` 0/1 array (row 0 on top).
    t0:
        Start frame (index into the stream).
    dt:
        Interval in spike frames (10 and 20 are the field's standard; the
        shipped network is trained for those two).
    method:
        A name from :func:`list_flow_methods`.
    **options:
        Method settings: ``weights=``, ``iters=`` (refinement steps; default: the weights'),
        ``threads=``, ``strict_dt=``,
        ``chain=``, ``ensemble=`` for ``"spikeflow"``; ``recon=``, ``preset=``, ``algorithm=`` for the
        classical methods; ``still_gate=`` for all.

    Notes
    -----
    Chaining (``"spikeflow"``, ``chain="auto"``, the default): an interval
    ``dt >= 20`` whose half the network was trained for is estimated as two
    steps of ``dt / 2`` (windows at ``t0``, ``t0 + dt / 2``, ``t0 + dt``, so no
    more frames than one step needs) composed with :func:`compose_flows`.
    Short steps have smaller displacements and fewer occlusions: on the
    validation scenes this lowers the dt = 20 AEE by 5-10 % (``docs/flow.md``). ``chain=False`` always runs one step, ``chain=True``
    always two.

    Self-ensemble (``"spikeflow"``, ``ensemble=`` 1, 2 (:data:`DEFAULT_ENSEMBLE`), 4 or 8): the
    network runs on the first ``ensemble`` flips / transposes of the windows (the order of
    :data:`FLOW_SYMMETRIES`: identity, both flips (a half turn), left-right, up-down, then the same
    after a transpose), each estimate is mapped back, and the flow is their per-pixel,
    per-component median. A chained interval then adds each symmetry's one-step estimate to its
    chained one, so the median is over ``2 * ensemble`` estimates. The symmetries run side by side
    on the ``threads`` cores. On 2 cores at 250 x 400, dt = 20
    (``benchmarks/bench_flow.py``): ``ensemble=1`` about 0.4 s, ``ensemble=2`` under 1 s; the
    default ``ensemble=2`` lowers the AEE at dt = 20 by 7-9 % against one estimate on the validation
    and held-out scenes (``docs/flow.md``). ``ensemble=1`` is the single estimate, for speed.

    Static-background gate (``still_gate``; on by default for ``"spikeflow"``, off
    for the classical methods so that the baseline stays as defined): the flow is
    set to zero where the pixels' firing rates do not change across the frames the
    two windows cover (:mod:`.still`; ``True`` turns it on with the default
    thresholds, a :class:`~.still.StillGate` sets them, ``False`` turns it off).

    Returns
    -------
    ``(H, W, 2)`` float32 displacement in pixels, u right, v down.

    Both windows (``method``'s length, centred on ``t0`` and ``t0 + dt``)
    must lie inside the stream; otherwise a :class:`ValueError` says which
    frames are needed.
    """
    from ..stream import SpikeStream, as_stream

    m = get_flow_method(method)
    s = stream if isinstance(stream, SpikeStream) else as_stream(stream)
    if isinstance(t0, bool) or not isinstance(t0, (int, np.integer)):
        raise TypeError(f"t0 must be an integer frame index, got {type(t0).__name__} {t0!r}")
    dt = check_positive_int(dt, "dt")
    t0 = int(t0)
    n = m.frames(options)
    lo, hi = m.span(t0, dt, options)
    if s.n_frames == 0 or s.height == 0 or s.width == 0:
        raise ValueError(f"the stream is empty (shape {s.shape})")
    if lo < 0 or hi > s.n_frames:
        raise ValueError(f"method {method!r} with t0={t0}, dt={dt} needs frames [{lo}, {hi}) "
                         f"({n}-frame windows centred on {t0} and {t0 + dt}), but the stream has [0, {s.n_frames})")
    chain = options.pop("chain", "auto")
    if m.name != "spikeflow" and chain != "auto":
        raise ValueError(f"chain applies to method 'spikeflow' only, not {method!r}")
    if m.name == "spikeflow" and _chained(dt, chain, options):
        # dt as two steps of dt / 2 (the window at t0 + dt / 2 lies inside the same span), in one batch
        half = dt // 2
        gate = _still_gate_of(options.pop("still_gate", m.still_gate))
        ensemble = _ensemble_option(m, options)
        options.pop("ensemble", None)
        windows = [check_binary_array(s.window(t, n), "window") for t in (t0, t0 + half, t0 + dt)]
        if ensemble == 1:
            a, b = _learned_pairs(windows, [(0, 1), (1, 2)], dt=half, **options)
            flow = compose_flows(a, b)
        else:  # each symmetry's chained estimate, and its one-step one where the weights were trained for dt
            one_step = dt in load_flow_model(options.get("weights"))[1]
            pairs = [(0, 1), (1, 2), (0, 2)] if one_step else [(0, 1), (1, 2)]
            members = _learned_symmetric(windows, pairs, dt=half, ensemble=ensemble, **options)
            flow = _median([f for m in members for f in [compose_flows(m[0], m[1])] + m[2:]])
        return flow if gate is None else apply_still_gate(flow, windows[0], windows[2], dt=dt, gate=gate)
    w0 = s.window(t0, n)
    w1 = s.window(t0 + dt, n)
    return flow_between(w0, w1, dt=dt, method=method, **options)


def _chained(dt: int, chain: Any, options: dict[str, Any]) -> bool:
    """Whether the learned method estimates ``dt`` as two steps of ``dt / 2`` (see :func:`estimate_flow`)."""
    if chain == "auto":
        return dt % 2 == 0 and dt // 2 in load_flow_model(options.get("weights"))[1] and dt >= 20
    if not isinstance(chain, bool):
        raise ValueError(f"chain must be 'auto', True or False, got {chain!r}")
    if chain and dt % 2:
        raise ValueError(f"chain=True splits dt into two equal steps; dt={dt} is odd")
    return chain


def compose_flows(first: Any, second: Any) -> np.ndarray:
    """The flow of ``first`` followed by ``second`` (both ``(H, W, 2)``, px): ``first(x) + second(x + first(x))``.

    ``second`` is sampled bilinearly at the points ``first`` moves each pixel
    to; points carried outside the image take the nearest border value.
    """
    import cv2

    a = np.asarray(first, np.float32)
    b = np.asarray(second, np.float32)
    if a.ndim != 3 or a.shape[-1] != 2 or a.shape != b.shape:
        raise ValueError(f"flows must both be (H, W, 2) of one shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError(f"flows have no pixels (shape {a.shape})")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("flows contain NaN or infinite values")
    h, w = a.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    moved = cv2.remap(b, xs + a[..., 0], ys + a[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(a + moved, dtype=np.float32)


@lru_cache(maxsize=4)
def load_flow_model(weights: str | None = None) -> tuple[Any, tuple[int, ...]]:
    """The network in eval mode and the ``dt`` values it was trained for.

    ``weights=None`` loads the shipped ``flow_spikeflow`` (size and SHA-256
    checked against the registry); a path loads a checkpoint file. A checkpoint's ``inference``
    (if any: ``{"iters": refinement steps, "init_preset": DIS preset of the warm start}``) replaces
    those settings of ``net.cfg`` (training's are in its ``model_args``).
    """
    try:
        import torch  # noqa: F401
    except ImportError as exc:  # pragma: no cover
        raise ImportError("the learned flow network needs PyTorch: pip install torch==2.13.0") from exc
    from ..learned.checkpoint import CheckpointError, load_checkpoint
    from .net import FlowNetConfig, SpikeFlowNet

    ck = load_checkpoint(LEARNED_WEIGHTS if weights is None else Path(weights), task="flow", models=("spikeflow",))
    path = ck.path
    try:
        cfg = FlowNetConfig.from_dict(ck.model_args)
        net = SpikeFlowNet(cfg)
        net.load_state_dict(ck.state)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # weights of another shape
        raise CheckpointError(f"{path}: the weights do not fit the network its model_args describe ({exc})") from exc
    if ck.meta.get("inference") is not None:  # settings at inference that differ from training's
        try:
            net.cfg = replace(cfg, **_inference_settings(ck.meta["inference"]))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: bad inference settings: {exc}") from exc
    net.eval()
    return net, tuple(int(d) for d in ck.meta.get("dts", ()))


#: Settings of :class:`~.net.FlowNetConfig` a checkpoint may set for inference only.
INFERENCE_SETTINGS = ("iters", "init_preset")


def _inference_settings(value: Any) -> dict[str, Any]:
    """``value`` checked as a dict of :data:`INFERENCE_SETTINGS` (``iters`` a positive int; the preset
    is checked by :class:`~.net.FlowNetConfig`)."""
    if not isinstance(value, dict) or not set(value) <= set(INFERENCE_SETTINGS):
        raise ValueError(f"inference settings must be a dict with keys among {INFERENCE_SETTINGS}, got {value!r}")
    out = dict(value)
    if "iters" in out:
        out["iters"] = check_positive_int(out["iters"], "iters")
    return out
