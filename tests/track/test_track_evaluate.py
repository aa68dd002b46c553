"""evaluate_track_folder: a folder of sequences with MOTChallenge ground truth, scored with TrackEval."""

import pytest

from spikevision.sim import IDEAL_PRESET
from spikevision.sim.objects import write_track_sequence
from spikevision.track.evaluate import evaluate_track_folder

pytest.importorskip("trackeval", reason="scores need TrackEval (pip install --no-deps trackeval)")


def test_scores_a_folder(tmp_path, make_bar_scene):
    write_track_sequence(make_bar_scene(), tmp_path / "a", n_frames=160, settings=IDEAL_PRESET, seed=0)
    res = evaluate_track_folder(tmp_path, first=40, last=120)
    assert [s["name"] for s in res["sequences"]] == ["a"]
    c = res["combined"]
    assert c["gt_boxes"] == 9
    assert c["MOTA"] > 0.6 and c["IDF1"] > 0.6 and 0 < c["HOTA"] <= 1
    assert res["protocol"]["scored_frames_1based"] == [41, 121]


def test_bad_protocol_and_missing_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="no tracking sequence"):
        evaluate_track_folder(tmp_path)
    with pytest.raises(ValueError, match="multiple of every"):
        evaluate_track_folder(tmp_path, first=55)
    with pytest.raises(ValueError, match="last"):
        evaluate_track_folder(tmp_path, first=50, last=40)
