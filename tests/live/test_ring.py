import threading
import time

import numpy as np
import pytest

from spikevision.live import FrameRing, RingClosed


def chunk(n, nb=4, v=0):
    return np.full((n, nb), v, np.uint8)


def test_block_policy_delivers_everything_in_order():
    ring = FrameRing(frame_bytes=4, capacity=8, policy="block")

    def produce():
        for i in range(20):
            ring.put(chunk(3, v=i))
        ring.close()

    t = threading.Thread(target=produce)
    t.start()
    got = []
    for c in ring:
        time.sleep(0.001)
        got.append((c.first, int(c.packed[0, 0])))
    t.join()
    assert got == [(3 * i, i) for i in range(20)]
    assert ring.dropped == 0 and ring.high_water <= 8


def test_drop_oldest_counts_and_keeps_numbers():
    ring = FrameRing(frame_bytes=4, capacity=6, policy="drop-oldest")
    dropped = [ring.put(chunk(2, v=i)) for i in range(5)]
    ring.close()
    firsts = [c.first for c in ring]
    assert firsts == [4, 6, 8]
    assert ring.dropped == 4 == sum(dropped)


def test_empty_chunk_and_bad_input():
    ring = FrameRing(frame_bytes=4, capacity=4)
    assert ring.put(chunk(0)) == 0
    with pytest.raises(ValueError, match="uint8"):
        ring.put(np.zeros((1, 5), np.uint8))
    with pytest.raises(ValueError, match="exceeds"):
        ring.put(chunk(5))
    with pytest.raises(ValueError, match="policy"):
        FrameRing(frame_bytes=4, capacity=4, policy="newest")
    with pytest.raises(ValueError):
        FrameRing(frame_bytes=0, capacity=4)


def test_block_timeout_and_cancel():
    ring = FrameRing(frame_bytes=4, capacity=2)
    ring.put(chunk(2))
    with pytest.raises(TimeoutError):
        ring.put(chunk(1), timeout=0.05)
    ring.cancel()
    with pytest.raises(RingClosed):
        ring.put(chunk(1))


def test_producer_error_reaches_consumer():
    ring = FrameRing(frame_bytes=4, capacity=4)
    ring.put(chunk(1))
    ring.close(OSError("camera unplugged"))
    assert ring.get().first == 0
    with pytest.raises(OSError, match="unplugged"):
        ring.get()


def test_get_timeout():
    assert FrameRing(frame_bytes=4, capacity=4).get(timeout=0.01) is None
