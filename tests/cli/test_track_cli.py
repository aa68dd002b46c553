"""CLI: track (MOTChallenge rows, video), synth-track, eval track, errors."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from spikevision.cli.main import cli
from spikevision.io.mot import read_mot


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("trk")
    res = CliRunner().invoke(cli, ["synth-track", "-o", str(out), "--sequences", "1", "--frames", "120",
                                   "-H", "64", "-W", "96", "--objects", "1", "--dim", "0", "--json"])
    assert res.exit_code == 0, res.output
    return out


def test_synth_track_layout(dataset):
    seq = dataset / "seq_0000"
    assert (seq / "spikes.dat").is_file() and (seq / "spikes.json").is_file()
    gt = read_mot(seq / "gt" / "gt.txt")
    assert set(gt[:, 0]) <= set(range(1, 121, 10))


def test_synth_track_photos_and_size(tmp_path):
    pytest.importorskip("cv2")
    res = CliRunner().invoke(cli, ["synth-track", "-o", str(tmp_path / "p"), "--sequences", "1", "--frames", "20",
                                   "-H", "64", "-W", "96", "--photos", "1", "--size", "10", "14", "--json"])
    if res.exit_code != 0 and "needs matplotlib or scikit-learn" in str(res.exception):
        pytest.skip("no sample photos installed")
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "p" / "seq_0000" / "spikes.json").read_text())
    scene = meta["tracking"]["scene"]
    assert {layer["texture"] for layer in scene["layers"]} == {"photo"}
    gt = read_mot(tmp_path / "p" / "seq_0000" / "gt" / "gt.txt")
    assert gt[:, 4].max() <= 16 and gt[:, 5].max() <= 16
    bad = CliRunner().invoke(cli, ["synth-track", "-o", str(tmp_path / "q"), "--size", "40", "12"])
    assert bad.exit_code != 0 and "size" in bad.output
    bad = CliRunner().invoke(cli, ["synth-track", "-o", str(tmp_path / "q"), "--photos", "2"])
    assert bad.exit_code == 2 and "--photos" in bad.output and not (tmp_path / "q").exists()


def test_synth_track_brightness(tmp_path):
    args = ["--sequences", "3", "--frames", "20", "-H", "48", "-W", "64", "--dim", "0", "--json"]
    res = CliRunner().invoke(cli, ["synth-track", "-o", str(tmp_path / "d"), "--brightness", "0.1", "0.2", *args])
    assert res.exit_code == 0, res.output
    seqs = json.loads(res.output)
    bright = [json.loads((Path(s) / "spikes.json").read_text())["tracking"]["scene"]["brightness"] for s in seqs]
    assert len(bright) == 3 and all(0.1 <= b <= 0.2 for b in bright)
    res = CliRunner().invoke(cli, ["synth-track", "-o", str(tmp_path / "e"), *args])
    default = [json.loads((Path(s) / "spikes.json").read_text())["tracking"]["scene"]["brightness"]
               for s in json.loads(res.output)]
    assert all(0.5 <= b <= 1.0 for b in default)
    for bad_range in (["0.3", "0.1"], ["0", "0.2"], ["0.5", "1.5"]):
        bad = CliRunner().invoke(cli, ["synth-track", "-o", str(tmp_path / "q"), "--brightness", *bad_range])
        assert bad.exit_code == 2 and "brightness" in bad.output and not (tmp_path / "q").exists()


def test_synth_track_object_brightness(tmp_path):
    """Bright objects over a dark background: objects fire far more than the background."""
    import numpy as np

    from spikevision.io.formats import load
    from spikevision.sim.objects import track_scene

    args = ["--sequences", "2", "--frames", "30", "-H", "48", "-W", "64", "--dim", "0", "--objects", "2",
            "--size", "14", "20", "--max-speed", "0.2", "--gt-every", "5", "--json"]
    res = CliRunner().invoke(cli, ["synth-track", "-o", str(tmp_path / "d"), "--brightness", "0.05", "0.1",
                                   "--object-brightness", "0.8", "1.0", *args])
    assert res.exit_code == 0, res.output
    for s in json.loads(res.output):
        scene = json.loads((Path(s) / "spikes.json").read_text())["tracking"]["scene"]
        assert scene["brightness"] == 1.0 and 0.05 <= scene["background_brightness"] <= 0.1
        assert scene["object_brightness"] == [0.8, 1.0]
        x = load(Path(s) / "spikes.dat").to_numpy().astype(np.float64)
        gt = np.loadtxt(Path(s) / "gt" / "gt.txt", delimiter=",", ndmin=2)
        inside = np.zeros(x.shape[1:], bool)
        f = int(gt[0, 0])   # 1-based frame of the first ground-truth rows
        for row in gt[gt[:, 0] == f]:
            left, top, w, h = (int(v) for v in row[2:6])
            inside[top + 3:top + h - 3, left + 3:left + w - 3] = True
        outside = np.ones_like(inside)
        for row in gt[gt[:, 0] == f]:
            left, top, w, h = (int(v) for v in row[2:6])
            outside[max(top - 3, 0):top + h + 3, max(left - 3, 0):left + w + 3] = False
        frames = x[max(f - 4, 0):f + 3]
        assert frames[:, outside].mean() < 0.1 < 0.3 < frames[:, inside].mean()
    # objects move exactly as without the option: the option changes intensities only
    a = track_scene(5, 48, 64, object_brightness=(0.8, 1.0))
    b = track_scene(5, 48, 64)
    assert [layer.motion for layer in a.layers] == [layer.motion for layer in b.layers]
    assert b.brightness != 1.0 or a.info["background_brightness"] == b.brightness
    assert "background_brightness" not in b.info
    for bad_range in (["0.9", "0.5"], ["0", "0.5"], ["0.5", "1.5"]):
        bad = CliRunner().invoke(cli, ["synth-track", "-o", str(tmp_path / "q"), "--object-brightness", *bad_range])
        assert bad.exit_code == 2 and "--object-brightness" in bad.output and not (tmp_path / "q").exists()
    with pytest.raises(ValueError, match="object_brightness"):
        track_scene(0, 48, 64, object_brightness=(0.5, 0.2))


def test_track_writes_mot_rows_and_video(dataset, tmp_path):
    seq = dataset / "seq_0000"
    out = tmp_path / "tracks.txt"
    vid = tmp_path / "tracks.gif"
    res = CliRunner().invoke(cli, ["track", str(seq / "spikes.dat"), "--sensor", "64x96", "--every", "20",
                                   "-o", str(out), "--video", str(vid), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["frames"] == 120 and d["every"] == 20
    rows = read_mot(out)
    assert len(rows) == d["rows"]
    assert set((rows[:, 0] - 1) % 20) <= {0}
    assert (rows[:, 7:] == -1).all()
    assert vid.stat().st_size > 0


def test_track_learned_method(dataset, tmp_path):
    pytest.importorskip("torch", reason="the learned detector needs torch")
    seq = dataset / "seq_0000"
    out = tmp_path / "tracks.txt"
    res = CliRunner().invoke(cli, ["track", str(seq / "spikes.dat"), "--sensor", "64x96", "--method", "learned",
                                   "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["method"] == "learned" and d["frames"] == 120
    rows = read_mot(out)
    assert len(rows) == d["rows"] and set((rows[:, 0] - 1) % 10) <= {0}
    r = CliRunner().invoke(cli, ["track", str(seq / "spikes.dat"), "--sensor", "64x96", "--method", "deep",
                                 "-o", str(out)])
    assert r.exit_code == 2 and "deep" in r.output
    r = CliRunner().invoke(cli, ["track", str(seq / "spikes.dat"), "--sensor", "64x96", "--weights", "x.pt",
                                 "-o", str(out)])
    assert r.exit_code == 2 and "only 'learned' takes weights" in r.output


def test_eval_track_json(dataset):
    pytest.importorskip("trackeval", reason="scores need TrackEval")
    res = CliRunner().invoke(cli, ["eval", "track", "--data", str(dataset), "--first", "40", "--last", "110",
                                   "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert {"MOTA", "IDF1", "HOTA"} <= set(d["combined"]) and len(d["sequences"]) == 1


def test_errors(tmp_path, dataset):
    seq = dataset / "seq_0000"
    r = CliRunner().invoke(cli, ["track", str(seq / "spikes.dat"), "-H", "64", "-o", str(tmp_path / "t.txt")])
    assert r.exit_code == 2 and "--height and --width" in r.output
    r = CliRunner().invoke(cli, ["track", str(seq / "spikes.dat"), "--sensor", "64x96", "-o",
                                 str(tmp_path / "t.txt"), "--video", str(tmp_path / "v.avi")])
    assert r.exit_code == 2 and ".mp4 or .gif" in r.output
    r = CliRunner().invoke(cli, ["eval", "track", "--data", str(tmp_path)])
    assert r.exit_code == 2 and "no tracking sequence" in r.output
