"""Weight averaging along the end of a run (stochastic weight averaging, Izmailov et al., UAI 2018)."""

from __future__ import annotations

from typing import Any

__all__ = ["WeightAverage"]


class WeightAverage:
    """Uniform average of a model's weights taken at chosen iterations.

    The mean of the checkpoints along the end of a cosine schedule is usually a
    little better than any one of them, and it does not depend on which checkpoint
    a small validation set happens to favour. Floating-point entries (weights and
    batch-norm running statistics) are averaged; integer entries (batch counters)
    are those of the last model added. :meth:`state` and :meth:`load` keep the
    average in a run's ``last.pt`` so a resumed run continues it.

    >>> avg = WeightAverage()                 # doctest: +SKIP
    >>> avg.add(model, 1000); avg.add(model, 1250)
    >>> model.load_state_dict(avg.average())
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
            v = v.detach().cpu()
            if v.is_floating_point():
                self.sum[k] = v.double() if first else self.sum[k] + v.double()  # .double() copies
            else:
                self.sum[k] = v.clone()
        self.count += 1
        self.iterations.append(int(iteration))

    def average(self) -> dict[str, Any]:
        """The averaged state dict (float32 floating-point entries)."""
        if self.sum is None:
            raise ValueError("no weights have been added to the average yet")
        return {k: (v / self.count).float() if v.is_floating_point() else v for k, v in self.sum.items()}

    def state(self) -> dict[str, Any]:
        """What :meth:`load` restores (kept in ``last.pt``)."""
        return {"sum": self.sum, "count": self.count, "iterations": list(self.iterations)}

    def load(self, state: dict[str, Any] | None) -> None:
        """Continue the average stored by :meth:`state` (``None``: start empty)."""
        if state and state.get("sum") is not None:
            self.sum, self.count, self.iterations = state["sum"], int(state["count"]), list(state["iterations"])
