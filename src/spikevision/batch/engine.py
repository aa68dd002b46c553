"""The Dask distributed cluster a batch runs on: an embedded local one, or an existing one.

Local: a scheduler in the calling process and N worker processes, each under a
nanny (which restarts a worker that dies), each with one task slot and
``cores // N`` threads for the numerical libraries (``OMP_NUM_THREADS`` and
friends, set before the worker starts), so N workers never oversubscribe the
cores. With GPUs: one worker per GPU, each seeing only its own device
(``CUDA_VISIBLE_DEVICES``) and offering the resource ``GPU=1``, which every
task asks for.

Existing cluster (``address``): ``tcp://host:port`` or a scheduler file written by
``dask scheduler --scheduler-file FILE``; its workers must see the same paths as
the driver (a shared filesystem).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

from .job import BatchError

__all__ = ["THREAD_VARIABLES", "available_cores", "visible_gpus", "thread_environment", "connect"]

#: Environment variables that size the thread pools of numpy's BLAS, OpenMP (torch), numba, numexpr.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def import_distributed() -> Any:
    """``distributed``, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("spikevision batch runs on Dask distributed, which is not installed: "
                          "pip install 'spikevision[batch]'") from exc
    return distributed


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def visible_gpus() -> list[str]:
    """CUDA device ids this process may use: ``CUDA_VISIBLE_DEVICES`` if set, else ``nvidia-smi -L``."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, _ in enumerate(line for line in out.splitlines() if line.startswith("GPU "))]


def thread_environment(threads: int) -> dict[str, str]:
    """The variables of :data:`THREAD_VARIABLES`, all set to ``threads``."""
    return {k: str(int(threads)) for k in THREAD_VARIABLES}


def _local_cluster(n_workers: int, threads: int, gpus: list[str]) -> Any:
    import_distributed()
    from distributed import Nanny, Scheduler, SpecCluster

    memory = None
    with contextlib.suppress(Exception):
        import psutil

        memory = int(psutil.virtual_memory().total // n_workers)
    # Every server (scheduler, nannies, workers, their HTTP health routes) listens on loopback only.
    base = {"nthreads": 1, "host": "127.0.0.1", "dashboard": False, "dashboard_address": "127.0.0.1:0",
            "silence_logs": logging.ERROR,
            "memory_limit": memory if memory else "auto"}
    env = thread_environment(threads)
    workers = {}
    for i in range(n_workers):
        opts = dict(base, env=dict(env))
        if gpus:
            opts["env"]["CUDA_VISIBLE_DEVICES"] = gpus[i]
            opts["resources"] = {"GPU": 1}
        workers[i] = {"cls": Nanny, "options": opts}
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "port": 0, "dashboard": False,
                                               "dashboard_address": "127.0.0.1:0"}}
    return SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.ERROR, name="spikevision-batch")


def _check_shared_folder(client: Any, outdir: Path) -> None:
    seen = client.run(os.path.isdir, str(outdir))
    blind = sorted(w for w, ok in seen.items() if not ok)
    if blind:
        raise BatchError(f"worker(s) {', '.join(blind)} cannot see {outdir}: the output folder must be on a "
                         "filesystem shared by the driver and every worker")


@contextlib.contextmanager
def connect(*, workers: int, threads: int, gpus: list[str], address: str | None, outdir: Path,
            timeout_s: float = 60.0) -> Iterator[Any]:
    """A ``distributed.Client`` on a local cluster (started and stopped here) or on ``address``.

    Raises:
        BatchError: The cluster has no worker within ``timeout_s``, no worker offers a GPU
            when ``gpus`` is given, or a worker cannot see ``outdir``.
    """
    import_distributed()
    from distributed import Client

    if address is None:
        cluster = _local_cluster(workers, threads, gpus)
        try:
            client = Client(cluster, set_as_default=False)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()
        return
    kw: dict[str, Any] = {"scheduler_file": address} if Path(address).is_file() else {"address": address}
    try:
        client = Client(timeout=timeout_s, set_as_default=False, **kw)
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout_s)
        except TimeoutError:
            raise BatchError(f"the Dask cluster at {address} has no worker (waited {timeout_s:g} s)") from None
        if gpus:
            try:
                info = client.scheduler_info(n_workers=-1)["workers"]
            except TypeError:  # distributed before 2025 lists every worker without being asked
                info = client.scheduler_info()["workers"]
            if not any(w.get("resources", {}).get("GPU", 0) >= 1 for w in info.values()):
                raise BatchError(f"no worker of {address} offers a GPU: start them with "
                                 "`dask worker ADDRESS --nthreads 1 --resources GPU=1` (one per GPU)")
        _check_shared_folder(client, outdir)
        yield client
    finally:
        client.close()
