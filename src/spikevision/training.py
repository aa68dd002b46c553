"""Small pieces shared by the training loops (reconstruction, flow, communication)."""

from __future__ import annotations

import math
import os
from typing import Any

__all__ = ["warmup_cosine", "save_torch"]


def warmup_cosine(it: int, *, lr: float, lr_min: float, warmup: int, iterations: int, min_progress: float = 0.0) -> float:
    """Learning rate at iteration ``it``: linear warm-up over ``warmup`` iterations, then cosine
    decay from ``lr`` to ``lr_min`` at ``iterations`` (or earlier when ``min_progress``, a
    fraction in [0, 1] such as elapsed / allowed wall time, is ahead of the iteration count)."""
    if it < warmup:
        return lr * (it + 1) / warmup
    p = min(1.0, (it - warmup) / max(1, iterations - warmup))
    p = max(p, min(1.0, min_progress))
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * p))


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save`` through an atomic write (a checkpoint is never half-written)."""
    import torch

    from .io.atomic import atomic_path

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
