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

__all__ = ["MODELS", "ENSEMBLE_SIZES", "load_model", "reconstruct_learned", "export_weights"]

#: Learned methods and the registry name of their shipped weights.
MODELS = {"cnn": "recon_cnn", "snn": "recon_snn"}


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError("learned reconstruction needs PyTorch: pip install torch==2.13.0") from exc
    return torch


def _build(name: str, args: dict) -> Any:
    from .train import build_model

    return build_model(name, args)


@lru_cache(maxsize=4)
def load_model(model: str, weights: str | None = None) -> Any:
    """The model ``"cnn"`` or ``"snn"`` in eval mode, from the shipped weights or a file.

    Shipped weights are checked against the registry (size and SHA-256);
    a missing or corrupt file raises :class:`spikevision.weights.WeightsError`.
    """
    torch = _torch()
    if model not in MODELS:
        raise ValueError(f"unknown learned model {model!r}; expected one of {sorted(MODELS)}")
    if weights is None:
        from ...weights import weights_path

        path = weights_path(MODELS[model])
    else:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"weights file not found: {path}")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"{path} is not a readable weights file: {exc}") from exc
    if ck.get("model_name") != model:
        raise ValueError(f"{path} holds weights for {ck.get('model_name')!r}, not {model!r}")
    net = _build(model, dict(ck.get("model_args", {})))
    net.load_state_dict(ck["model"])
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


def export_weights(checkpoint: str | Path, name: str, *, description: str) -> dict:
    """Copy the model of a training checkpoint into the package's weights folder and register it."""
    torch = _torch()
    from ...io.atomic import atomic_path
    from ...weights import _DIR, register_weights

    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    slim = {"model": ck["model"], "model_name": ck["model_name"], "model_args": ck.get("model_args", {}),
            "iteration": ck.get("iteration"), "val_psnr": ck.get("val_psnr")}
    target = _DIR / f"{name}.pt"
    with atomic_path(target) as tmp:
        torch.save(slim, tmp)
    load_model.cache_clear()
    return register_weights(name, target, description=description)
