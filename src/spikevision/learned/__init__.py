"""The training spine shared by every learned model: checkpoints, configs, devices, the fit loop.

* :mod:`.checkpoint` — the one checkpoint format (digest-verified, ``weights_only`` loads) and the export.
* :mod:`.config` — :class:`RunConfig` and its one loader (unknown keys and wrong types are errors).
* :mod:`.device` — ``--device`` (no silent fall-back), mixed precision, ``torchrun`` processes.
* :mod:`.fit` — the loop: seeding, resume, best/last/average, JSON-lines log, budget, schedule.
* :mod:`.tasks` — ``recon``, ``flow``, ``comm``, ``track``: model, samples, loss, validation.

Importing this package does not import torch.
"""

from .checkpoint import FORMAT, Checkpoint, CheckpointError, export_weights, load_checkpoint, save_checkpoint
from .config import ConfigError, RunConfig, SourceSpec, load_config
from .device import DeviceError, resolve_device
from .fit import fit
from .average import WeightAverage
from .schedule import warmup_cosine
from .tasks import TASKS, get_task

__all__ = ["FORMAT", "Checkpoint", "CheckpointError", "save_checkpoint", "load_checkpoint", "export_weights",
           "ConfigError", "RunConfig", "SourceSpec", "load_config", "DeviceError", "resolve_device", "fit",
           "warmup_cosine", "WeightAverage", "TASKS", "get_task"]
