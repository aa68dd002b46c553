"""Evaluate a flow method on a synthetic dataset folder (``spikevision synth`` layout).

Per scene: AEE and PO% of every GT flow of the chosen ``dt`` (masked by the
GT validity: occluded and out-of-view pixels do not count), averaged over the
scene's flows. Mean: the unweighted mean over scenes
(:func:`spikevision.metrics.flow.summarize`). Flows whose windows do not fit
in the stream are skipped and counted.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["evaluate_synthetic"]


def evaluate_synthetic(root: str | os.PathLike, *, dt: int, method: str, progress: bool = False,
                       **options: Any) -> dict[str, Any]:
    """``{"method", "dt", "scenes": {name: {"aee", "po", "flows"}}, "mean": {"aee", "po", "scenes"}, "skipped"}``."""
    from ..metrics.flow import flow_errors, summarize
    from ..progress import progress_bar
    from .api import estimate_flow, get_flow_method
    from ..datasets.flow import read_synthetic_item, synthetic_flow_items

    m = get_flow_method(method)
    items = synthetic_flow_items(root, dt=dt)
    per: dict[str, dict[str, list[float]]] = {}
    skipped = 0
    with progress_bar(total=len(items), desc=f"eval flow {method} dt={dt}", enabled=progress, unit="flow") as bar:
        for it in items:
            stream, gt, valid = read_synthetic_item(root, it)
            lo, hi = m.span(it.t0, dt, options)
            if lo < 0 or hi > stream.n_frames or not valid.any():
                skipped += 1
                bar.update(1)
                continue
            pred = estimate_flow(stream, it.t0, dt, method=method, **options)
            e = flow_errors(pred, gt, mask=valid)
            d = per.setdefault(it.scene, {"aee": [], "po": []})
            d["aee"].append(e["aee"])
            d["po"].append(e["po"])
            bar.update(1)
    if not per:
        raise ValueError(f"no flow of dt={dt} in {root} could be evaluated with {method!r} "
                         f"({skipped} skipped: windows outside the stream or nothing valid)")
    scenes = {k: {"aee": float(np.mean(v["aee"])), "po": float(np.mean(v["po"])), "flows": len(v["aee"])}
              for k, v in per.items()}
    return {"method": method, "dt": int(dt), "scenes": scenes, "mean": summarize(scenes), "skipped": skipped}
