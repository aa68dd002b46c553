import threading
import time

import numpy as np
import pytest

import spikevision.live as live
from spikevision.io import pack_frames, read_dat, write_dat
from spikevision.live import (FileFeed, LiveRun, PreviewSettings, SimulatedCamera, WireHeader,
                              expected_previews)
from spikevision.recon import reconstruct


class ListFeed:
    """A feed over an in-memory packed array, with an optional pause per chunk (a slow camera)."""

    def __init__(self, packed, h, w, rate=20000.0, pause=0.0, fail_at=None):
        self.packed = packed
        self.header = WireHeader(height=h, width=w, rate_hz=rate)
        self.pause = pause
        self.fail_at = fail_at

    def chunks(self, n):
        for i in range(0, len(self.packed), n):
            if self.fail_at is not None and i >= self.fail_at:
                raise OSError("camera unplugged")
            if self.pause:
                time.sleep(self.pause)
            yield self.packed[i : i + n]

    def close(self):
        pass


def test_previews_and_report(make_frames):
    f = make_frames(3000, 10, 16)
    run = LiveRun(ListFeed(pack_frames(f), 10, 16), preview=PreviewSettings("tfp", fps=60.0))
    previews = list(run)
    r = run.report
    assert r.frames == 3000 and r.dropped == 0 and r.spikes == int(f.sum())
    assert r.previews == len(previews) == expected_previews(3000, 20000.0, run.preview) == 9
    assert r.skipped_previews == 0
    for p in previews:
        np.testing.assert_array_equal(p.image, reconstruct(f, method="tfp", at=p.frame, window=41))
    assert set(r.json_summary()) == {"frames", "wall_s", "realtime_factor", "dropped", "previews", "latency_ms_p99"}
    assert r.realtime_factor > 0 and r.latency_ms_p99 >= 0


def test_expected_previews_known_values():
    s = PreviewSettings("tfp", fps=60.0, window=41)
    assert expected_previews(40, 20000.0, s) == 0
    assert expected_previews(41, 20000.0, s) == 1
    assert expected_previews(20000, 20000.0, s) == 60  # one per 1/60 s of camera time
    assert expected_previews(320_000, 20000.0, s) == 960


def test_drop_oldest_counts_drops(make_frames):
    f = make_frames(4000, 8, 8)
    feed = ListFeed(pack_frames(f), 8, 8)
    run = LiveRun(feed, preview=PreviewSettings("tfp", fps=2000.0), capacity=64, policy="drop-oldest",
                  on_chunk=lambda c, n: time.sleep(0.002))
    previews = list(run)
    r = run.report
    assert r.dropped > 0 and r.frames + r.dropped == 4000
    assert r.previews + r.skipped_previews == r.expected_previews
    for p in previews:  # what is shown is still exact
        np.testing.assert_array_equal(p.image, reconstruct(f, method="tfp", at=p.frame, window=41))


def test_paced_run_is_real_time(make_frames):
    f = make_frames(2000, 8, 8)
    run = LiveRun(ListFeed(pack_frames(f), 8, 8, rate=20000.0), speed=1.0, preview=PreviewSettings("tfp", fps=100))
    r = run.run()
    assert r.wall_s >= 0.09  # 2000 frames at 20 kHz take 0.1 s of camera time
    assert r.previews == 10


def test_max_frames_and_errors(make_frames):
    f = make_frames(500, 8, 8)
    r = LiveRun(ListFeed(pack_frames(f), 8, 8), max_frames=123).run()
    assert r.frames == 123 and r.previews == 0
    with pytest.raises(OSError, match="unplugged"):
        LiveRun(ListFeed(pack_frames(f), 8, 8, fail_at=100), capacity=16).run()
    with pytest.raises(ValueError, match="fps"):
        LiveRun(ListFeed(pack_frames(f), 8, 8, rate=50.0), preview=PreviewSettings("tfp", fps=60.0))
    run = LiveRun(ListFeed(pack_frames(f), 8, 8))
    run.run()
    with pytest.raises(RuntimeError):
        run.run()


def test_consumer_stops_early_producer_ends(make_frames):
    f = make_frames(5000, 8, 8)
    run = LiveRun(ListFeed(pack_frames(f), 8, 8, pause=0.001), preview=PreviewSettings("tfp", fps=1000.0))
    it = iter(run)
    next(it)
    it.close()  # the viewer went away
    assert run.report is not None
    assert not any(t.name == "spikevision-live-producer" for t in threading.enumerate())


def test_hot_pixels_in_run(make_frames, tmp_path):
    f = make_frames(5000, 6, 8, 0.1)
    f[:, 1, 1] = 1
    path = write_dat(tmp_path / "a.dat", f)
    with FileFeed(read_dat(path, height=6, width=8)) as feed:
        r = LiveRun(feed, hot_pixels=True).run()
    assert r.hot_pixels == 1


def test_simulated_camera_run():
    cam = SimulatedCamera(np.full((16, 16), 0.5), n_frames=2000, seed=0)
    r = LiveRun(cam, preview=PreviewSettings("atfi", fps=50)).run()
    assert r.frames == 2000 and r.previews == 5 and r.dropped == 0


def test_public_api():
    for name in live.__all__:
        assert hasattr(live, name), name


def test_two_previews_at_their_own_rates(make_frames):
    f = make_frames(4000, 10, 12)
    run = LiveRun(ListFeed(pack_frames(f), 10, 12),
                  preview=[PreviewSettings("tfp", fps=100.0), PreviewSettings("tfi", fps=20.0)])
    previews = list(run)
    by = {m: [p.frame for p in previews if p.method == m] for m in ("tfp", "tfi")}
    assert len(by["tfp"]) == 20 and by["tfi"] == [20, 1020, 2020, 3020]
    assert run.report.previews == 20
    for p in previews:
        np.testing.assert_array_equal(p.image, reconstruct(f, method=p.method, at=p.frame, window=41))
    with pytest.raises(TypeError):
        LiveRun(ListFeed(pack_frames(f), 10, 12), preview=["tfp"])


def test_recent_frames_for_a_viewer(make_frames):
    f = make_frames(3000, 10, 12)
    run = LiveRun(ListFeed(pack_frames(f), 10, 12), capacity=256, keep_recent=500)
    run.run()
    snap = run.recent.snapshot()
    assert snap.first_frame == 2500 and snap.n_frames == 500
    np.testing.assert_array_equal(snap.to_numpy(), f[2500:])
    np.testing.assert_array_equal(run.recent.counts(2990, 3000), f[2990:].reshape(10, -1).sum(1))
    with pytest.raises(ValueError, match="not held"):
        run.recent.counts(0, 10)


def test_recent_frames_gap_restarts(make_frames):
    from spikevision.live import Chunk, RecentFrames, frame_counts, lane_layout

    f = make_frames(300, 4, 8)
    p = pack_frames(f)
    lay = lane_layout(4, 8, upright=False)
    r = RecentFrames(lay, 1000.0, capacity=100)
    r.feed(Chunk(0, p[:80], 0.0), frame_counts(p[:80], lay))
    r.feed(Chunk(150, p[150:190], 0.0), frame_counts(p[150:190], lay))
    s = r.snapshot()
    assert (s.first_frame, s.n_frames) == (150, 40)
    np.testing.assert_array_equal(s.to_numpy(), f[150:190])
