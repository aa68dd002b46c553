"""A bounded buffer of packed frames between a producer (camera, file, socket) and the consumer.

The producer thread :meth:`FrameRing.put` s chunks of packed frames; the
consumer iterates over :class:`Chunk` s in camera order. Memory is bounded by
``capacity`` frames. When the consumer falls behind, the policy decides:

* ``"block"``: the producer waits (a file replay slows down; a socket feed
  pushes back on its sender through TCP flow control);
* ``"drop-oldest"``: the oldest queued chunks are discarded to make room, as a
  camera's own FIFO would. Every dropped frame is counted (:attr:`dropped`)
  and leaves a gap in the frame numbers the consumer sees, never silently.

Frames keep their camera index: the ``i``-th frame ever put is frame ``i``,
whether it is delivered or dropped.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .._checks import check_positive_int

__all__ = ["Chunk", "FrameRing", "POLICIES", "RingClosed"]

POLICIES = ("block", "drop-oldest")


class RingClosed(RuntimeError):
    """Raised by :meth:`FrameRing.put` after the consumer closed the ring."""


@dataclass(frozen=True)
class Chunk:
    """Consecutive packed frames: ``packed`` ``(n, frame_bytes)`` uint8 are frames ``first .. first + n - 1``.

    ``arrival`` is the :func:`time.perf_counter` time the chunk was put.
    """

    first: int
    packed: np.ndarray
    arrival: float

    @property
    def stop(self) -> int:
        return self.first + len(self.packed)


class FrameRing:
    """Bounded, thread-safe queue of :class:`Chunk` s (one producer, one consumer).

    >>> import numpy as np
    >>> ring = FrameRing(frame_bytes=4, capacity=8, policy="drop-oldest")
    >>> for _ in range(3):
    ...     _ = ring.put(np.zeros((4, 4), np.uint8))
    >>> ring.close()
    >>> [c.first for c in ring], ring.dropped
    ([4, 8], 4)
    """

    def __init__(self, *, frame_bytes: int, capacity: int, policy: str = "block") -> None:
        self.frame_bytes = check_positive_int(frame_bytes, "frame_bytes")
        self.capacity = check_positive_int(capacity, "capacity")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        self.policy = policy
        self._queue: collections.deque[Chunk] = collections.deque()
        self._queued = 0
        self._cond = threading.Condition()
        self._closed = False
        self._cancelled = False
        self._error: BaseException | None = None
        self.next_frame = 0
        #: Frames discarded by the drop-oldest policy.
        self.dropped = 0
        #: Most frames ever queued at once.
        self.high_water = 0
        #: Seconds the producer spent waiting for room (block policy).
        self.blocked_s = 0.0

    # ------------------------------------------------------------------ producer side
    def put(self, packed: np.ndarray, *, timeout: float | None = None) -> int:
        """Queue packed frames ``(n, frame_bytes)``; return how many frames were dropped to make room.

        The array is kept by reference (not copied): the producer must not
        write into it afterwards. A chunk longer than ``capacity`` is refused.
        """
        p = np.asarray(packed)
        if p.dtype != np.uint8 or p.ndim != 2 or p.shape[1] != self.frame_bytes:
            raise ValueError(f"chunk must be uint8 (n, {self.frame_bytes}), got {p.dtype} {p.shape}")
        n = len(p)
        if n > self.capacity:
            raise ValueError(f"chunk of {n} frames exceeds the ring capacity of {self.capacity} frames")
        dropped = 0
        with self._cond:
            if self._cancelled:
                raise RingClosed("the consumer closed the ring")
            if self._closed:
                raise RuntimeError("put() after close()")
            if self.policy == "block":
                t0 = time.perf_counter()
                deadline = None if timeout is None else t0 + timeout
                while self._queued + n > self.capacity and not self._cancelled:
                    left = None if deadline is None else deadline - time.perf_counter()
                    if left is not None and left <= 0:
                        raise TimeoutError(f"ring full for {timeout} s (consumer stalled)")
                    self._cond.wait(left)
                self.blocked_s += time.perf_counter() - t0
                if self._cancelled:
                    raise RingClosed("the consumer closed the ring")
            else:
                while self._queued + n > self.capacity:
                    old = self._queue.popleft()
                    self._queued -= len(old.packed)
                    dropped += len(old.packed)
                self.dropped += dropped
            if n:
                self._queue.append(Chunk(self.next_frame, p, time.perf_counter()))
                self._queued += n
                self.high_water = max(self.high_water, self._queued)
            self.next_frame += n
            self._cond.notify_all()
        return dropped

    def close(self, error: BaseException | None = None) -> None:
        """No more frames (the consumer drains what is queued); ``error`` is re-raised to the consumer."""
        with self._cond:
            self._closed = True
            if error is not None and self._error is None:
                self._error = error
            self._cond.notify_all()

    # ------------------------------------------------------------------ consumer side
    def get(self, timeout: float | None = None) -> Chunk | None:
        """The next chunk, or ``None`` once the ring is closed and empty (or after ``timeout`` s)."""
        with self._cond:
            deadline = None if timeout is None else time.perf_counter() + timeout
            while not self._queue and not self._closed:
                left = None if deadline is None else deadline - time.perf_counter()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            if self._queue:
                c = self._queue.popleft()
                self._queued -= len(c.packed)
                self._cond.notify_all()
                return c
            if self._error is not None:
                err, self._error = self._error, None
                raise err
            return None

    def cancel(self) -> None:
        """Consumer side: stop; the producer's next :meth:`put` raises :class:`RingClosed`."""
        with self._cond:
            self._cancelled = True
            self._closed = True
            self._queue.clear()
            self._queued = 0
            self._cond.notify_all()

    @property
    def queued(self) -> int:
        """Frames waiting for the consumer now."""
        return self._queued

    def __iter__(self) -> Iterator[Chunk]:
        while True:
            c = self.get()
            if c is None:
                return
            yield c
