import struct

import pytest

from spikevision.live import HEADER_SIZE, WireError, WireHeader


def test_roundtrip_and_size():
    h = WireHeader(height=1000, width=1000, rate_hz=40000.0, upright=True, n_frames=123)
    raw = h.encode()
    assert len(raw) == HEADER_SIZE == 32
    assert raw[:4] == b"SVLF"
    assert WireHeader.decode(raw) == h
    assert h.frame_bytes == 125000


def test_known_bytes():
    raw = WireHeader(height=2, width=3, rate_hz=20000.0).encode()
    assert raw == b"SVLF" + struct.pack("<HHIIdQ", 1, 0, 2, 3, 20000.0, 0)


@pytest.mark.parametrize("mutate, msg", [
    (lambda b: b"XXXX" + b[4:], "magic"),
    (lambda b: b[:4] + struct.pack("<H", 9) + b[6:], "version"),
    (lambda b: b[:6] + struct.pack("<H", 6) + b[8:], "flags"),
    (lambda b: b[:8] + struct.pack("<I", 0) + b[12:], "height"),
    (lambda b: b[:16] + struct.pack("<d", -1.0) + b[24:], "rate_hz"),
    (lambda b: b[:20], "32 bytes"),
])
def test_bad_headers(mutate, msg):
    raw = WireHeader(height=4, width=4, rate_hz=100.0).encode()
    with pytest.raises(WireError, match=msg):
        WireHeader.decode(mutate(raw))
    assert issubclass(WireError, ValueError)
