import numpy as np
import pytest

from spikevision.io import pack_frames, read_dat
from spikevision.live import (ActivityTrigger, Chunk, Rotation, SegmentWriter, TriggeredRecorder, WireHeader,
                              frame_counts, lane_layout)


def test_rotation_parse():
    assert Rotation.parse("500MB") == Rotation(max_bytes=500_000_000)
    assert Rotation.parse("1GiB, 2min") == Rotation(max_bytes=2**30, max_seconds=120.0)
    assert Rotation.parse("250ms").max_seconds == pytest.approx(0.25)
    for bad in ("10", "ten s", "5 parsecs", ""):
        with pytest.raises(ValueError):
            Rotation.parse(bad)
    with pytest.raises(ValueError):
        Rotation(max_seconds=-1.0)


def test_rotation_by_size(make_frames, tmp_path):
    f = make_frames(100, 8, 16)  # 16 bytes a frame
    p = pack_frames(f)
    with SegmentWriter(tmp_path / "r.dat", WireHeader(8, 16, 1000.0), rotation=Rotation(max_bytes=600)) as w:
        for i in range(0, 100, 7):
            w.write(p[i : i + 7])
    sizes = [s.stat().st_size for s in w.segments]
    assert sizes == [592, 592, 416]  # 37 frames of 16 bytes fit in 600
    assert b"".join(s.read_bytes() for s in w.segments) == p.tobytes()


def test_abort_leaves_finished_segments_only(make_frames, tmp_path):
    p = pack_frames(make_frames(30, 4, 8))
    with pytest.raises(RuntimeError):
        with SegmentWriter(tmp_path / "r.dat", WireHeader(4, 8, 100.0), rotation=Rotation(max_seconds=0.1)) as w:
            w.write(p[:25])
            raise RuntimeError("cable pulled")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["r_0000.dat", "r_0001.dat"]
    assert (tmp_path / "r_0001.dat").stat().st_size == 10 * 4


def test_writer_bad_input(tmp_path):
    with pytest.raises(ValueError, match=".dat or .h5"):
        SegmentWriter(tmp_path / "r.txt", WireHeader(4, 8, 100.0))
    with pytest.raises(FileNotFoundError):
        SegmentWriter(tmp_path / "no" / "r.dat", WireHeader(4, 8, 100.0))
    with SegmentWriter(tmp_path / "r.dat", WireHeader(4, 8, 100.0)) as w:
        with pytest.raises(ValueError, match=r"\(n, 4\)"):
            w.write(np.zeros((2, 3), np.uint8))
    assert w.segments == [] and not list(tmp_path.iterdir())  # nothing written, no file


def test_triggered_recorder_keeps_pre_and_post(make_frames, tmp_path):
    f = make_frames(3000, 10, 10, 0.05)
    f[1000:1010] = 1  # a flash: the trigger fires at frame 1000
    f[2500:2505] = 1  # a second flash
    p = pack_frames(f)
    lay = lane_layout(10, 10, upright=False)
    w = SegmentWriter(tmp_path / "ev.dat", WireHeader(10, 10, 20000.0), rotation=Rotation(max_bytes=10**9))
    rec = TriggeredRecorder(w, ActivityTrigger(n_pixels=100, threshold=0.5), pre_frames=100, post_frames=200)
    for i in range(0, 3000, 64):
        c = Chunk(i, p[i : i + 64], 0.0)
        rec.feed(c, frame_counts(c.packed, lay))
    segs = rec.close()
    assert rec.events == [1000, 2500]
    assert len(segs) == 2
    for s, (a, b) in zip(segs, [(900, 1200), (2400, 2700)]):
        with read_dat(s, height=10, width=10) as st:
            np.testing.assert_array_equal(st.to_numpy(), f[a:b])
