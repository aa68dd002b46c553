"""How many CPU threads learned inference uses: the idle cores, measured, unless told.

Why: torch's CPU kernels split each operation over their threads and wait for
the slowest. When another process keeps one of the cores busy, the thread on
that core runs at a fraction of its speed and every operation waits for it: on
a 2-core machine with one core loaded, the CNN took 1.6 s per 250 x 400 frame
with 2 threads against 0.13 s with 1 (measured; see docs/real-recordings.md).

The rule (:func:`inference_threads`)
------------------------------------
1. ``threads=`` when given (an int >= 1);
2. else the environment variable ``SPIKEVISION_THREADS`` when set;
3. else the cores this process may run on (``os.sched_getaffinity``) minus the
   ones that are busy, at least 1. A core is busy when it spent more than half
   of a 50 ms sample outside the idle state (``/proc/stat``; where that file
   does not exist, the 1-minute load average rounded stands for the busy
   cores). The sample is reused for 10 s.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from ._checks import check_positive_int

__all__ = ["ENV_THREADS", "busy_cores", "inference_threads"]

#: Environment variable that fixes the thread count.
ENV_THREADS = "SPIKEVISION_THREADS"
_SAMPLE_S = 0.05
_REUSE_S = 10.0
_LOCK = threading.Lock()
_CACHE: dict[str, Any] = {"time": -1e9, "value": None}


def _allowed_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return list(range(os.cpu_count() or 1))


def _cpu_times() -> dict[int, tuple[int, int]]:
    """``{cpu: (busy, total)}`` jiffies from /proc/stat."""
    out = {}
    with open("/proc/stat") as fh:
        for line in fh:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            name, *vals = line.split()
            v = [int(x) for x in vals]
            idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
            out[int(name[3:])] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


def busy_cores(cpus: list[int] | None = None, *, sample_s: float = _SAMPLE_S) -> int:
    """Cores among ``cpus`` (default: this process's) busy more than half of a short sample."""
    cpus = _allowed_cpus() if cpus is None else cpus
    try:
        a = _cpu_times()
        time.sleep(sample_s)
        b = _cpu_times()
    except (OSError, ValueError):
        try:
            return min(len(cpus), int(round(os.getloadavg()[0])))
        except OSError:
            return 0
    n = 0
    for c in cpus:
        if c in a and c in b:
            total = b[c][1] - a[c][1]
            if total > 0 and (b[c][0] - a[c][0]) / total > 0.5:
                n += 1
    return n


def inference_threads(threads: int | None = None) -> int:
    """Threads for learned inference by the rule of the module docstring.

    >>> inference_threads(3)
    3
    """
    if threads is not None:
        return check_positive_int(threads, "threads")
    env = os.environ.get(ENV_THREADS)
    if env:
        try:
            return check_positive_int(int(env), ENV_THREADS)
        except ValueError:
            raise ValueError(f"{ENV_THREADS} must be a positive integer, got {env!r}") from None
    with _LOCK:
        now = time.monotonic()
        if _CACHE["value"] is None or now - _CACHE["time"] > _REUSE_S:
            cpus = _allowed_cpus()
            _CACHE["value"] = max(1, len(cpus) - busy_cores(cpus))
            _CACHE["time"] = now
        return int(_CACHE["value"])
