"""Run one job over thousands of recordings, on one machine or a Dask cluster.

A :class:`Job` says what to do with one input file (a picklable
``func(src, dst) -> record | None`` and the suffix of its output); :func:`run`
finds the inputs, runs the job on a Dask distributed cluster (a local one it
starts and stops, or an existing one at ``address``), and keeps
``OUT/manifest.jsonl`` so that a rerun only does what is missing. The
``spikevision batch JOB ...`` command builds its job from any per-recording
command of the command line (see ``docs/batch.md``).

>>> from spikevision.batch import Job, run
>>> def frames(src, dst):
...     import spikevision as sv
...     with sv.load(src, sensor="vidar") as s:
...         return {"frames": s.n_frames, "mean_rate": s.mean_rate()}
>>> if __name__ == "__main__":                                   # doctest: +SKIP
...     rows = run(Job("frames", frames, suffix=".json"), ["rec/*.dat"], "out", workers=2)

Needs the ``batch`` extra (``pip install 'spikevision[batch]'``); importing this
package does not import Dask.
"""

from __future__ import annotations

from .api import run, summarize
from .engine import available_cores, thread_environment, visible_gpus
from .inputs import Input, find_inputs, output_names
from .job import PARTIAL_DIR, BatchError, Job, run_task
from .manifest import MANIFEST_NAME, read_manifest, write_table

__all__ = [
    "run",
    "Job",
    "BatchError",
    "Input",
    "find_inputs",
    "output_names",
    "read_manifest",
    "write_table",
    "summarize",
    "run_task",
    "available_cores",
    "visible_gpus",
    "thread_environment",
    "MANIFEST_NAME",
    "PARTIAL_DIR",
]
