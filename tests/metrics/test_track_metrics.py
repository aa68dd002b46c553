"""MOTA / IDF1 / HOTA through TrackEval: known values, ignored boxes, combining sequences, bad input."""

import numpy as np
import pytest

from spikevision.metrics.track import box_iou, combine_track_scores, track_scores

pytest.importorskip("trackeval", reason="scores need TrackEval (pip install --no-deps trackeval)")


def _gt(n=4):
    return np.array([[f, 1, 10 * f, 0, 20, 20, 1, 1, 1, -1] for f in range(1, n + 1)], float)


def test_box_iou_known_values():
    np.testing.assert_allclose(box_iou([[0, 0, 2, 2]], [[1, 0, 2, 2], [5, 5, 1, 1], [0, 0, 2, 2]]),
                               [[1 / 3, 0.0, 1.0]])
    assert box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)
    assert box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0]])[0, 0] == 0


def test_perfect_tracking_scores_one():
    g = _gt()
    s = track_scores(g, g[:, :7])
    assert s["MOTA"] == 1 and s["IDF1"] == 1 and s["HOTA"] == pytest.approx(1.0)
    assert (s["TP"], s["FP"], s["FN"], s["IDSW"], s["gt_boxes"]) == (4, 0, 0, 0, 4)


def test_identity_switch_known_values():
    g = _gt()
    t = g.copy()
    t[2:, 1] = 2                       # the id changes half-way
    s = track_scores(g, t)
    assert s["IDSW"] == 1 and s["MOTA"] == pytest.approx(0.75)
    assert s["IDF1"] == pytest.approx(0.5)


def test_misses_and_false_positives():
    g = _gt()
    t = g[:2].copy()
    fp = np.array([[3, 9, 200, 200, 10, 10, 1, -1, -1, -1]], float)
    s = track_scores(g, np.vstack([t, fp]))
    assert (s["FN"], s["FP"]) == (2, 1)
    assert s["MOTA"] == pytest.approx(1 - 3 / 4)


def test_ignored_boxes_and_their_matches_are_removed():
    g = _gt()
    g[3, 6] = 0                        # the last box is "do not care"
    s_hit = track_scores(g, _gt()[:, :7])
    s_miss = track_scores(g, _gt()[:3, :7])
    assert s_hit["gt_boxes"] == 3 and s_hit["FP"] == 0 and s_hit["MOTA"] == 1
    assert s_miss["MOTA"] == 1


def test_frames_restrict_the_scoring():
    g = _gt()
    s = track_scores(g, np.zeros((0, 7)), frames=[2, 3])
    assert s["gt_boxes"] == 2 and s["MOTA"] == 0
    with pytest.raises(ValueError, match="1-based"):
        track_scores(g, g, frames=[0])


def test_combine_sums_counts():
    g = _gt()
    a = track_scores(g, g[:, :7], details=True)
    b = track_scores(g, g[:2, :7], details=True)
    c = combine_track_scores([a, b])
    assert c["gt_boxes"] == 8 and c["FN"] == 2 and c["MOTA"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="details=True"):
        combine_track_scores([track_scores(g, g)])
    with pytest.raises(ValueError):
        combine_track_scores([])


def test_bad_rows():
    with pytest.raises(ValueError, match="MOTChallenge rows"):
        track_scores(np.zeros((3, 4)), np.zeros((0, 7)))
    with pytest.raises(ValueError, match="NaN"):
        track_scores(np.full((1, 10), np.nan), np.zeros((0, 7)))
