import numpy as np
import pytest

from spikevision.io import load, pack_frames, read_dat, write_dat, write_h5
from spikevision.live import FileFeed, SimulatedCamera, paced, parse_address
from spikevision.sim import simulate


def test_file_feed_is_the_file(make_frames, tmp_path):
    f = make_frames(250, 13, 21)
    path = write_dat(tmp_path / "a.dat", f)
    with FileFeed(read_dat(path, height=13, width=21, rate_hz=1000.0)) as feed:
        assert feed.header.n_frames == 250 and feed.header.rate_hz == 1000.0 and not feed.header.upright
        got = np.concatenate(list(feed.chunks(64)))
        assert max(len(c) for c in feed.chunks(64)) == 64
    assert got.tobytes() == path.read_bytes()


def test_file_feed_maps_a_dat_file_with_or_without_header(make_frames, tmp_path):
    """A .dat file's chunks are views of a memory map (no copy), also after a header."""
    import mmap

    f = make_frames(300, 13, 21)
    path = write_dat(tmp_path / "a.dat", f)
    body = path.read_bytes()
    with FileFeed(read_dat(path, height=13, width=21)) as feed:
        chunks = list(feed.chunks(50))
    assert b"".join(c.tobytes() for c in chunks) == body
    def owner(a):
        while isinstance(a, np.ndarray):
            a = a.base
        return a.obj if isinstance(a, memoryview) else a

    assert all(isinstance(owner(c), mmap.mmap) for c in chunks)
    headed = tmp_path / "b.dat"
    headed.write_bytes(b"H" * 1000 + body)
    with FileFeed(load(headed, height=13, width=21, header_bytes=1000)) as feed:
        assert b"".join(c.tobytes() for c in feed.chunks(64)) == body


def test_file_feed_refuses_a_file_that_shrank(make_frames, tmp_path):
    from spikevision import SpikeFormatError

    path = write_dat(tmp_path / "a.dat", make_frames(100, 13, 21))
    feed = FileFeed(read_dat(path, height=13, width=21))
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)
    with pytest.raises(SpikeFormatError, match="shrank"):
        list(feed.chunks(16))
    feed.close()


def test_file_feed_loop_and_frames(make_frames, tmp_path):
    f = make_frames(50, 4, 8)
    path = write_dat(tmp_path / "a.dat", f)
    with FileFeed(read_dat(path, height=4, width=8), loop=True, frames=120) as feed:
        got = np.concatenate(list(feed.chunks(32)))
    p = pack_frames(f)
    np.testing.assert_array_equal(got, np.concatenate([p, p, p[:20]]))
    with FileFeed(read_dat(path, height=4, width=8), frames=20) as feed:
        assert sum(len(c) for c in feed.chunks(7)) == 20


def test_file_feed_h5_and_npy(make_frames, tmp_path):
    pytest.importorskip("h5py")
    f = make_frames(30, 5, 9)
    write_h5(tmp_path / "a.h5", f)
    np.save(tmp_path / "a.npy", f)
    for name in ("a.h5", "a.npy"):
        with FileFeed(load(tmp_path / name)) as feed:
            got = np.concatenate(list(feed.chunks(8)))
            np.testing.assert_array_equal(got, pack_frames(f, upright=feed.header.upright))


def test_file_feed_bad_input(tmp_path):
    with pytest.raises(TypeError, match="SpikeStream"):
        FileFeed(tmp_path / "clip.dat")


def test_simulated_camera_matches_simulate():
    img = np.linspace(0, 1, 12 * 10).reshape(12, 10)
    cam = SimulatedCamera(img, n_frames=300, seed=3)
    got = np.concatenate(list(cam.chunks(64)))
    want = pack_frames(simulate(img, n_frames=300, seed=3).to_numpy())
    np.testing.assert_array_equal(got, want)
    assert cam.header.n_frames == 300 and cam.header.rate_hz == 20000.0


def test_paced_timing_with_fake_clock():
    now = [0.0]
    sleeps = []

    def sleep(s):
        sleeps.append(s)
        now[0] += s

    chunks = [np.zeros((10, 1), np.uint8)] * 3
    out = list(paced(chunks, rate_hz=100.0, speed=2.0, clock=lambda: now[0], sleep=sleep))
    assert len(out) == 3
    assert sleeps == pytest.approx([0.05, 0.05, 0.05])  # 10 frames at 200 frames/s
    assert list(paced(chunks, rate_hz=100.0, speed=None)) == chunks
    with pytest.raises(ValueError):
        list(paced(chunks, rate_hz=100.0, speed=0.0))


def test_parse_address():
    import socket

    assert parse_address("tcp://127.0.0.1:5000") == (socket.AF_INET, ("127.0.0.1", 5000))
    assert parse_address("unix:///tmp/x.sock") == (socket.AF_UNIX, "/tmp/x.sock")
    for bad in ("127.0.0.1:5000", "tcp://127.0.0.1", "http://x:1", "unix://"):
        with pytest.raises(ValueError):
            parse_address(bad)
