"""``run``: a job over many inputs on a Dask cluster, resumable, with a manifest."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Iterator, Sequence

from .engine import available_cores, connect, visible_gpus
from .inputs import Input, find_inputs, output_names
from .job import PARTIAL_DIR, BatchError, Job, record_name, run_task
from .manifest import MANIFEST_NAME, read_manifest, row_line, write_manifest, write_table

__all__ = ["run", "summarize"]

LOCK_NAME = ".batch.lock"


@contextlib.contextmanager
def _locked(outdir: Path) -> Iterator[None]:
    fh = open(outdir / LOCK_NAME, "a")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BlockingIOError(f"another spikevision batch is writing to {outdir}; wait for it or use another "
                                  "output folder") from None
        yield
    finally:
        fh.close()


def _fingerprint(path: Path) -> tuple[int | None, int | None]:
    try:
        st = path.stat()
    except OSError:
        return None, None
    return st.st_size, st.st_mtime_ns


def _carried(prev: dict | None, job: Job, size: int | None, mtime: int | None, outdir: Path,
             retry_errors: bool) -> dict | None:
    """The row this run keeps for an input without running it, or ``None`` to run it."""
    if prev is None or size is None or prev.get("job") != job.identity:
        return None
    if prev.get("size") != size or prev.get("mtime_ns") != mtime:
        return None
    if prev["status"] == "error":
        return None if retry_errors else {**prev, "seconds": 0.0, "cpu_seconds": 0.0, "started": None}
    outputs = prev.get("outputs") or []
    if outputs and all((outdir / o).is_file() for o in outputs):
        return {**prev, "status": "skipped", "seconds": 0.0, "cpu_seconds": 0.0, "started": None, "error": None}
    return None


def _gpu_list(gpus: int | str | None) -> list[str]:
    if gpus in (None, 0, "0"):
        return []
    seen = visible_gpus()
    if gpus == "auto":
        if not seen:
            raise BatchError("gpus='auto' but no GPU is visible (CUDA_VISIBLE_DEVICES / nvidia-smi)")
        return seen
    try:
        n = int(gpus)
    except (TypeError, ValueError):
        n = -1
    if n < 0 or isinstance(gpus, bool):
        raise BatchError(f"gpus must be >= 0 or 'auto', got {gpus!r}")
    if n > len(seen):
        raise BatchError(f"asked for {n} GPU(s), {len(seen)} visible")
    return seen[:n]


def _gather_table(outdir: Path, job: Job, rows: list[dict]) -> Path | None:
    records = []
    for row in rows:
        if row["status"] not in ("ok", "skipped"):
            continue
        main = next((o for o in row["outputs"] if o.endswith(job.suffix)), None)
        if main is None:
            continue
        rec = (Path(main).parent / record_name(Path(main).name, job.suffix)).as_posix()
        if rec not in row["outputs"]:
            continue
        try:
            data = json.loads((outdir / rec).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            records.append((row["input"], data))
    return write_table(outdir / f"{job.name}.csv", records)


def summarize(rows: Sequence[dict]) -> dict[str, int]:
    """Counts of ``ok``, ``error`` and ``skipped`` rows."""
    counts = {"ok": 0, "error": 0, "skipped": 0}
    for r in rows:
        counts[r["status"]] += 1
    return counts


def run(job: Job, inputs: Sequence[str | os.PathLike] | str | os.PathLike, out: str | os.PathLike, *,
        workers: int | None = None, address: str | None = None, gpus: int | str | None = 0,
        threads_per_worker: int | None = None, retry_errors: bool = False, progress: bool = False) -> list[dict]:
    """Run ``job`` on every input, in parallel on a Dask cluster, and return the manifest rows.

    Outputs go under ``out``, mirroring the inputs' relative names
    (:func:`~spikevision.batch.find_inputs`); ``out/manifest.jsonl`` gets one row per input
    (:mod:`spikevision.batch.manifest`), and the records the job returned are gathered into
    ``out/<job.name>.csv``. A rerun skips inputs whose outputs are all there and whose size,
    modification time and ``job.identity`` are unchanged, and keeps their earlier errors
    unless ``retry_errors``. An input that fails is an ``error`` row; the batch goes on. A
    worker process that dies has its task rerun on another worker (up to Dask's
    ``distributed.scheduler.allowed-failures``, 3, after which the input is an error row).

    Args:
        job: What to do with one input (:class:`~spikevision.batch.Job`).
        inputs: Globs, folders, list files or files (:func:`~spikevision.batch.find_inputs`).
        out: Output folder (created).
        workers: Local worker processes (default: one per core, at most one per input to run).
        address: Join this Dask scheduler (``tcp://host:port`` or a scheduler file) instead of
            starting a local cluster; its workers must share the filesystem.
        gpus: ``0`` (CPU), ``N`` or ``"auto"``: one worker per GPU, each seeing only its device;
            every task asks the cluster for the resource ``GPU=1``.
        threads_per_worker: Numerical-library threads of each local worker
            (default ``cores // workers``).
        retry_errors: Run again the inputs that failed before.
        progress: Show a tqdm bar (stderr) with ok/error/skipped counts and ETA.

    Returns:
        One dict per input, in input order: ``input`` (absolute path), ``status``
        (``ok``/``error``/``skipped``), ``outputs`` (relative to ``out``), ``seconds``,
        ``error`` (the message, or ``None``), ``cpu_seconds``, ``started``, ``job``, ``size``, ``mtime_ns``.

    Raises:
        KeyboardInterrupt: On Ctrl-C, after the cluster has stopped and the manifest holds the
            rows finished so far; a rerun resumes.

    Example:
        >>> rows = run(Job("count", count, suffix=".json"), ["rec/*.dat"], "out", workers=2)  # doctest: +SKIP
        >>> sum(r["status"] == "ok" for r in rows)  # doctest: +SKIP
        40

    Scripts that call it need the ``if __name__ == "__main__":`` guard (worker processes are spawned).
    """
    if not isinstance(job, Job):
        raise TypeError(f"job must be a spikevision.batch.Job, got {type(job).__name__}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise BatchError(f"workers must be a positive integer, got {workers!r}")
    if threads_per_worker is not None and (not isinstance(threads_per_worker, int) or threads_per_worker < 1):
        raise BatchError(f"threads_per_worker must be a positive integer, got {threads_per_worker!r}")
    outdir = Path(os.path.abspath(out))
    found = find_inputs(inputs, exclude=outdir)
    names = output_names(found, job.suffix)
    gpu_ids = _gpu_list(gpus)
    if gpu_ids and address is None and workers is not None and workers != len(gpu_ids):
        raise BatchError(f"with GPUs the local cluster has one worker per GPU ({len(gpu_ids)}), not {workers}")
    outdir.mkdir(parents=True, exist_ok=True)
    manifest = outdir / MANIFEST_NAME
    with _locked(outdir):
        shutil.rmtree(outdir / PARTIAL_DIR, ignore_errors=True)  # left by workers killed in an earlier run
        previous = read_manifest(manifest)
        rows: list[dict | None] = []
        todo: list[tuple[int, Input, str, int | None, int | None]] = []
        for i, (inp, name) in enumerate(zip(found, names)):
            size, mtime = _fingerprint(inp.path)
            kept = _carried(previous.get(str(inp.path)), job, size, mtime, outdir, retry_errors)
            rows.append(kept)
            if kept is None:
                todo.append((i, inp, name, size, mtime))
        try:
            if todo:
                _execute(job, todo, rows, outdir, manifest, workers=workers, address=address, gpu_ids=gpu_ids,
                         threads_per_worker=threads_per_worker, progress=progress)
        finally:
            done = [r for r in rows if r is not None]
            write_manifest(manifest, done)
            shutil.rmtree(outdir / PARTIAL_DIR, ignore_errors=True)
        _gather_table(outdir, job, done)
    return done


def _execute(job: Job, todo: list, rows: list, outdir: Path, manifest: Path, *, workers: int | None,
             address: str | None, gpu_ids: list[str], threads_per_worker: int | None, progress: bool) -> None:
    from distributed import as_completed

    from ..progress import progress_bar

    cores = available_cores()
    n_workers = len(gpu_ids) if gpu_ids else (workers or min(cores, len(todo)))
    threads = threads_per_worker or max(1, cores // n_workers)
    counts = summarize([r for r in rows if r is not None])
    bar = progress_bar(total=len(rows), desc=f"batch {job.name}", enabled=progress, unit="input")
    bar.update(len(rows) - len(todo))
    bar.set_postfix(counts, refresh=False)
    resources = {"GPU": 1} if gpu_ids else None
    with connect(workers=n_workers, threads=threads, gpus=gpu_ids, address=address, outdir=outdir) as client, \
            open(manifest, "a", encoding="utf-8") as log:
        futures = {}
        try:
            for i, inp, name, size, mtime in todo:
                fut = client.submit(run_task, job, str(inp.path), str(outdir), name, pure=False,
                                    key=f"{job.name}-{i}-{os.urandom(4).hex()}", resources=resources)
                futures[fut] = (i, inp, size, mtime)
            for fut in as_completed(list(futures), loop=client.loop):
                i, inp, size, mtime = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:  # KilledWorker after repeated worker deaths, a lost scheduler ...
                    res = {"status": "error", "outputs": [], "seconds": 0.0, "cpu_seconds": 0.0, "started": None,
                           "error": f"{type(exc).__name__}: {exc}"}
                row = {"input": str(inp.path), "status": res["status"], "outputs": res["outputs"],
                       "seconds": round(res["seconds"], 4), "error": res["error"],
                       "cpu_seconds": round(res["cpu_seconds"], 4), "started": res["started"],
                       "job": job.identity, "size": size, "mtime_ns": mtime}
                rows[i] = row
                log.write(row_line(row))
                log.flush()
                counts[row["status"]] += 1
                bar.set_postfix(counts, refresh=False)
                bar.update(1)
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:
                client.cancel(pending)
            bar.close()
