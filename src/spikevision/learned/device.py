"""Devices and processes of a training run: ``--device``, mixed precision, DDP under ``torchrun``.

``resolve_device("auto" | "cpu" | "cuda" | "cuda:N" | "mps")``: ``auto`` takes CUDA,
else MPS, else the CPU; naming a device that is not there is a :class:`DeviceError`
(never a silent fall-back to the CPU). Under ``torchrun`` (``WORLD_SIZE`` > 1)
:func:`start_processes` joins the process group (``gloo`` on the CPU, ``nccl`` on
CUDA) and gives each rank its GPU ``cuda:LOCAL_RANK``.

>>> resolve_device("cpu")          # doctest: +SKIP
device(type='cpu')
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from typing import Any, Iterator

__all__ = ["DeviceError", "Processes", "resolve_device", "start_processes", "stop_processes", "autocast"]


class DeviceError(ValueError):
    """A device that does not exist here, or an option it does not support."""


def resolve_device(spec: str = "auto", *, local_rank: int | None = None) -> Any:
    """The ``torch.device`` for ``spec``; ``local_rank`` picks the GPU of a ``torchrun`` rank for ``cuda``."""
    import torch

    s = str(spec).strip().lower()
    if s == "auto":
        if torch.cuda.is_available():
            s = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            s = "mps"
        else:
            s = "cpu"
    if s == "cpu":
        return torch.device("cpu")
    if s == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise DeviceError("device 'mps' is not available here (no Apple GPU / no MPS build of torch); "
                              "use --device cpu or --device auto")
        return torch.device("mps")
    m = re.fullmatch(r"cuda(?::(\d+))?", s)
    if not m:
        raise DeviceError(f"device must be auto, cpu, cuda, cuda:N or mps, got {spec!r}")
    if not torch.cuda.is_available():
        raise DeviceError(f"device {spec!r}: CUDA is not available here (torch {torch.__version__}, "
                          f"built with CUDA {torch.version.cuda}); use --device cpu")
    n = torch.cuda.device_count()
    index = int(m.group(1)) if m.group(1) is not None else (local_rank or 0)
    if index >= n:
        raise DeviceError(f"device {spec!r}: there {'is' if n == 1 else 'are'} {n} CUDA device{'s' * (n != 1)} "
                          f"(cuda:0..cuda:{n - 1}), not cuda:{index}")
    return torch.device(f"cuda:{index}")


@dataclass(frozen=True)
class Processes:
    """This process's place in the run: ``rank`` of ``world`` processes, on ``device``."""

    rank: int
    world: int
    local_rank: int
    device: Any

    @property
    def main(self) -> bool:
        """Rank 0: the one process that logs, validates and writes checkpoints."""
        return self.rank == 0


def start_processes(device: str = "auto") -> Processes:
    """Resolve ``device`` and, under ``torchrun`` (``WORLD_SIZE`` > 1), join the process group."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank=local)
    if world > 1 and not dist.is_initialized():
        if dev.type == "mps":
            raise DeviceError("several processes (torchrun) are not supported on mps")
        if dev.type == "cuda":
            import torch

            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return Processes(rank, world, local, dev)


def stop_processes(procs: Processes) -> None:
    """Leave the process group (if this run joined one)."""
    import torch.distributed as dist

    if procs.world > 1 and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def autocast(device: Any, amp: str) -> Iterator[None]:
    """Mixed precision for the forward pass: ``"off"``, ``"bf16"`` or ``"fp16"`` (CUDA only)."""
    import torch

    if amp == "off":
        yield
        return
    if device.type != "cuda":
        raise DeviceError(f"mixed precision (amp={amp!r}) needs a CUDA device, the run is on {device}")
    with torch.autocast("cuda", dtype=torch.bfloat16 if amp == "bf16" else torch.float16):
        yield
