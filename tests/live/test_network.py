"""Loopback feeds: the wire format end to end, recorded byte for byte."""

import socket
import threading

import numpy as np
import pytest

from spikevision.io import pack_frames, read_dat, read_h5, write_dat
from spikevision.live import FileFeed, Rotation, SocketFeed, WireError, WireHeader, record, send


def _serve_in_thread(url, fn):
    feed = SocketFeed(url)
    result = {}

    def run():
        try:
            feed.accept(timeout=30)
            result["value"] = fn(feed)
        except BaseException as exc:  # reported by the test
            result["error"] = exc
        finally:
            feed.close()

    t = threading.Thread(target=run)
    t.start()
    return feed.address, t, result


def test_tcp_20000_frames_at_camera_rate_recorded_byte_exact(make_frames, tmp_path):
    # 20,000 frames at 1x camera rate (20 kHz: one second), 32 x 64 pixels.
    f = make_frames(2000, 32, 64, 0.2)
    src = write_dat(tmp_path / "src.dat", f)
    out = tmp_path / "rec.dat"
    addr, t, res = _serve_in_thread("tcp://127.0.0.1:0", lambda feed: record(feed, out))
    with FileFeed(read_dat(src, height=32, width=64), loop=True, frames=20_000) as feed:
        sent = send(feed, addr, speed=1.0)
    t.join(60)
    assert "error" not in res, res.get("error")
    segments, report = res["value"]
    assert sent == 20_000 and report.frames == 20_000 and report.dropped == 0
    assert segments == [out]
    assert out.read_bytes() == src.read_bytes() * 10


@pytest.mark.parametrize("scheme", ["tcp", "unix"])
def test_rotated_segments_and_h5(make_frames, tmp_path, scheme):
    pytest.importorskip("h5py")
    f = make_frames(1000, 10, 12)
    src = write_dat(tmp_path / "src.dat", f)
    url = "tcp://127.0.0.1:0" if scheme == "tcp" else f"unix://{tmp_path / 'feed.sock'}"
    out = tmp_path / "rec.h5"
    addr, t, res = _serve_in_thread(url, lambda feed: record(feed, out, rotation=Rotation(max_seconds=0.0125)))
    with FileFeed(read_dat(src, height=10, width=12, rate_hz=20000.0)) as feed:
        send(feed, addr, speed=None)
    t.join(60)
    assert "error" not in res, res.get("error")
    segments, _ = res["value"]
    assert [s.name for s in segments] == [f"rec_{i:04d}.h5" for i in range(4)]
    parts = []
    for s in segments:
        with read_h5(s) as st:
            assert st.n_frames == 250 and st.rate_hz == 20000.0
            parts.append(st.to_numpy())
    np.testing.assert_array_equal(np.concatenate(parts), f)
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_max_frames_stops_the_recording(make_frames, tmp_path):
    f = make_frames(500, 8, 8)
    src = write_dat(tmp_path / "src.dat", f)
    out = tmp_path / "rec.dat"
    addr, t, res = _serve_in_thread("tcp://127.0.0.1:0", lambda feed: record(feed, out, max_frames=123))
    with FileFeed(read_dat(src, height=8, width=8)) as feed:
        try:
            send(feed, addr, speed=None)
        except OSError:
            pass  # the receiver may hang up first
    t.join(60)
    assert "error" not in res, res.get("error")
    with read_dat(out, height=8, width=8) as st:
        np.testing.assert_array_equal(st.to_numpy(), f[:123])


def _raw_sender(addr, payload):
    host, port = addr[len("tcp://"):].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(payload)


def test_truncated_frame_is_an_error_and_leaves_no_file(tmp_path):
    out = tmp_path / "rec.dat"
    addr, t, res = _serve_in_thread("tcp://127.0.0.1:0", lambda feed: record(feed, out))
    hdr = WireHeader(height=4, width=8, rate_hz=100.0)
    _raw_sender(addr, hdr.encode() + b"\x01" * (3 * 4 + 2))  # 3 frames and half of one
    t.join(30)
    assert isinstance(res.get("error"), WireError)
    assert "inside frame 3" in str(res["error"])
    assert not out.exists() and not list(tmp_path.iterdir())


def test_bad_header_is_refused(tmp_path):
    addr, t, res = _serve_in_thread("tcp://127.0.0.1:0", lambda feed: None)
    _raw_sender(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b" " * 10)
    t.join(30)
    assert isinstance(res.get("error"), WireError) and "magic" in str(res["error"])


def test_unix_socket_path_in_use(tmp_path):
    p = tmp_path / "s.sock"
    p.write_text("")
    with pytest.raises(FileExistsError):
        SocketFeed(f"unix://{p}")


def test_send_to_nobody():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectionError):
        send(type("F", (), {"header": WireHeader(2, 2, 10.0), "chunks": lambda self, n: iter([])})(),
             f"tcp://127.0.0.1:{port}", connect_timeout=2)


def test_packed_feed_of_upright_file_keeps_rows(make_frames, tmp_path):
    f = make_frames(100, 6, 10)
    src = write_dat(tmp_path / "u.dat", f, upright=True)
    out = tmp_path / "rec.dat"
    addr, t, res = _serve_in_thread("tcp://127.0.0.1:0", lambda feed: (feed.header, record(feed, out)))
    with FileFeed(read_dat(src, height=6, width=10, upright=True)) as feed:
        send(feed, addr, speed=None)
    t.join(30)
    header, _ = res["value"]
    assert header.upright
    assert out.read_bytes() == pack_frames(f, upright=True).tobytes()
