"""Run the shipped learned reconstructors: weights verified by checksum, models cached.

>>> img = reconstruct_learned(window, model="cnn")   # doctest: +SKIP  window: (41, H, W) 0/1
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..._checks import check_binary_array
from ..._symmetry import ENSEMBLE_SIZES, SYMMETRIES, check_ensemble

__all__ = ["MODELS", "ENSEMBLE_SIZES", "unavailable", "TILE_PIXELS", "TILE_MARGIN", "build_model", "load_model",
           "reconstruct_learned"]

#: Learned methods and the registry name of their shipped weights.
MODELS = {"cnn": "recon_cnn", "snn": "recon_snn"}


def unavailable(model: str) -> str | None:
    """``None`` if the learned ``model`` can run here, else what is missing and the command that installs it
    (package and extra named exactly, e.g. spikingjelly's own dependency loguru)."""
    import importlib.util

    if model not in MODELS:
        raise ValueError(f"unknown learned model {model!r}; expected one of {sorted(MODELS)}")
    if importlib.util.find_spec("torch") is None:
        return "needs torch (missing): pip install torch==2.13.0 (the CPU build; 'spikevision[torch]')"
    if model == "snn":
        from ..._snn import spikingjelly

        try:
            spikingjelly()
        except ImportError as exc:
            return str(exc)
    from ...weights import registry

    if MODELS[model] not in registry():
        return f"weights {MODELS[model]!r} are not shipped with this installation"
    return None


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError("learned reconstruction needs PyTorch: pip install torch==2.13.0") from exc
    return torch


def build_model(name: str, args: dict) -> Any:
    """A fresh network ``"cnn"`` (:class:`.cnn.AlignedReconNet`) or ``"snn"`` (:class:`.snn.SpikingReconNet`)
    from its settings (``CNNConfig`` / ``SNNConfig`` fields as a dict)."""
    _torch()
    if name == "cnn":
        from .cnn import AlignedReconNet, CNNConfig

        return AlignedReconNet(CNNConfig(**args))
    if name == "snn":
        from .snn import SNNConfig, SpikingReconNet

        return SpikingReconNet(SNNConfig(**args))
    raise ValueError(f"unknown model {name!r}; expected 'cnn' or 'snn'")


@lru_cache(maxsize=4)
def load_model(model: str, weights: str | None = None) -> Any:
    """The model ``"cnn"`` or ``"snn"`` in eval mode, from the shipped weights or a checkpoint file.

    Shipped weights are checked against the registry (size and SHA-256), files
    by their digest (:func:`spikevision.learned.load_checkpoint`): a missing,
    corrupt or foreign file raises ``FileNotFoundError``,
    :class:`spikevision.weights.WeightsError` or :class:`spikevision.learned.CheckpointError`.
    """
    _torch()
    if model not in MODELS:
        raise ValueError(f"unknown learned model {model!r}; expected one of {sorted(MODELS)}")
    from ...learned.checkpoint import CheckpointError, load_checkpoint

    ck = load_checkpoint(MODELS[model] if weights is None else Path(weights), task="recon", models=(model,))
    net = build_model(model, dict(ck.model_args))
    try:
        net.load_state_dict(ck.state)
    except RuntimeError as exc:
        raise CheckpointError(f"{ck.path}: the weights do not fit the {model} its model_args describe ({exc})") from exc
    net.eval()
    return net


def _run_symmetric(net: Any, x: Any, ensemble: int) -> Any:
    """Mean of ``net``'s images over the first ``ensemble`` symmetries of the input (self-ensemble).

    The camera model treats every pixel alike, so a flipped or transposed window is as valid an
    input as the original; each output is mapped back before averaging. With 1, just ``net(x)``.
    """
    total = None
    for transpose, flip_rows, flip_cols in SYMMETRIES[:int(ensemble)]:
        y = x.transpose(-1, -2) if transpose else x
        dims = [d for d, on in ((-2, flip_rows), (-1, flip_cols)) if on]
        if dims:
            y = y.flip(dims)
        out = net(y)
        img = out[0] if isinstance(out, tuple) else out
        if dims:
            img = img.flip(dims)
        if transpose:
            img = img.transpose(-1, -2)
        total = img if total is None else total + img
    return total / ensemble


#: Per model: ``(largest frame run whole, in pixels; kept side of a tile beyond that)``. Bigger frames
#: are cut into square tiles read with :data:`TILE_MARGIN` pixels of overlap. Chosen so that peak memory
#: stays under 2 GB on a 1000 x 1000 frame (measured in docs/real-recordings.md); 250 x 400 (the Vidar
#: size, the REDS protocol) runs whole, so its numbers are those of the untiled network.
TILE_PIXELS = {"cnn": (1024 * 1024, 768), "snn": (250 * 400, 192)}
#: Context (pixels) each tile sees beyond the part of it that is kept; a multiple of 8.
TILE_MARGIN = 32


def _tile_spans(n: int, core: int, margin: int) -> list[tuple[int, int, int, int]]:
    """``(in_lo, in_hi, out_lo, out_hi)`` along one axis of length ``n``: tiles of ``core`` kept pixels
    (a multiple of 8, so every tile sits on the network's 8-pixel grid) read with ``margin`` more."""
    spans = []
    for lo in range(0, n, core):
        hi = min(n, lo + core)
        spans.append((max(0, lo - margin), min(n, hi + margin), lo, hi))
    return spans


def _tile_side(model: str, h: int, w: int, tile: int | None) -> int | None:
    """Kept side of a square tile (multiple of 8), or ``None`` when the frame runs whole."""
    if tile is not None:
        if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 0:
            raise ValueError(f"tile must be an integer >= 0 (0: never tile), got {tile!r}")
        if tile == 0:
            return None
        side = max(8, int(tile) // 8 * 8)
    else:
        whole, side = TILE_PIXELS[model]
        if h * w <= whole:
            return None
    return None if (h <= side and w <= side) else side


def reconstruct_learned(window: Any, *, model: str, weights: str | None = None, threads: int | None = None,
                        ensemble: int = 1, rate_ratio: float | None = None, tile: int | None = None) -> np.ndarray:
    """Image at the centre of a spike window with a learned model.

    Parameters
    ----------
    window:
        ``(T, H, W)`` 0/1 frames (``T`` = the model's window, 41 for the shipped
        models), or a batch ``(B, T, H, W)``.
    model:
        ``"cnn"`` or ``"snn"``.
    ensemble:
        Geometric self-ensemble: run the model on the first ``ensemble`` (1, 2, 4
        or 8) flips/transposes of the window and average the images mapped back
        (as in EDSR+). ``ensemble`` times the time for a little more quality
        (measured in the README); 1 (the default) runs the model once.
    rate_ratio:
        Exposure: the firing rate (spikes per frame) that maps to white.
        ``None``: the model's own (0.6, the REDS convention it was trained
        with). The network computes the image in its own scale, where white is
        its ``rate_ratio``; that image, *before* clipping, is multiplied by
        ``model_rate_ratio / rate_ratio`` and then clipped to [0, 1], so rates
        up to 1 spike per frame are not clipped at 0.6 and the result at the
        model's own ratio is bit for bit what it was. The registry resolves
        ``"auto"`` to a number first (:mod:`spikevision.recon.exposure`).
    threads:
        CPU threads for torch; ``None``: the idle cores
        (:func:`spikevision._threads.inference_threads`: ``SPIKEVISION_THREADS``
        or the cores not busy with other work).
    tile:
        Kept side of square tiles, in pixels (rounded down to a multiple of 8),
        each run with :data:`TILE_MARGIN` pixels of context on every side;
        ``0``: never tile; ``None``: tile frames larger than
        :data:`TILE_PIXELS` of the model, which bounds memory (the SNN needs
        about 14 kB per pixel). Tiled and whole images agree to within
        rounding in the tiles' interiors; the documented tolerance is tested.

    Returns
    -------
    ``(H, W)`` (or ``(B, H, W)``) float32 in [0, 1].
    """
    torch = _torch()
    from ..._threads import inference_threads

    ensemble = check_ensemble(ensemble)
    a = np.asarray(window)
    single = a.ndim == 3
    if single:
        a = a[None]
    if a.ndim != 4:
        raise ValueError(f"window must be (T, H, W) or (B, T, H, W), got shape {a.shape}")
    a = check_binary_array(a.reshape(-1, *a.shape[2:]), "window").reshape(a.shape)
    net = load_model(model, weights)
    need = net.cfg.window
    if a.shape[1] != need:
        raise ValueError(f"the {model} model needs a {need}-frame window, got {a.shape[1]} frames")
    scale = 1.0
    if rate_ratio is not None:
        from ..exposure import parse_rate_ratio

        rr = parse_rate_ratio(rate_ratio)
        if isinstance(rr, str):
            raise ValueError("rate_ratio='auto' needs the recording: use spikevision.recon.reconstruct, "
                             "or pass estimate_rate_ratio(stream)")
        scale = float(net.cfg.rate_ratio) / rr
    torch.set_num_threads(inference_threads(threads))
    h, w = a.shape[-2:]
    side = _tile_side(model, h, w, tile)
    res = np.empty((a.shape[0], h, w), np.float32)
    with torch.inference_mode():
        if side is None:
            res[:] = _run_symmetric(net, torch.from_numpy(np.ascontiguousarray(a)).float(), ensemble)[:, 0].numpy()
        else:
            for r0, r1, kr0, kr1 in _tile_spans(h, side, TILE_MARGIN):
                for c0, c1, kc0, kc1 in _tile_spans(w, side, TILE_MARGIN):
                    x = torch.from_numpy(np.ascontiguousarray(a[..., r0:r1, c0:c1])).float()
                    img = _run_symmetric(net, x, ensemble)[:, 0].numpy()
                    res[:, kr0:kr1, kc0:kc1] = img[:, kr0 - r0 : kr1 - r0, kc0 - c0 : kc1 - c0]
    if scale != 1.0:
        res *= np.float32(scale)
    np.clip(res, 0.0, 1.0, out=res)
    return res[0] if single else res
