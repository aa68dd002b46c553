"""The viewer's live mode: a LiveSource fed by a thread, the API over it, ``view tcp://``, ``view FILE --live``."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
import queue
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner

from spikevision import SpikeStream
from spikevision.cli.main import cli
from spikevision.io import pack_frames
from spikevision.live import FileFeed, FramesNotHeld, WireHeader
from spikevision.live import send as send_feed
from spikevision.recon import reconstruct
from spikevision.view import Catalog, FileSource, LiveSource, LoadOptions, ViewSettings, create_app, open_live

SRC = Path(__file__).resolve().parents[2] / "src"
needs_server = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("starlette", "uvicorn", "cv2")),
    reason="serving needs the 'view' extra (starlette, uvicorn, vision)")


def make_spikes(t: int, h: int = 24, w: int = 32, seed: int = 7) -> np.ndarray:
    """Seeded spikes, bright left half, dark right half (as the ``spikes`` fixture, longer)."""
    rng = np.random.default_rng(seed)
    p = np.where(np.arange(w)[None, :] < w // 2, 0.4, 0.05) * np.ones((h, 1))
    return (rng.random((t, h, w)) < p).astype(np.uint8)

pytest.importorskip("starlette", reason="the viewer needs the 'view' extra (starlette, uvicorn)")
pytest.importorskip("cv2", reason="PNG answers need the 'vision' extra (opencv)")


class StepFeed:
    """A camera driver in a thread: the test releases frames of ``spikes`` a chunk at a time."""

    def __init__(self, spikes: np.ndarray) -> None:
        self.packed = pack_frames(spikes)                # the camera's layout (rows bottom-up)
        self.header = WireHeader(height=spikes.shape[1], width=spikes.shape[2], rate_hz=20000.0)
        self.q: queue.Queue = queue.Queue()

    def release(self, n: int | None) -> None:
        self.q.put(n)

    def chunks(self, max_frames):
        i = 0
        while True:
            n = self.q.get(timeout=120)
            if n is None:
                return
            for a in range(i, i + n, max_frames):
                yield self.packed[a : min(i + n, a + max_frames)]
            i += n

    def close(self) -> None:
        pass


def wait_for(cond, what: str, timeout: float = 60.0):
    """Poll ``cond()`` until it is true (a deadline for failure only, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def png(resp) -> np.ndarray:
    from PIL import Image

    assert resp.status_code == 200, resp.text
    return np.asarray(Image.open(io.BytesIO(resp.content)))


@pytest.fixture
def live(dat_file, export_dir):
    from starlette.testclient import TestClient

    spikes = make_spikes(t=400)
    feed = StepFeed(spikes)
    src = LiveSource(feed, name="cam", keep=100)
    cat = Catalog([("cam", src), ("clip.dat", FileSource(dat_file, LoadOptions(height=24, width=32)))])
    src.start()
    with TestClient(create_app(cat, ViewSettings(export_dir=export_dir)), base_url="http://127.0.0.1") as c:
        yield c, src, feed, spikes
    feed.release(None)
    src.close()


def info(c) -> dict:
    return c.get("/api/info").json()


def test_frames_grow_and_frames_equal_reconstruct_on_the_snapshot(live):
    c, src, feed, spikes = live
    wait_for(lambda: info(c)["feed"]["state"] == "running", "the run to start")
    d = info(c)
    assert d["live"] is True and d["frames"] == 0 and (d["height"], d["width"]) == (24, 32)
    r = c.get("/api/frame", params={"t": 0})
    assert r.status_code == 400 and "no frames yet" in r.json()["error"]

    feed.release(30)
    wait_for(lambda: info(c)["frames"] == 30, "30 frames")
    feed.release(50)
    wait_for(lambda: info(c)["frames"] == 80, "80 frames")
    feed.release(60)                                   # 140 frames arrived, the last 100 are held
    d = wait_for(lambda: (lambda d: d if d["feed"]["received"] == 140 else None)(info(c)), "140 frames")
    assert (d["first_frame"], d["frames"], d["feed"]["dropped"]) == (40, 100, 0)
    assert d["duration_s"] == pytest.approx(100 / 20000)

    # the rate plot: counts of the held frames, by camera index
    rate = c.get("/api/rate").json()
    assert rate["start"] == 40 and rate["counts"] == spikes[40:140].sum(axis=(1, 2)).tolist()
    assert c.get("/api/rate", params={"start": 130, "stop": 140}).json()["counts"] == \
        spikes[130:140].sum(axis=(1, 2)).tolist()

    # frames are camera indices; the frame endpoint is reconstruct() on the snapshot
    snap = src.snapshot()
    assert (snap.first_frame, snap.n_frames) == (40, 100)
    np.testing.assert_array_equal(np.asarray(snap[:]), spikes[40:140])
    for method in ("tfp", "atfi"):
        got = png(c.get("/api/frame", params={"t": 100, "method": method, "window": 41})).astype(int)
        want = np.clip(np.round(255 * reconstruct(snap, method=method, at=60, window=41)), 0, 255)
        assert np.abs(got - want).max() <= 1
        whole = np.round(255 * reconstruct(SpikeStream(spikes), method=method, at=100, window=41))
        assert np.abs(got - whole).max() <= 1
    assert np.array_equal(png(c.get("/api/frame", params={"t": 139})), spikes[139] * 255)

    # frames outside the buffer are refused; the pixel inspector speaks camera indices
    r = c.get("/api/frame", params={"t": 39})
    assert r.status_code == 410 and "no longer held" in r.json()["error"]
    r = c.get("/api/frame", params={"t": 140})
    assert r.status_code == 400 and "t must be <= 139" in r.json()["error"]
    assert c.get("/api/rate", params={"start": 10, "stop": 50}).json() == {
        "counts": spikes[40:50].sum(axis=(1, 2)).tolist(), "start": 40}
    px = c.get("/api/pixel", params={"y": 5, "x": 30, "t": 90, "window": 20}).json()
    assert (px["start"], px["stop"]) == (80, 100)
    assert px["spikes"] == (np.flatnonzero(spikes[80:100, 5, 30]) + 80).tolist()
    for route, params in (("/api/ratemap", {"t": 90}), ("/api/flow", {"t0": 60, "dt": 10})):
        assert c.get(route, params=params).status_code == 200

    # the buffer moves on: a view made earlier refuses frames it no longer holds (410 through the API)
    feed.release(100)
    wait_for(lambda: info(c)["first_frame"] == 140, "the buffer to move on")
    with pytest.raises(FramesNotHeld):
        snap.frames(0, 1)
    src_snapshot = src.snapshot
    src.snapshot = lambda: snap                           # a request that started before the buffer moved
    r = c.get("/api/frame", params={"t": 200})
    assert r.status_code == 410 and "no longer held" in r.json()["error"]
    src.snapshot = src_snapshot

    feed.release(None)
    wait_for(lambda: info(c)["feed"]["state"] == "ended", "the end of the feed")


def test_hold_freezes_the_view_and_release_starts_again(live):
    c, src, feed, spikes = live
    feed.release(120)
    wait_for(lambda: info(c)["feed"]["received"] == 120, "120 frames")
    r = c.post("/api/live", json={"hold": True})
    assert r.status_code == 200 and r.json()["held"] is True and r.json()["first_frame"] == 20
    feed.release(30)                                    # arrive while held: counted, not kept
    d = wait_for(lambda: (lambda d: d if d["feed"]["received"] == 150 else None)(info(c)), "150 frames")
    assert (d["first_frame"], d["frames"], d["feed"]["held"], d["feed"]["skipped"]) == (20, 100, True, 30)
    assert np.array_equal(png(c.get("/api/frame", params={"t": 25})), spikes[25] * 255)

    assert c.post("/api/live", json={"hold": False}).json()["held"] is False
    feed.release(10)
    d = wait_for(lambda: (lambda d: d if d["feed"]["received"] == 160 else None)(info(c)), "160 frames")
    assert (d["first_frame"], d["frames"]) == (150, 10)       # the buffer starts again at the newest frames

    # a .dat cut of held frames, by camera index
    r = c.post("/api/export", json={"kind": "dat", "start": 152, "stop": 158})
    assert r.status_code == 200 and r.json()["name"] == "cam_f152-158.dat"


def test_bad_live_requests(live):
    c, src, feed, spikes = live
    assert c.post("/api/live", json={"hold": "yes"}).status_code == 400
    assert c.post("/api/live", json={"hold": True, "extra": 1}).status_code == 400
    assert c.post("/api/live", content=b"hold", headers={"Content-Type": "text/plain"}).status_code == 415
    assert c.post("/api/live", content=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    assert c.post("/api/live", json={"hold": True}, headers={"Origin": "http://evil.example"}).status_code == 403
    r = c.post("/api/live?file=1", json={"hold": True})
    assert r.status_code == 404 and "not a live feed" in r.json()["error"]
    assert c.get("/api/live").status_code == 405
    assert info(c)["feed"]["held"] is False
    # the file beside it is unchanged: frames from 0, no live flag
    d = c.get("/api/info", params={"file": 1}).json()
    assert d["live"] is False and d["first_frame"] == 0 and "feed" not in d


def test_replay_of_a_file_and_a_unix_socket_feed(dat_file, spikes, tmp_path, monkeypatch):
    cat = open_live(dat_file, LoadOptions(height=24, width=32), speed=None)
    src = cat.get(0)
    wait_for(lambda: src.info().live["state"] == "ended", "the replay to end")
    assert (src.info().frames, src.info().first_frame, src.name) == (120, 0, "clip.dat (live)")
    np.testing.assert_array_equal(np.asarray(src.snapshot()[:]), spikes)
    cat.close()

    monkeypatch.chdir(tmp_path)
    cat = open_live("unix://cam.sock")
    src = cat.get(0)
    assert src.info().live["state"] == "waiting" or src.info().frames == 0
    with FileFeed(SpikeStream(spikes)) as feed:
        assert send_feed(feed, "unix://cam.sock", speed=None) == 120
    wait_for(lambda: src.info().live["state"] == "ended", "the socket feed to end")
    np.testing.assert_array_equal(np.asarray(src.snapshot()[:]), spikes)
    assert src.counts(0, 120).tolist() == spikes.sum(axis=(1, 2)).tolist()
    cat.close()


def test_command_line_usage_errors(dat_file):
    run = CliRunner().invoke
    r = run(cli, ["view", str(dat_file), "-H", "24", "-W", "32", "--loop", "--no-browser"])
    assert r.exit_code == 2 and "need --live" in r.output
    r = run(cli, ["view", "tcp://127.0.0.1:1", "--speed", "2", "--no-browser"])
    assert r.exit_code == 2 and "need --live" in r.output
    r = run(cli, ["view", "tcp://127.0.0.1:1", "--live", "--no-browser"])
    assert r.exit_code == 2 and "live already" in r.output
    r = run(cli, ["view", str(dat_file), "-H", "24", "-W", "32", "--keep", "10", "--no-browser"])
    assert r.exit_code == 2 and "--keep" in r.output
    r = run(cli, ["view", "tcp://nohost", "--no-browser"])
    assert r.exit_code != 0 and "tcp://HOST:PORT" in str(r.exception)
    r = run(cli, ["view", "missing.dat", "--no-browser"])
    assert r.exit_code == 2 and "no such file" in r.output


@needs_server
def test_live_send_into_view_tcp(dat_file, spikes, tmp_path):
    """``spikevision view tcp://127.0.0.1:0`` in a process of its own, fed by ``spikevision live send``."""
    import os
    import subprocess
    import sys
    import urllib.request

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "spikevision.cli.main", "view", "tcp://127.0.0.1:0", "--port", "0",
                             "--no-browser", "--no-export"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, cwd=tmp_path)
    try:
        feed_url = page = None
        deadline = time.monotonic() + 60
        while page is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            if line.startswith("live feed: waiting for a sender on "):
                feed_url = line.rsplit(" ", 1)[1].strip()
            if line.startswith("spikevision view: "):
                page = line.split(": ", 1)[1].strip()
        assert feed_url and page, "the viewer did not start"

        def get(path):
            with urllib.request.urlopen(page.rstrip("/") + path, timeout=30) as r:
                return r.read()

        assert json.loads(get("/api/info"))["feed"]["state"] == "waiting"
        r = CliRunner().invoke(cli, ["live", "send", str(dat_file), feed_url, "-H", "24", "-W", "32", "--speed", "max"])
        assert r.exit_code == 0, r.output
        d = wait_for(lambda: (lambda d: d if d["feed"]["state"] == "ended" else None)(json.loads(get("/api/info"))),
                     "the feed to end")
        assert (d["frames"], d["first_frame"], d["name"]) == (120, 0, feed_url)
        from PIL import Image

        img = np.asarray(Image.open(io.BytesIO(get("/api/frame?t=77"))))
        assert np.array_equal(img, spikes[77] * 255)
        assert json.loads(get("/api/rate"))["counts"] == spikes.sum(axis=(1, 2)).tolist()
    finally:
        proc.terminate()
        proc.wait(30)
