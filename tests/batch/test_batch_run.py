"""``spikevision.batch.run`` on a real local Dask cluster: resume, errors, killed workers, GPUs, threads."""

import functools
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed", reason="spikevision.batch runs on Dask distributed (the batch extra)")
import cloudpickle  # noqa: E402  (a dependency of distributed)

from spikevision import write_dat  # noqa: E402
from spikevision.batch import MANIFEST_NAME, PARTIAL_DIR, BatchError, Job, available_cores, run  # noqa: E402
from spikevision.batch.api import LOCK_NAME, _locked  # noqa: E402

# Workers receive the jobs below by value, so they need not import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

H, W = 8, 16


def frame_count(src, dst):
    import spikevision as sv

    with sv.load(src, height=H, width=W) as s:
        return {"frames": s.n_frames, "mean_rate": s.mean_rate()}


def mean_image(src, dst, *, victim=None, marker=None, pause=0.0):
    """Writes half of its output, then (once, for ``victim``) is SIGKILLed in the middle of the write."""
    import spikevision as sv

    with sv.load(src, height=H, width=W) as s:
        img = np.asarray(s[:]).mean(0, dtype=np.float32)
    time.sleep(pause)
    with open(dst, "wb") as fh:
        fh.write(b"\x93NUMPY half-written")
        fh.flush()
        if victim is not None and Path(src).name == victim and not Path(marker).exists():
            Path(marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
    np.save(dst, img)


def environment(src, dst):
    return {"omp": os.environ.get("OMP_NUM_THREADS"), "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "pid": os.getpid()}


def make_clips(folder: Path, n: int, *, truncated: bool = True, frames: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(n):
        a = (rng.random((frames, H, W)) < 0.3).astype(np.uint8)
        write_dat(folder / f"clip{i:02d}.dat", a)
        clips.append(a)
    if truncated:
        (folder / "truncated.dat").write_bytes((folder / "clip00.dat").read_bytes()[:-7])
    return clips


def no_partial_files(out: Path) -> None:
    assert not (out / PARTIAL_DIR).exists()
    hidden = [p for p in out.rglob(".*") if p.name != LOCK_NAME]
    assert hidden == [], hidden


def test_forty_ok_one_error_then_all_skipped(tmp_path):
    make_clips(tmp_path / "in", 40)
    out = tmp_path / "out"
    job = Job("frames", frame_count, suffix=".json")
    rows = run(job, [tmp_path / "in"], out, workers=2)
    assert len(rows) == 41 and [r["status"] for r in rows].count("ok") == 40
    bad = [r for r in rows if r["status"] == "error"]
    assert len(bad) == 1 and bad[0]["input"].endswith("truncated.dat")
    assert "SpikeFormatError" in bad[0]["error"] and "not a multiple" in bad[0]["error"]
    for r in rows:
        if r["status"] == "ok":
            assert r["outputs"] == [Path(r["input"]).with_suffix(".json").name]
            assert (out / r["outputs"][0]).stat().st_size > 0
            assert r["seconds"] >= 0 and r["job"] == job.identity
    manifest = [json.loads(x) for x in (out / MANIFEST_NAME).read_text().splitlines()]
    assert [m["input"] for m in manifest] == [r["input"] for r in rows]  # one line per input, input order
    table = (out / "frames.csv").read_text().splitlines()
    assert table[0] == "input,frames,mean_rate" and len(table) == 41
    no_partial_files(out)

    t0 = time.perf_counter()
    again = run(job, [tmp_path / "in"], out, workers=2)
    assert time.perf_counter() - t0 < 5  # nothing to run: no cluster is started
    assert [r["status"] for r in again].count("skipped") == 40
    assert [r["status"] for r in again].count("error") == 1  # kept, not retried
    assert len((out / MANIFEST_NAME).read_text().splitlines()) == 41
    assert len((out / "frames.csv").read_text().splitlines()) == 41

    # A changed input, a lost output and --retry-errors run again; the rest stays skipped.
    os.utime(tmp_path / "in" / "clip05.dat", ns=(1, 1))
    (out / "clip07.json").unlink()
    third = {Path(r["input"]).name: r for r in run(job, [tmp_path / "in"], out, workers=1, retry_errors=True)}
    ran = sorted(n for n, r in third.items() if r["started"] is not None)
    assert ran == ["clip05.dat", "clip07.dat", "truncated.dat"]
    assert third["truncated.dat"]["status"] == "error" and third["clip05.dat"]["status"] == "ok"
    assert sum(r["status"] == "skipped" for r in third.values()) == 38


def test_worker_killed_mid_write_retries_elsewhere(tmp_path):
    clips = make_clips(tmp_path / "in", 40, truncated=False)
    out = tmp_path / "out"
    marker = tmp_path / "killed.pid"
    job = Job("mean", functools.partial(mean_image, victim="clip03.dat", marker=str(marker), pause=0.02),
              suffix=".npy")
    rows = run(job, [tmp_path / "in"], out, workers=2)
    assert marker.exists(), "the victim's worker was not killed"
    assert [r["status"] for r in rows] == ["ok"] * 40
    assert len({r["input"] for r in rows}) == 40
    assert len((out / MANIFEST_NAME).read_text().splitlines()) == 40
    for i, a in enumerate(clips):
        np.testing.assert_allclose(np.load(out / f"clip{i:02d}.npy"), a.mean(0), rtol=1e-6)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        sorted([f"clip{i:02d}.npy" for i in range(40)] + [MANIFEST_NAME])
    no_partial_files(out)


def test_threads_per_worker_and_one_worker_per_gpu(tmp_path, monkeypatch):
    make_clips(tmp_path / "in", 6, truncated=False)
    cores = available_cores()
    rows = run(Job("env", environment, suffix=".json"), [tmp_path / "in"], tmp_path / "one", workers=1)
    recs = [json.loads((tmp_path / "one" / r["outputs"][0]).read_text()) for r in rows]
    assert {r["omp"] for r in recs} == {str(cores)} and len({r["pid"] for r in recs}) == 1

    # No GPU is needed to check the scheduling: the workers only read their environment.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    with pytest.raises(BatchError, match="3 GPU"):
        run(Job("env", environment, suffix=".json"), [tmp_path / "in"], tmp_path / "x", gpus=3)
    with pytest.raises(BatchError, match="one worker per GPU"):
        run(Job("env", environment, suffix=".json"), [tmp_path / "in"], tmp_path / "x", gpus=2, workers=3)
    rows = run(Job("env", environment, suffix=".json"), [tmp_path / "in"], tmp_path / "gpu", gpus="auto")
    recs = [json.loads((tmp_path / "gpu" / r["outputs"][0]).read_text()) for r in rows]
    assert {r["cuda"] for r in recs} <= {"3", "5"}
    assert {r["omp"] for r in recs} == {str(max(1, cores // 2))}
    by_pid = {}
    for r in recs:
        by_pid.setdefault(r["pid"], set()).add(r["cuda"])
    assert all(len(v) == 1 for v in by_pid.values())  # each worker sees exactly one device


def test_bad_arguments_and_lock(tmp_path):
    make_clips(tmp_path / "in", 2, truncated=False)
    job = Job("frames", frame_count, suffix=".json")
    with pytest.raises(TypeError, match="Job"):
        run(frame_count, [tmp_path / "in"], tmp_path / "out")
    with pytest.raises(BatchError, match="workers"):
        run(job, [tmp_path / "in"], tmp_path / "out", workers=0)
    with pytest.raises(FileNotFoundError, match="no file matches"):
        run(job, [str(tmp_path / "in" / "*.h5")], tmp_path / "out")
    with pytest.raises(BatchError, match="'auto'"):
        run(job, [tmp_path / "in"], tmp_path / "out", gpus="many")
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    with _locked(out):
        with pytest.raises(BlockingIOError, match="another spikevision batch"):
            run(job, [tmp_path / "in"], out)


def test_empty_input_list(tmp_path):
    (tmp_path / "empty").mkdir()
    assert run(Job("frames", frame_count, suffix=".json"), [tmp_path / "empty"], tmp_path / "out") == []
    assert (tmp_path / "out" / MANIFEST_NAME).read_text() == ""
