"""The fuzz oracle: every call ends in a result or in ValueError/TypeError/OSError, within a time limit."""

from __future__ import annotations

import contextlib
import signal
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


def outcome(family: str, fn: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``fn``; return ``(True, result)`` or ``(False, error)`` for allowed errors; anything else fails."""
    with time_limit():
        try:
            res = fn()
        except ALLOWED as exc:
            REPORT[family]["refused"] += 1
            return False, exc
    REPORT[family]["accepted"] += 1
    return True, res
