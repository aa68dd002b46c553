"""The training tasks: each file supplies a model builder, samples, a loss and a validation.

``recon`` (the CNN and the SNN reconstructors), ``flow`` (the spike-flow network),
``comm`` (the spiking and analog codes), ``track`` (the learned moving-object detector). Modules are imported when asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["TASKS", "get_task"]

#: task name -> "module:class"
TASKS = {
    "recon": "spikevision.learned.tasks.recon:ReconTask",
    "flow": "spikevision.learned.tasks.flow:FlowTask",
    "comm": "spikevision.learned.tasks.comm:CommTask",
    "track": "spikevision.learned.tasks.track:TrackTask",
}


def get_task(name: str) -> Any:
    """An instance of the task ``name``; ``ValueError`` for an unknown one."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; expected one of {sorted(TASKS)}")
    module, cls = TASKS[name].split(":")
    return getattr(importlib.import_module(module), cls)()
