"""PSNR/SSIM of a reconstruction method on a folder of recordings with GT images (``eval recon``).

Protocol (the community's REDS protocol): the image at the GT's frame (the middle
frame of REDS-style clips, the GT's own frame in ``synth`` folders) from a
``window``-frame window centred on it; PSNR and SSIM (:mod:`spikevision.metrics`,
``data_range=1``) against the GT in [0, 1]. Folders are read by
:mod:`spikevision.datasets.recon`.

>>> res = evaluate_folder("data/reds", method="cnn")     # doctest: +SKIP
>>> res["mean"]["psnr"]                                   # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["EVAL_WINDOW", "EVAL_RATE_RATIO", "evaluate_folder"]

#: Default protocol of ``eval recon`` (the community's REDS protocol).
EVAL_WINDOW = 41
EVAL_RATE_RATIO = 0.6


def evaluate_folder(data: str | os.PathLike, *, method: str, window: int = EVAL_WINDOW,
                    rate_ratio: float | None = EVAL_RATE_RATIO, upright: bool = False, progress: bool = False,
                    ensemble: int | None = None, weights: str | None = None) -> dict[str, Any]:
    """Scores of ``method`` on a REDS-style or ``synth`` folder.

    ``rate_ratio`` is passed only to methods that take it; ``ensemble`` and
    ``weights`` (a checkpoint file, learned methods) are refused by others.
    Returns ``{"method", "window", "rate_ratio", "ensemble", "data", "files":
    [{"name", "frame", "psnr", "ssim"}], "mean": {"psnr", "ssim"}}``.
    """
    from ..datasets import find_recon_items, open_recon_item
    from ..metrics import psnr, ssim
    from ..progress import progress_bar
    from .registry import method_options, reconstruct

    items = find_recon_items(data, upright=upright)
    accepted = method_options(method)
    opts: dict[str, Any] = {"window": window}
    if rate_ratio is not None and (accepted is None or "rate_ratio" in accepted):
        opts["rate_ratio"] = rate_ratio
    for name, value in (("ensemble", ensemble), ("weights", weights)):
        if value is None:
            continue
        if accepted is not None and name not in accepted:
            raise ValueError(f"method {method!r} has no {name} option (it accepts {sorted(accepted)})")
        opts[name] = value
    files = []
    with progress_bar(total=len(items), desc=f"eval {method}", enabled=progress, unit="file") as bar:
        for item in items:
            stream, frame, gt = open_recon_item(item, dtype=np.float64)
            with stream:
                img = reconstruct(stream, method=method, at=frame, **opts)
            files.append({"name": item.name, "frame": frame,
                          "psnr": psnr(img, gt, data_range=1.0), "ssim": ssim(img, gt, data_range=1.0)})
            bar.update(1)
    mean = {k: float(np.mean([f[k] for f in files])) for k in ("psnr", "ssim")}
    return {"method": method, "window": window, "rate_ratio": opts.get("rate_ratio"), "ensemble": opts.get("ensemble"),
            "data": str(data), "files": files, "mean": mean}
