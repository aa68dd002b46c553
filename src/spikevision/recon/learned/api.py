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

__all__ = ["MODELS", "ENSEMBLE_SIZES", "build_model", "load_model", "reconstruct_learned", "unavailable_reason"]

#: Learned methods and the registry name of their shipped weights.
MODELS = {"cnn": "recon_cnn", "snn": "recon_snn"}


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


def unavailable_reason(method: str) -> str | None:
    """``None`` if the learned ``method`` (``"cnn"``/``"snn"``) can run here, else why not (a missing package
    or unshipped weights); any other method: ``None``."""
    import importlib.util

    if method not in MODELS:
        return None
    if importlib.util.find_spec("torch") is None:
        return "needs torch (pip install torch==2.13.0)"
    if method == "snn" and importlib.util.find_spec("spikingjelly") is None:
        return "needs spikingjelly (pip install --no-deps spikingjelly==2.0.0)"
    from ...weights import registry

    if MODELS[method] not in registry():
        return "weights not shipped"
    return None


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


def reconstruct_learned(window: Any, *, model: str, weights: str | None = None, threads: int | None = None,
                        ensemble: int = 1) -> np.ndarray:
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

    Returns
    -------
    ``(H, W)`` (or ``(B, H, W)``) float32 in [0, 1].
    """
    torch = _torch()
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
    if threads:
        torch.set_num_threads(threads)
    with torch.inference_mode():
        img = _run_symmetric(net, torch.from_numpy(np.ascontiguousarray(a)).float(), ensemble)
        res = img[:, 0].clamp(0, 1).numpy().astype(np.float32)
    return res[0] if single else res
