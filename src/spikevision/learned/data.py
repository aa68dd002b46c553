"""Batches for the fit loop: seeded per sample, sharded per rank, mixed from weighted sources, on workers.

Sample ``i`` of a run (``i = iteration * batch + k``) is drawn from a generator seeded
by ``(seed, i)``: first its source (by the sources' weights), then the sample
itself. A resumed run, a run with more data workers and a run on more processes
therefore see exactly the same samples; under ``torchrun`` rank ``r`` of ``w`` takes
the ``r``-th slice of ``batch / w`` samples of every global batch.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np

__all__ = ["Source", "MixedSamples", "shard_indices", "make_loader"]


class Source(Protocol):
    """Anything that draws one training sample from a generator (must pickle, for data workers)."""

    def sample(self, rng: np.random.Generator) -> Any: ...


class MixedSamples:
    """Map-style dataset: index ``i`` -> a sample of a source chosen with probability proportional to its weight."""

    def __init__(self, sources: Sequence[Source], weights: Sequence[float], seed: int) -> None:
        if not sources or len(sources) != len(weights):
            raise ValueError("need one weight per source and at least one source")
        w = np.asarray(weights, np.float64)
        self.sources, self.p, self.seed = list(sources), w / w.sum(), int(seed)

    def __getitem__(self, index: int) -> Any:
        rng = np.random.default_rng([self.seed, int(index)])
        k = int(rng.choice(len(self.sources), p=self.p)) if len(self.sources) > 1 else 0
        return self.sources[k].sample(rng)


def shard_indices(start: int, stop: int, *, batch: int, rank: int = 0, world: int = 1) -> Iterator[list[int]]:
    """Sample indices of iterations ``start .. stop - 1`` for ``rank`` (a slice of ``batch // world`` each)."""
    if batch % world:
        raise ValueError(f"the batch ({batch}) must be a multiple of the number of processes ({world})")
    b = batch // world
    for it in range(start, stop):
        first = it * batch + rank * b
        yield list(range(first, first + b))


def make_loader(dataset: MixedSamples, collate: Callable[[list], Any], *, start: int, stop: int, batch: int,
                rank: int = 0, world: int = 1, workers: int = 0) -> Any:
    """A ``torch.utils.data.DataLoader`` yielding this rank's batch of each iteration in ``[start, stop)``."""
    from torch.utils.data import DataLoader

    sampler = list(shard_indices(start, stop, batch=batch, rank=rank, world=world))
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=workers,
                      persistent_workers=False, prefetch_factor=2 if workers else None)
