"""The live wire format: a 32-byte header, then packed frames exactly as in a ``.dat`` file.

A sender (a camera driver, ``spikevision live send``) connects to a receiver
(``spikevision live record`` / ``replay``) over TCP or a Unix socket and writes::

    offset size type      field
    0      4    bytes     magic  b"SVLF"
    4      2    uint16    version (1)
    6      2    uint16    flags: bit 0 = rows stored top-down (0: bottom-up, the camera's .dat layout)
    8      4    uint32    height (pixels)
    12     4    uint32    width (pixels)
    16     8    float64   rate_hz (frames per second of camera time)
    24     8    uint64    n_frames announced (0 = unbounded / unknown)

all little-endian. Then frames follow back to back, each ``frame_bytes(H, W)``
bytes in the ``.dat`` bit layout of :mod:`spikevision.io.dat` (with the row
order of flag bit 0), until the sender closes the connection. A connection
that closes inside a frame is an error on the receiver, as is a header with
another magic, a newer version, unknown flags or a zero size.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from .._checks import SpikeFormatError
from ..io.dat import frame_bytes

__all__ = ["MAGIC", "VERSION", "HEADER_SIZE", "WireHeader", "WireError"]

MAGIC = b"SVLF"
VERSION = 1
_STRUCT = struct.Struct("<4sHHIIdQ")
HEADER_SIZE = _STRUCT.size  # 32
_FLAG_TOP_DOWN = 1


class WireError(SpikeFormatError):
    """A live feed broke the wire format (bad header, connection closed inside a frame)."""


@dataclass(frozen=True)
class WireHeader:
    """What a receiver needs to decode the frames of a live feed.

    >>> h = WireHeader(height=250, width=400, rate_hz=20000.0)
    >>> WireHeader.decode(h.encode()) == h, len(h.encode()), h.frame_bytes
    (True, 32, 12500)
    """

    height: int
    width: int
    rate_hz: float
    upright: bool = False
    n_frames: int = 0

    def __post_init__(self) -> None:
        for name in ("height", "width"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 < v < 2**32:
                raise WireError(f"header {name} must be an integer in [1, 2**32), got {v!r}")
        if not (isinstance(self.rate_hz, (int, float)) and math.isfinite(self.rate_hz) and self.rate_hz > 0):
            raise WireError(f"header rate_hz must be a positive finite number, got {self.rate_hz!r}")
        if not isinstance(self.n_frames, int) or not 0 <= self.n_frames < 2**64:
            raise WireError(f"header n_frames must be an integer >= 0, got {self.n_frames!r}")

    @property
    def frame_bytes(self) -> int:
        return frame_bytes(self.height, self.width)

    def encode(self) -> bytes:
        flags = _FLAG_TOP_DOWN if self.upright else 0
        return _STRUCT.pack(MAGIC, VERSION, flags, self.height, self.width, float(self.rate_hz), self.n_frames)

    @classmethod
    def decode(cls, data: bytes) -> "WireHeader":
        if len(data) != HEADER_SIZE:
            raise WireError(f"live feed header must be {HEADER_SIZE} bytes, got {len(data)}")
        magic, version, flags, h, w, rate, n = _STRUCT.unpack(data)
        if magic != MAGIC:
            raise WireError(f"not a spikevision live feed: magic {magic!r}, expected {MAGIC!r}")
        if version > VERSION or version == 0:
            raise WireError(f"live feed version {version} is not supported (this reader: {VERSION})")
        if flags & ~_FLAG_TOP_DOWN:
            raise WireError(f"live feed header has unknown flags 0x{flags:04x}")
        return cls(height=h, width=w, rate_hz=rate, upright=bool(flags & _FLAG_TOP_DOWN), n_frames=n)
