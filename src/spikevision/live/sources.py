"""Live sources of packed frames: file replay, a simulated camera, and a socket feed.

Every source is a *feed*: it has a :class:`~spikevision.live.wire.WireHeader`
(``height``, ``width``, ``rate_hz``, row order) and yields chunks of packed
frames ``(n, frame_bytes)`` uint8 in the ``.dat`` layout with
:meth:`chunks`. Feeds deliver as fast as they can; :func:`paced` releases
chunks at camera time (``speed=1``), at a multiple of it, or unpaced
(``speed=None``). A real camera is paced by nature; a socket feed is paced by
its sender.

>>> import numpy as np
>>> cam = SimulatedCamera(np.full((8, 8), 0.5), n_frames=100, seed=0)
>>> sum(len(c) for c in cam.chunks(max_frames=32)), cam.header.height
(100, 8)
"""

from __future__ import annotations

import mmap
import os
import socket
import time
from typing import Any, Iterable, Iterator, Protocol
from urllib.parse import urlparse

import numpy as np

from .._checks import check_positive_float, check_positive_int
from .._checks import SpikeFormatError
from ..io.dat import FileRows, PackedSource, pack_frames, unwrap_source
from ..stream import SpikeStream
from .wire import HEADER_SIZE, WireError, WireHeader

__all__ = [
    "Feed",
    "FileFeed",
    "SimulatedCamera",
    "SocketFeed",
    "parse_address",
    "paced",
    "send",
    "chunk_frames_for",
]

#: Bytes per chunk a feed aims for when unpaced (a few MB: large enough to amortise Python, small for cache).
CHUNK_BYTES = 4 << 20


class Feed(Protocol):
    """What the live pipeline needs from a source."""

    header: WireHeader

    def chunks(self, max_frames: int) -> Iterator[np.ndarray]:
        """Packed frames ``(n, frame_bytes)`` uint8, ``1 <= n <= max_frames``, in camera order."""
        ...

    def close(self) -> None: ...


def chunk_frames_for(header: WireHeader, *, speed: float | None, block_s: float = 1e-3) -> int:
    """Frames per chunk: ``block_s`` of camera time when paced (latency), about :data:`CHUNK_BYTES` unpaced."""
    by_bytes = max(1, CHUNK_BYTES // header.frame_bytes)
    if speed is None:
        return by_bytes
    return max(1, min(by_bytes, int(round(header.rate_hz * speed * block_s))))


# --------------------------------------------------------------------------- file replay
class FileFeed:
    """Replay a :class:`~spikevision.SpikeStream` opened from a file (``.dat``, ``.h5``, ``.npy``, ``.npz``).

    ``.dat`` and ``.h5`` frames are handed on as stored (a ``.dat`` file's
    chunks are views of its memory map: no copy); other sources are packed in
    the camera's bottom-up layout. ``loop=True`` starts over at the end;
    ``frames`` stops after that many frames (also across loops). Closing the
    feed closes the stream.

    >>> from spikevision.io import read_dat
    >>> feed = FileFeed(read_dat("clip.dat", sensor="vidar"), loop=True, frames=100_000)  # doctest: +SKIP
    """

    def __init__(self, stream: SpikeStream, *, loop: bool = False, frames: int | None = None) -> None:
        if not isinstance(stream, SpikeStream):
            raise TypeError(f"FileFeed replays a SpikeStream (e.g. spikevision.io.load(path)), got {type(stream).__name__}")
        self._stream = stream
        base, offset = unwrap_source(self._stream)
        self._packed = base if isinstance(base, PackedSource) else None
        self._offset = offset
        self.loop = bool(loop)
        self.frames = None if frames is None else check_positive_int(frames, "frames")
        n = self._stream.n_frames
        total = self.frames if self.frames is not None else (0 if loop else n)
        stored_upright = self._packed.upright if self._packed is not None else False
        self.header = WireHeader(height=self._stream.height, width=self._stream.width,
                                 rate_hz=float(self._stream.rate_hz), upright=stored_upright, n_frames=int(total))

    def _ranges(self, i: int, j: int, max_frames: int) -> Iterator[np.ndarray]:
        """Chunks of frames ``[i, j)``: mapped segments of a ``.dat`` file, else the stream's packed rows."""
        buf = self._packed.buffer if self._packed is not None else None
        if isinstance(buf, FileRows):  # a .dat file (read with pread elsewhere): map it here, no copy
            yield from _mapped_chunks(buf.path, self._offset + i, self._offset + j, buf.shape[1], max_frames,
                                      header=buf.offset)
            return
        if isinstance(buf, np.memmap) and getattr(buf, "filename", None) and buf.offset == 0:
            yield from _mapped_chunks(buf.filename, self._offset + i, self._offset + j, buf.shape[1], max_frames)
            return
        for a in range(i, j, max_frames):
            b = min(j, a + max_frames)
            if self._packed is not None:
                yield self._packed.raw(self._offset + a, self._offset + b)
            else:
                yield pack_frames(self._stream.frames(a, b), upright=False)

    def chunks(self, max_frames: int) -> Iterator[np.ndarray]:
        max_frames = check_positive_int(max_frames, "max_frames")
        n = self._stream.n_frames
        left = self.frames
        while True:
            stop = n if left is None else min(n, left)
            yield from self._ranges(0, stop, max_frames)
            if left is not None:
                left -= stop
            if not self.loop or (left is not None and left <= 0):
                return

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> "FileFeed":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _mapped_chunks(path: str | os.PathLike, start: int, stop: int, nb: int, max_frames: int,
                   segment_bytes: int = 64 << 20, *, header: int = 0) -> Iterator[np.ndarray]:
    """Frames ``[start, stop)`` of a file of ``nb``-byte frames after ``header`` bytes, as views of mapped segments.

    Each segment is mapped with ``MAP_POPULATE`` where the OS has it (its pages
    are read and mapped in one call); chunks are views of the mapping, not copies,
    and a segment is unmapped once its last chunk is released. The file's size
    is checked before each segment is mapped (a file that shrank is a
    :class:`~spikevision.SpikeFormatError`); a file truncated while one of its
    mapped segments is being read still ends the process with ``SIGBUS``, the
    price of not copying (the readers of :mod:`spikevision.io` copy with ``pread``).
    """
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    per_segment = max(1, segment_bytes // (nb * max_frames)) * max_frames
    with open(path, "rb") as fh:
        for s in range(start, stop, per_segment):
            e = min(stop, s + per_segment)
            size = os.fstat(fh.fileno()).st_size
            if size < header + e * nb:
                raise SpikeFormatError(f"{path} shrank while being replayed: frames up to {e} need "
                                       f"{header + e * nb} bytes, the file now has {size}")
            b0 = header + s * nb
            off = b0 - b0 % mmap.ALLOCATIONGRANULARITY
            m = mmap.mmap(fh.fileno(), header + e * nb - off, flags=flags, prot=mmap.PROT_READ, offset=off)
            seg = np.frombuffer(m, np.uint8, count=(e - s) * nb, offset=b0 - off).reshape(e - s, nb)
            for a in range(0, e - s, max_frames):
                yield seg[a : a + max_frames]
            del seg  # the mapping closes when the last chunk view is released


# --------------------------------------------------------------------------- simulated camera
class SimulatedCamera:
    """A camera watching ``scene`` through :func:`spikevision.sim.iter_spikes` (image, video, callable, scene).

    Frames are packed in the camera's bottom-up layout. ``n_frames`` is
    required for scenes without a natural length (callables, scenes).
    """

    def __init__(self, scene: Any, *, n_frames: int | None = None, height: int | None = None,
                 width: int | None = None, seed: int = 0, settings: Any = None, chunk: int = 256) -> None:
        from ..sim import REDS_PRESET
        from ..sim.simulate import _prepare

        self._settings = settings if settings is not None else REDS_PRESET
        self._args = dict(scene=scene, n_frames=n_frames, height=height, width=width, seed=seed, chunk=chunk)
        plan, settings, _, _ = _prepare(scene, self._settings, n_frames, None, seed, height, width, chunk)
        self.header = WireHeader(height=plan.height, width=plan.width, rate_hz=float(settings.rate_hz),
                                 upright=False, n_frames=int(plan.n_frames or 0))

    def chunks(self, max_frames: int) -> Iterator[np.ndarray]:
        from ..sim import iter_spikes

        max_frames = check_positive_int(max_frames, "max_frames")
        a = self._args
        for _, spikes in iter_spikes(a["scene"], settings=self._settings, n_frames=a["n_frames"], seed=a["seed"],
                                     height=a["height"], width=a["width"], chunk=a["chunk"]):
            packed = pack_frames(spikes)
            for i in range(0, len(packed), max_frames):
                yield packed[i : i + max_frames]

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- sockets
def parse_address(url: str) -> tuple[int, Any]:
    """``tcp://HOST:PORT`` or ``unix:///PATH`` → ``(socket family, address)``."""
    u = urlparse(str(url))
    if u.scheme == "tcp":
        if not u.hostname or u.port is None:
            raise ValueError(f"expected tcp://HOST:PORT, got {url!r}")
        return socket.AF_INET6 if ":" in u.hostname else socket.AF_INET, (u.hostname, u.port)
    if u.scheme == "unix":
        path = (u.netloc + u.path) if u.netloc else u.path
        if not path:
            raise ValueError(f"expected unix:///PATH, got {url!r}")
        return socket.AF_UNIX, path
    raise ValueError(f"live address must start with tcp:// or unix://, got {url!r}")


class SocketFeed:
    """Receive a feed in the wire format (:mod:`spikevision.live.wire`): listen, accept one sender, read.

    >>> feed = SocketFeed("tcp://127.0.0.1:0")          # doctest: +SKIP
    >>> feed.address                                      # doctest: +SKIP
    'tcp://127.0.0.1:40123'
    >>> feed.accept(timeout=30).height                    # doctest: +SKIP
    250
    """

    def __init__(self, url: str, *, backlog: int = 1) -> None:
        family, addr = parse_address(url)
        self._family = family
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        if family != socket.AF_UNIX:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        elif os.path.exists(addr):
            raise FileExistsError(f"unix socket path already exists: {addr}")
        self._unix_path = addr if family == socket.AF_UNIX else None
        self._listener.bind(addr)
        self._listener.listen(backlog)
        self._conn: socket.socket | None = None
        self.header: WireHeader | None = None  # type: ignore[assignment]

    @property
    def address(self) -> str:
        if self._family == socket.AF_UNIX:
            return f"unix://{self._unix_path}"
        host, port = self._listener.getsockname()[:2]
        return f"tcp://{host}:{port}"

    def accept(self, *, timeout: float | None = None) -> WireHeader:
        """Wait for a sender (``timeout`` s), read and check its header."""
        self._listener.settimeout(timeout)
        try:
            conn, _ = self._listener.accept()
        except socket.timeout as exc:
            raise TimeoutError(f"no sender connected to {self.address} within {timeout} s") from exc
        conn.settimeout(timeout)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._conn = conn
        raw = _recv_exact(conn, HEADER_SIZE)
        if len(raw) < HEADER_SIZE:
            raise WireError(f"sender closed after {len(raw)} of the {HEADER_SIZE} header bytes")
        self.header = WireHeader.decode(raw)
        conn.settimeout(None)
        return self.header

    def chunks(self, max_frames: int) -> Iterator[np.ndarray]:
        """Whole frames as they arrive (at most ``max_frames`` per chunk) until the sender closes."""
        if self._conn is None or self.header is None:
            raise RuntimeError("call accept() before chunks()")
        max_frames = check_positive_int(max_frames, "max_frames")
        nb = self.header.frame_bytes
        conn = self._conn
        carry = b""
        received = 0
        buf = np.empty(max_frames * nb, np.uint8)
        while True:
            mv = memoryview(buf)
            filled = len(carry)
            mv[:filled] = carry
            while filled < nb:
                got = conn.recv_into(mv[filled:])
                if got == 0:
                    if filled:
                        raise WireError(f"feed closed inside frame {received}: {filled} of its {nb} bytes arrived")
                    return
                filled += got
            whole = filled // nb
            carry = bytes(mv[whole * nb : filled])
            received += whole
            if 2 * whole >= max_frames:  # hand the buffer on, start a new one
                out, buf = buf, np.empty(max_frames * nb, np.uint8)
                yield out[: whole * nb].reshape(whole, nb)
            else:  # a small read: copy it, so a queued chunk never pins a large buffer
                yield buf[: whole * nb].reshape(whole, nb).copy()

    def close(self) -> None:
        for s in (self._conn, self._listener):
            if s is not None:
                s.close()
        self._conn = None
        if self._unix_path and os.path.exists(self._unix_path):
            os.unlink(self._unix_path)
            self._unix_path = None

    def __enter__(self) -> "SocketFeed":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        b = conn.recv(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


# --------------------------------------------------------------------------- pacing and sending
def paced(chunks: Iterable[np.ndarray], *, rate_hz: float, speed: float | None,
          clock: Any = time.perf_counter, sleep: Any = time.sleep) -> Iterator[np.ndarray]:
    """Release each chunk when its last frame has been exposed: at ``(frames so far) / (rate_hz * speed)`` s.

    ``speed=None`` passes chunks through unpaced.
    """
    if speed is None:
        yield from chunks
        return
    rate = check_positive_float(rate_hz, "rate_hz") * check_positive_float(speed, "speed")
    t0 = clock()
    done = 0
    for c in chunks:
        done += len(c)
        wait = t0 + done / rate - clock()
        if wait > 0:
            sleep(wait)
        yield c


def send(feed: Feed, url: str, *, speed: float | None = 1.0, connect_timeout: float = 10.0,
         block_s: float = 1e-3) -> int:
    """Connect to a receiver at ``url`` and send ``feed`` in the wire format; return the frames sent."""
    family, addr = parse_address(url)
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(connect_timeout)
        try:
            s.connect(addr)
        except OSError as exc:
            raise ConnectionError(f"cannot connect to {url}: {exc}") from exc
        s.settimeout(None)
        if family != socket.AF_UNIX:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        s.sendall(feed.header.encode())
        sent = 0
        n = chunk_frames_for(feed.header, speed=speed, block_s=block_s)
        for c in paced(feed.chunks(n), rate_hz=feed.header.rate_hz, speed=speed):
            s.sendall(memoryview(np.ascontiguousarray(c)).cast("B"))
            sent += len(c)
        s.shutdown(socket.SHUT_WR)
    return sent
