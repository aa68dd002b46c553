"""The learning-rate schedule of every training run: linear warm-up, then cosine decay."""

from __future__ import annotations

import math

__all__ = ["warmup_cosine"]


def warmup_cosine(it: int, *, lr: float, lr_min: float, warmup: int, iterations: int, min_progress: float = 0.0) -> float:
    """Learning rate at iteration ``it`` (0-based).

    Linear warm-up over ``warmup`` iterations, then cosine decay from ``lr`` to ``lr_min``
    at ``iterations`` (or earlier when ``min_progress``, a fraction in [0, 1] such as
    elapsed / allowed wall time, is ahead of the iteration count).

    >>> warmup_cosine(0, lr=1.0, lr_min=0.0, warmup=2, iterations=10)
    0.5
    >>> warmup_cosine(10, lr=1.0, lr_min=0.0, warmup=2, iterations=10)
    0.0
    """
    if it < warmup:
        return lr * (it + 1) / warmup
    p = min(1.0, (it - warmup) / max(1, iterations - warmup))
    p = max(p, min(1.0, min_progress))
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * p))
