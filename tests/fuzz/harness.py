"""The fuzz oracle: every call ends in a result or in ValueError/TypeError/OSError, within a time limit."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any, Callable

from .conftest import REPORT

ALLOWED = (ValueError, TypeError, OSError)
#: Seconds one input may take before it counts as a hang.
HANG_S = 60


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int = HANG_S):
    def fire(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


#: Long runs append a progress line per family every ``PROGRESS_EVERY`` inputs to this file, when set.
PROGRESS_ENV = "SPIKEVISION_FUZZ_PROGRESS"
PROGRESS_EVERY = 500


def _progress(family: str) -> None:
    log = os.environ.get(PROGRESS_ENV)
    n = sum(REPORT[family].values())
    if log and n % PROGRESS_EVERY == 0:
        counts = "  ".join(f"{k}={v}" for k, v in sorted(REPORT[family].items()))
        with open(log, "a") as fh:
            fh.write(f"{time.strftime('%H:%M:%S')} {family} {n} {counts}\n")


def outcome(family: str, fn: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``fn``; return ``(True, result)`` or ``(False, error)`` for allowed errors; anything else fails."""
    with time_limit():
        try:
            res = fn()
        except ALLOWED as exc:
            REPORT[family]["refused"] += 1
            _progress(family)
            return False, exc
    REPORT[family]["accepted"] += 1
    _progress(family)
    return True, res
