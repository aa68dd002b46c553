"""Job settings, the worker-side task (atomic outputs, error rows) and the manifest / table files."""

import csv
import json
import sys

import numpy as np
import pytest

import spikevision.batch as batch
from spikevision import write_dat
from spikevision.batch import PARTIAL_DIR, BatchError, Job, read_manifest, run_task, write_table
from spikevision.batch.manifest import write_manifest


def frames_json(src, dst):
    import spikevision as sv

    with sv.load(src, height=8, width=16) as s:
        return {"frames": s.n_frames, "nested": {"mean_rate": s.mean_rate()}, "shape": list(s.shape),
                "where": str(dst)}


def write_npy(src, dst):
    np.save(dst, np.arange(4))
    (dst.parent / (dst.stem + ".side.txt")).write_text("sidecar")


def write_nothing(src, dst):
    return None


def exits(src, dst):
    sys.exit(3)


def test_public_api_declared():
    for name in batch.__all__:
        assert hasattr(batch, name), name
    import subprocess  # importing spikevision.batch must not import Dask

    code = "import sys, spikevision.batch; print('distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_job_validation_and_identity():
    job = Job("count", frames_json, suffix=".json")
    assert job.identity == "count -> .json"
    assert Job("count", frames_json, suffix=".json", key="count --x 1").identity == "count --x 1"
    for bad in ["", "a/b", ".hidden"]:
        with pytest.raises(BatchError, match="name"):
            Job(bad, frames_json, suffix=".json")
    for bad in ["npy", ".", "./x", ""]:
        with pytest.raises(BatchError, match="suffix"):
            Job("j", frames_json, suffix=bad)
    with pytest.raises(TypeError, match="callable"):
        Job("j", "not callable", suffix=".npy")
    with pytest.raises(Exception):
        job.name = "other"  # frozen


@pytest.fixture
def clip(tmp_path, rng):
    (tmp_path / "in").mkdir()
    return write_dat(tmp_path / "in" / "clip.dat", (rng.random((10, 8, 16)) < 0.3).astype(np.uint8))


def test_task_record_becomes_the_json_output(tmp_path, clip):
    out = tmp_path / "out"
    res = run_task(Job("count", frames_json, suffix=".json"), str(clip), str(out), "sub/clip.json")
    assert res["status"] == "ok" and res["error"] is None and res["outputs"] == ["sub/clip.json"]
    rec = json.loads((out / "sub" / "clip.json").read_text())
    assert rec["frames"] == 10 and rec["shape"] == [10, 8, 16]
    assert rec["where"] == str(out / "sub" / "clip.json")  # the temporary folder never leaks into results
    assert res["seconds"] >= 0 and res["started"] > 0
    assert list((out / PARTIAL_DIR).iterdir()) == []


def test_task_moves_every_file_and_records_next_to_output(tmp_path, clip):
    out = tmp_path / "out"
    res = run_task(Job("arr", write_npy, suffix=".npy"), str(clip), str(out), "clip.npy")
    assert res["outputs"] == ["clip.npy", "clip.side.txt"]
    assert np.array_equal(np.load(out / "clip.npy"), np.arange(4))

    def both(src, dst):
        np.save(dst, np.zeros(2))
        return {"n": 2}

    res = run_task(Job("both", both, suffix=".npy"), str(clip), str(out), "b/clip.npy")
    assert res["outputs"] == ["b/clip.npy", "b/clip.npy.json"]
    assert json.loads((out / "b" / "clip.npy.json").read_text()) == {"n": 2}


def test_task_errors_are_rows_not_exceptions(tmp_path, clip):
    out = tmp_path / "out"
    truncated = tmp_path / "in" / "short.dat"
    truncated.write_bytes(clip.read_bytes()[:-5])
    res = run_task(Job("count", frames_json, suffix=".json"), str(truncated), str(out), "short.json")
    assert res["status"] == "error" and res["outputs"] == []
    assert res["error"].startswith("SpikeFormatError:") and "short.dat" in res["error"] and "bytes" in res["error"]
    res = run_task(Job("count", frames_json, suffix=".json"), str(tmp_path / "gone.dat"), str(out), "gone.json")
    assert res["status"] == "error" and "gone.dat" in res["error"]
    res = run_task(Job("none", write_nothing, suffix=".npy"), str(clip), str(out), "clip.npy")
    assert res["status"] == "error" and "wrote no output" in res["error"]
    res = run_task(Job("exit", exits, suffix=".npy"), str(clip), str(out), "clip.npy")
    assert res["status"] == "error" and res["error"] == "SystemExit: 3"

    def bad_record(src, dst):
        return [1, 2]

    res = run_task(Job("bad", bad_record, suffix=".json"), str(clip), str(out), "clip.json")
    assert res["status"] == "error" and "expected a mapping" in res["error"]
    assert not any(p.is_file() for p in out.rglob("*")), "a failed input leaves no file"


def test_manifest_last_row_wins_and_torn_lines_ignored(tmp_path):
    p = tmp_path / "manifest.jsonl"
    assert read_manifest(p) == {}
    rows = [{"input": "/a", "status": "error", "outputs": [], "seconds": 1.0, "error": "x"},
            {"input": "/b", "status": "ok", "outputs": ["b.npy"], "seconds": 2.0, "error": None}]
    write_manifest(p, rows)
    lines = p.read_text().splitlines()
    assert [list(json.loads(x))[:5] for x in lines] == [["input", "status", "outputs", "seconds", "error"]] * 2
    with open(p, "a") as fh:
        fh.write(json.dumps({"input": "/a", "status": "ok", "outputs": ["a.npy"]}) + "\n")
        fh.write('{"input": "/c", "status": "o')  # a line torn by a killed process
        fh.write("\n[1]\n" + json.dumps({"input": "/d", "status": "weird"}) + "\n")
    got = read_manifest(p)
    assert sorted(got) == ["/a", "/b"] and got["/a"]["status"] == "ok"


def test_table_flattens_and_unions_columns(tmp_path):
    assert write_table(tmp_path / "t.csv", []) is None and not (tmp_path / "t.csv").exists()
    p = write_table(tmp_path / "t.csv", [("/a", {"n": 1, "s": {"x": 2.5}}), ("/b", {"n": 3, "list": [1, 2]})])
    with open(p, newline="") as fh:
        got = list(csv.DictReader(fh))
    assert list(got[0]) == ["input", "n", "s.x", "list"]
    assert got[0] == {"input": "/a", "n": "1", "s.x": "2.5", "list": ""}
    assert got[1] == {"input": "/b", "n": "3", "s.x": "", "list": "[1, 2]"}
