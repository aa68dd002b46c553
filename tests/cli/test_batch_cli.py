"""``spikevision batch``: any command over many inputs; local cluster, a real external Dask cluster, faults."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from spikevision import write_dat
from spikevision.cli.batch import split_tokens
from spikevision.cli.main import cli

SRC = Path(__file__).resolve().parents[2] / "src"
H, W = 32, 32


def make_clips(folder: Path, n: int, *, frames: int = 24, truncated: bool = True) -> Path:
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_dat(folder / f"clip{i:02d}.dat", (rng.random((frames, H, W)) < 0.3).astype(np.uint8))
    if truncated:
        (folder / "truncated.dat").write_bytes((folder / "clip00.dat").read_bytes()[:-11])
    return folder


def manifest(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]


def assert_no_partial_files(out: Path) -> None:
    assert not (out / ".partial").exists()
    assert [p.name for p in out.rglob(".*")] in ([], [".batch.lock"])


def env_with_src() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_split_tokens_uses_the_jobs_own_options():
    cmd = cli.commands["reconstruct"]
    inputs, args = split_tokens(cmd, ("a/*.dat", "--sensor", "vidar", "b", "-H250", "--method=tfp", "--every", "10",
                                      "--upright", "-m", "atfi"))
    assert inputs == ["a/*.dat", "b"]
    assert args == ["--sensor", "vidar", "-H250", "--method=tfp", "--every", "10", "--upright", "-m", "atfi"]
    assert split_tokens(cmd, ("--", "-odd-name.dat")) == (["-odd-name.dat"], [])
    from click import UsageError

    with pytest.raises(UsageError, match="no option --bogus"):
        split_tokens(cmd, ("x.dat", "--bogus", "1"))
    with pytest.raises(UsageError, match="needs a value"):
        split_tokens(cmd, ("x.dat", "--every"))


def test_reconstruct_forty_ok_one_error_rerun_skips(tmp_path):
    pytest.importorskip("distributed")
    data = make_clips(tmp_path / "rec", 40)
    out = tmp_path / "out"
    args = ["batch", "reconstruct", str(data), "-H", str(H), "-W", str(W), "--method", "tfp", "--every", "4",
            "--window", "5", "-o", str(out), "--workers", "2", "-q"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output  # one input failed
    assert "ok          40" in res.output and "error        1" in res.output
    assert "truncated.dat: SpikeFormatError" in res.output
    rows = manifest(out)
    assert len(rows) == 41 and sum(r["status"] == "ok" for r in rows) == 40
    for r in rows:
        if r["status"] == "ok":
            (name,) = r["outputs"]
            img = np.load(out / name)
            assert img.shape == (5, H, W) and img.dtype == np.float32  # frames 0, 4, ..., 16 of 24 (window 5)
        else:
            assert r["input"].endswith("truncated.dat") and "not a multiple" in r["error"]
    assert_no_partial_files(out)

    res = CliRunner().invoke(cli, args[:-1] + ["--json"])
    summary = json.loads(res.output)
    assert summary["counts"] == {"ok": 0, "error": 1, "skipped": 40} and res.exit_code == 1
    assert summary["errors"][0]["input"].endswith("truncated.dat")
    # Other job options are another job: everything runs again.
    res = CliRunner().invoke(cli, [a if a != "5" else "7" for a in args[:-1]] + ["--json"])
    assert json.loads(res.output)["counts"] == {"ok": 40, "error": 1, "skipped": 0}


def test_info_gathers_a_table_from_a_list_file(tmp_path):
    pytest.importorskip("distributed")
    data = make_clips(tmp_path / "rec", 3, truncated=False)
    listing = tmp_path / "inputs.txt"
    listing.write_text("rec/clip02.dat\nrec/clip00.dat\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["batch", "info", str(listing), "--height", str(H), "--width", str(W), "-o", str(out),
                                   "--workers", "1", "-q"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.glob("*.json")) == ["clip00.json", "clip02.json"]
    assert json.loads((out / "clip02.json").read_text())["frames"] == 24
    table = (out / "info.csv").read_text().splitlines()
    assert table[0].startswith("input,path,frames,height,width") and len(table) == 3
    assert table[1].startswith(str(data / "clip02.dat"))


def test_usage_errors_before_anything_runs(tmp_path):
    data = make_clips(tmp_path / "rec", 2, truncated=False)
    out = tmp_path / "out"
    cases = [
        (["batch", "nosuch", str(data), "-o", str(out)], "unknown job"),
        (["batch", "synth", str(data), "-o", str(out)], "does not take an input file"),
        (["batch", "reconstruct", str(data), "-o", str(out), "--bogus"], "no option --bogus"),
        (["batch", "reconstruct", str(data), "-H", "32", "-W", "32", "--every", "0", "-o", str(out)], "--every"),
        (["batch", "info", str(data), "-H", "32", "-W", "32", "--suffix", ".npy", "-o", str(out)], "prints its result"),
        (["batch", "reconstruct", "-o", str(out)], "no INPUTS"),
        (["batch", "info", str(data), "-o", str(out), "--workers", "2", "--address", "tcp://127.0.0.1:1"], "--address"),
        (["batch", "info", str(data), "-o", str(out), "--gpus", "lots"], "--gpus"),
    ]
    for argv, message in cases:
        res = CliRunner().invoke(cli, argv)
        assert res.exit_code == 2, (argv, res.output)
        assert message in res.output, (argv, res.output)
    res = CliRunner().invoke(cli, ["batch", "info", str(tmp_path / "none*.dat"), "-o", str(out)])
    assert res.exit_code != 0 and "no file matches" in str(res.exception)
    assert not out.exists() or not (out / "manifest.jsonl").exists()


def _wait_for(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


@pytest.mark.slow
def test_external_cluster_with_a_worker_killed(tmp_path):
    """A scheduler and two workers started with Dask's own commands; one worker SIGKILLed mid-run."""
    pytest.importorskip("distributed")
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the `dask` command is not installed")
    data = make_clips(tmp_path / "rec", 40, frames=120, truncated=False)
    out = tmp_path / "out"
    sched_file = tmp_path / "scheduler.json"
    env = env_with_src()
    procs = [subprocess.Popen([dask, "scheduler", "--scheduler-file", str(sched_file), "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        _wait_for(sched_file.is_file, 60, "the scheduler file")
        for _ in range(2):
            procs.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(sched_file), "--nthreads", "1",
                                           "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
                                          env={**env, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        batch = subprocess.Popen([sys.executable, "-m", "spikevision.cli.main", "batch", "reconstruct", str(data),
                                  "-H", str(H), "-W", str(W), "--method", "atfi", "--every", "1", "-o", str(out),
                                  "--address", str(sched_file), "--json", "-q"],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: _lines(out / "manifest.jsonl") >= 2, 120, "the first results")
        victim = procs[1]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        stdout, stderr = batch.communicate(timeout=300)
        assert batch.returncode == 0, stderr
        summary = json.loads(stdout)
        assert summary["counts"] == {"ok": 40, "error": 0, "skipped": 0}, summary
        assert _lines(out / "manifest.jsonl") == 40
        rows = manifest(out)
        assert len({r["input"] for r in rows}) == 40 and all(r["status"] == "ok" for r in rows)
        for r in rows:
            assert np.load(out / r["outputs"][0]).shape == (80, H, W)  # frames with a full 41-frame window
        assert_no_partial_files(out)
        assert procs[2].poll() is None, "the surviving worker stays up"
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_a_rerun_resumes(tmp_path):
    pytest.importorskip("distributed")
    data = make_clips(tmp_path / "rec", 40, frames=120, truncated=False)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "spikevision.cli.main", "batch", "reconstruct", str(data), "-H", str(H), "-W", str(W),
            "--method", "atfi", "--every", "1", "-o", str(out), "--workers", "2", "--json", "-q"]
    proc = subprocess.Popen(argv, env=env_with_src(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _wait_for(lambda: _lines(out / "manifest.jsonl") >= 3, 120, "the first results")
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    assert "run the same command again to resume" in stderr
    done = manifest(out)
    assert 3 <= len(done) < 40 and all(r["status"] == "ok" for r in done)
    assert len({r["input"] for r in done}) == len(done)
    assert_no_partial_files(out)
    res = subprocess.run(argv, env=env_with_src(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["counts"] == {"ok": 40 - len(done), "error": 0, "skipped": len(done)}
    assert len(manifest(out)) == 40
