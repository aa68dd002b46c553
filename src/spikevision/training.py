"""Small pieces shared by the training loops (reconstruction, flow, communication)."""

from __future__ import annotations

import math
import pickle
import os
from typing import Any

__all__ = ["warmup_cosine", "save_torch", "load_init", "resume_into", "check_state", "WeightAverage"]


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


def load_init(model: Any, path: str | os.PathLike, *, new: tuple[str, ...] = (), key: str = "model") -> None:
    """Start ``model`` from the weights in checkpoint ``path`` (fine-tuning; the optimiser starts fresh).

    Every parameter must be present and fit, except those whose name contains one of
    ``new`` (parts added since, which start from their own initialisation). ``key`` names the
    entry of the checkpoint that holds the state dict (``"model"`` for training checkpoints,
    ``"state"`` for the learned codes of :mod:`spikevision.comm`).
    Raises ``FileNotFoundError`` or ``ValueError`` with the path in the message.
    """
    import torch

    if not os.path.isfile(path):
        raise FileNotFoundError(f"init weights {path} not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)[key]
        missing, unexpected = model.load_state_dict(state, strict=False)
    except (KeyError, RuntimeError, TypeError, EOFError, pickle.UnpicklingError) as exc:  # not a checkpoint, or shapes differ
        raise ValueError(f"init weights {path} do not fit the model: {exc}") from exc
    missing = [k for k in missing if not any(n in k for n in new)]
    if missing or unexpected:
        raise ValueError(f"init weights {path} do not fit the model (missing {missing}, unexpected {unexpected})")


def check_state(state: dict[str, Any], model: Any, what: str) -> None:
    """``ValueError`` unless ``state`` has exactly the entries of ``model``'s state dict, with their shapes
    (weights about to be reshaped into a grown network); the message says the weights are not ``what``."""
    expected = {k: v.shape for k, v in model.state_dict().items()}
    got = {k: getattr(v, "shape", None) for k, v in state.items()}
    if got != expected:
        bad = sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k))
        raise ValueError(f"the weights are not those of {what} ({len(bad)} entries differ, e.g. {bad[:3]})")


def resume_into(path: str | os.PathLike, pairs: list[tuple[Any, Any]]) -> None:
    """Load a run's own ``last.pt`` states into ``(module_or_optimiser, state)`` pairs; a checkpoint left by a
    run of another model (or config) in the same ``out_dir`` gives a ``ValueError`` that says what to do,
    not a raw state-dict error."""
    for target, state in pairs:
        try:
            target.load_state_dict(state)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise ValueError(f"{path} was left by a run of a different model or config ({exc}); "
                             "use another out_dir, delete it, or start afresh with --no-resume") from exc


class WeightAverage:
    """Uniform average of a model's weights taken at chosen iterations (stochastic weight averaging,
    Izmailov et al., UAI 2018): the mean of the checkpoints along the end of a cosine schedule is
    usually a little better than any one of them, and it does not depend on which checkpoint a
    small validation set happens to favour.

    Floating-point entries (weights and batch-norm running statistics) are averaged; integer
    entries (batch counters) are those of the last model added. :meth:`state` and :meth:`load`
    keep the average in a run's ``last.pt`` so a resumed run continues it.
    """

    def __init__(self) -> None:
        self.sum: dict[str, Any] | None = None
        self.count = 0
        self.iterations: list[int] = []

    def add(self, model: Any, iteration: int) -> None:
        """Add the current weights of ``model`` (taken at ``iteration``) to the average."""
        first = self.sum is None
        if first:
            self.sum = {}
        for k, v in model.state_dict().items():
            v = v.detach()
            if v.is_floating_point():
                self.sum[k] = v.double() if first else self.sum[k] + v.double()  # .double() copies
            else:
                self.sum[k] = v.clone()
        self.count += 1
        self.iterations.append(int(iteration))

    def average(self) -> dict[str, Any]:
        """The averaged state dict (same dtypes as the model's)."""
        if self.sum is None:
            raise ValueError("no weights have been added to the average yet")
        return {k: (v / self.count).float() if v.is_floating_point() else v for k, v in self.sum.items()}

    def state(self) -> dict[str, Any]:
        return {"sum": self.sum, "count": self.count, "iterations": list(self.iterations)}

    def load(self, state: dict[str, Any] | None) -> None:
        if state:
            self.sum, self.count, self.iterations = state["sum"], int(state["count"]), list(state["iterations"])
