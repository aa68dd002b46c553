"""Tracker: Kalman box filter, Hungarian matching, birth / death / re-identification, merges."""

import numpy as np
import pytest

from spikevision.track import KalmanBox, Tracker, TrackerSettings, match


def test_kalman_learns_constant_velocity():
    s = TrackerSettings()
    kf = KalmanBox(np.array([0.0, 10.0, 20.0, 10.0]), 0.0, s)
    for k in range(1, 15):
        kf.predict(20.0 * k)
        kf.update(np.array([0.5 * 20 * k, 10.0, 20.0, 10.0]))
    assert kf.x[4] == pytest.approx(0.5, abs=0.03) and abs(kf.x[5]) < 0.02
    x, _ = kf.predicted(20.0 * 14 + 40)
    assert x[0] - 10 == pytest.approx(0.5 * (20 * 14 + 40), abs=2.0)


def test_match_gates_and_assigns():
    cost = np.array([[0.1, 0.9], [0.2, 5.0]])
    assert sorted(match(cost, 1.0)) == [(0, 1), (1, 0)]
    assert match(np.array([[3.0]]), 1.0) == []
    assert match(np.zeros((0, 2)), 1.0) == []


def _box(x, y, w=16.0, h=12.0):
    return [x, y, w, h, 1.0]


def test_birth_needs_min_hits_and_death_after_misses():
    trk = Tracker(TrackerSettings(min_hits=3, max_misses=2))
    trk.step(np.array([_box(0, 0)]), time=0.0)
    trk.step(np.array([_box(5, 0)]), time=20.0)
    assert trk.history() == []          # tentative
    trk.step(np.array([_box(10, 0)]), time=40.0)
    assert [t for t, _ in trk.history()] == [1]
    for k in range(3, 7):
        trk.step(np.zeros((0, 5)), time=20.0 * k)
    trk.step(np.array([_box(35, 0)]), time=140.0)   # too late: a new (tentative) track
    assert [t for t, _ in trk.history()] == [1]


def test_identity_kept_through_a_short_occlusion():
    trk = Tracker(TrackerSettings(max_misses=4))
    for k in range(12):
        dets = [] if 5 <= k <= 7 else [_box(10 + 8 * k, 20)]
        trk.step(np.array(dets).reshape(-1, 5), time=20.0 * k)
    hist = trk.history()
    assert len(hist) == 1 and len(hist[0][1]) == 9


def test_crossing_objects_keep_their_identities():
    trk = Tracker()
    for k in range(16):
        a = _box(10 + 8 * k, 50)
        b = _box(130 - 8 * k, 50)
        if abs(a[0] - b[0]) < 16:      # overlapping: the detector sees one merged blob
            dets = [[min(a[0], b[0]), 50, abs(a[0] - b[0]) + 16, 12, 1.0]]
        else:
            dets = [a, b]
        trk.step(np.array(dets), time=20.0 * k)
    hist = dict(trk.history())
    assert len(hist) == 2
    starts = {tid: st[0, 1] for tid, st in hist.items()}
    ends = {tid: st[-1, 1] for tid, st in hist.items()}
    left = min(starts, key=starts.get)
    assert ends[left] > 100        # the object that started on the left ends on the right


def test_tracker_rejects_bad_settings():
    with pytest.raises(TypeError):
        Tracker({"gate": 1.0})
    with pytest.raises(ValueError):
        TrackerSettings(gate=0)
