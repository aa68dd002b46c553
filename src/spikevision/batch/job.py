"""What runs for one input: the :class:`Job` and the task that wraps it on a worker.

A job is a picklable callable ``func(src, dst) -> record | None``: it reads the
input file ``src`` and writes its output to ``dst`` (a path inside a private
temporary folder whose name ends in the job's ``suffix``; it may write more
files next to it, such as a sidecar). It may return a flat mapping, its
*record*, which the batch writes to JSON and gathers into one table.

:func:`run_task` is what a worker executes: it gives the job a temporary folder
under ``OUTDIR/.partial/``, moves every file the job wrote to its final place
with :func:`os.replace` (atomic per file) once the job has returned, and turns
any exception into an ``error`` result carrying the reader's message. The
manifest row is written by the driver only after the task returned, so an
input is ``ok`` only when all its outputs are in place; a worker killed in the
middle leaves at most a folder under ``.partial/``, which the batch removes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

__all__ = ["Job", "BatchError", "PARTIAL_DIR", "record_name", "run_task"]

#: Folder under OUTDIR that holds the private temporary folders of running tasks.
PARTIAL_DIR = ".partial"


class BatchError(ValueError):
    """A batch cannot run as asked (bad job, clashing output names, no workers ...)."""


@dataclass(frozen=True)
class Job:
    """A per-input command: ``func(src: Path, dst: Path) -> Mapping | None``.

    Args:
        name: Short name, used for the table file (``OUTDIR/<name>.csv``) and the progress bar.
        func: Picklable callable (a module-level function, a :func:`functools.partial` of one, or
            a frozen dataclass with ``__call__``); workers receive it by pickling.
        suffix: Suffix of the main output, e.g. ``".npy"``: input ``DIR/a/clip.dat`` gives
            ``OUTDIR/a/clip.npy``. A job that only returns a record uses ``".json"``.
        key: What the results depend on besides the input (the options, as text). A rerun with
            another key redoes every input; default ``"<name> -> <suffix>"``.

    Example:
        >>> def count(src, dst):
        ...     import spikevision as sv
        ...     with sv.load(src, sensor="vidar") as s:
        ...         return {"frames": s.n_frames}
        >>> job = Job("count", count, suffix=".json")
    """

    name: str
    func: Callable[[Path, Path], Mapping[str, Any] | None] = field(repr=False)
    suffix: str
    key: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or any(c in self.name for c in "/\\") or self.name[0] == ".":
            raise BatchError(f"job name must be a non-empty file-name-safe string, got {self.name!r}")
        if not callable(self.func):
            raise TypeError(f"job func must be callable, got {type(self.func).__name__}")
        if not isinstance(self.suffix, str) or not self.suffix.startswith(".") or len(self.suffix) < 2 \
                or any(c in self.suffix for c in "/\\"):
            raise BatchError(f"job suffix must look like '.npy', got {self.suffix!r}")

    @property
    def identity(self) -> str:
        """The text stored in each manifest row; a rerun skips an input only if it is unchanged."""
        return self.key if self.key is not None else f"{self.name} -> {self.suffix}"


def record_name(out_name: str, suffix: str) -> str:
    """File name of an input's record: the main output itself for ``.json`` jobs, else ``<output>.json``."""
    return out_name if suffix == ".json" else out_name + ".json"


def _relocated(value: Any, old: str, new: str) -> Any:
    """``value`` with the temporary folder ``old`` replaced by the final folder ``new`` in every string."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, Mapping):
        return {k: _relocated(v, old, new) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_relocated(v, old, new) for v in value]
    return value


def run_task(job: Job, src: str, outdir: str, out_rel: str) -> dict:
    """Run ``job`` on one input inside a worker; never raises for a failing input.

    Args:
        job: The job.
        src: Absolute input path.
        outdir: Absolute OUTDIR (shared by driver and workers).
        out_rel: Main output path relative to OUTDIR, e.g. ``"a/clip.npy"``.

    Returns:
        ``{"status": "ok"|"error", "outputs": [paths relative to OUTDIR], "seconds", "cpu_seconds", "started",
        "error"}``; ``cpu_seconds`` is the CPU time of the worker process during the task (all its threads).
    """
    started = time.time()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    out = Path(outdir)
    final = out / out_rel
    tmp: Path | None = None
    try:
        partial = out / PARTIAL_DIR
        partial.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{final.name}.", dir=partial))
        dst = tmp / final.name
        record = job.func(Path(src), dst)
        if record is not None:
            if not isinstance(record, Mapping):
                raise TypeError(f"job {job.name!r} returned {type(record).__name__}, expected a mapping or None")
            rec = tmp / record_name(final.name, job.suffix)
            if rec.exists():
                raise BatchError(f"job {job.name!r} wrote {rec.name} itself and also returned a record")
            rec.write_text(json.dumps(_relocated(record, str(tmp), str(final.parent)), default=str))
        produced = sorted(p for p in tmp.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not produced:
            raise BatchError(f"job {job.name!r} wrote no output for {src}")
        outputs = []
        for p in produced:
            target = final.parent / p.relative_to(tmp)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(p, target)
            outputs.append(target.relative_to(out).as_posix())
        status, error = "ok", None
    except (Exception, SystemExit) as exc:  # a job calling sys.exit() is an error row, not a dead worker
        status, outputs = "error", []
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if tmp is not None:
            error = error.replace(str(tmp), str(final.parent))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return {"status": status, "outputs": outputs, "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - cpu0, "started": started, "error": error}
