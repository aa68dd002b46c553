"""Outputs that belong together are written together: ``simulate``'s .dat + sidecar, ``synth`` datasets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spikevision import SpikeFormatError
from spikevision.io import read_dat
from spikevision.io.atomic import atomic_open, clean_stale_temps
from spikevision.io.dat import read_sidecar

pytest.importorskip("PIL")
SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC}
#: Races and kills per test: a few in CI; a release check sets e.g. SPIKEVISION_STRESS_REPEATS=25.
REPEATS = int(os.environ.get("SPIKEVISION_STRESS_REPEATS", "0"))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys\nfrom spikevision.cli.main import main\nmain(sys.argv[1:])", *args]


def test_sidecar_is_tied_to_its_dat(tmp_path):
    from spikevision.sim import simulate_to_dat

    a = simulate_to_dat(np.full((8, 12), 0.5), tmp_path / "a.dat", n_frames=50, seed=1)
    b = simulate_to_dat(np.full((8, 12), 0.5), tmp_path / "b.dat", n_frames=50, seed=2)
    s = read_dat(a)  # size and rate from the sidecar
    assert s.shape == (50, 8, 12) and read_sidecar(a)["file"]["sha256"]
    # the .dat of another run of the same size beside this sidecar (a SIGKILL between the two renames)
    os.replace(b, a)
    with pytest.raises(SpikeFormatError, match="SHA-256"):
        read_dat(a)
    # a sidecar describing another size
    c = simulate_to_dat(np.full((9, 12), 0.5), tmp_path / "c.dat", n_frames=50, seed=1)
    os.replace(tmp_path / "c.json", tmp_path / "a.json")
    with pytest.raises(SpikeFormatError, match="does not describe"):
        read_dat(a)
    # a copied pair keeps its hash: accepted after re-hashing
    simulate_to_dat(np.full((8, 12), 0.5), tmp_path / "d.dat", n_frames=50, seed=1)
    (tmp_path / "copy").mkdir()
    for n in ("d.dat", "d.json"):
        (tmp_path / "copy" / n).write_bytes((tmp_path / n).read_bytes())
    assert read_dat(tmp_path / "copy" / "d.dat").shape == (50, 8, 12)
    assert c.exists()


def test_two_concurrent_simulate_runs_leave_a_consistent_pair(tmp_path):
    """The audit saw one run's .dat beside the other's .json in 2 of 25 races; now every race ends consistent."""
    out = tmp_path / "clip.dat"
    img_a, img_b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(img_a, np.full((16, 24), 0.4, np.float32))
    np.save(img_b, np.full((20, 24), 0.6, np.float32))
    winners = []
    for trial in range(REPEATS or 4):
        procs = [subprocess.Popen(_cli("simulate", str(img), "-o", str(out), "--frames", "600", "--seed", str(trial),
                                       "--json"), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for img in (img_a, img_b)]
        for p in procs:
            assert p.wait(timeout=300) == 0, p.stderr.read().decode()
        meta = read_sidecar(out, verify="hash")
        s = read_dat(out)
        assert s.shape == (600, meta["height"], 24)
        winners.append(meta["height"])
    print(f"{len(winners)} races: run A's pair {winners.count(16)}, run B's pair {winners.count(20)}")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_stale_temp_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".x.dat.p{dead.pid}-abcd.tmp.dat"
    stale.write_bytes(b"\0" * 1000)
    live = tmp_path / f".x.dat.p{os.getpid()}-efgh.tmp.dat"
    live.write_bytes(b"\0")
    other = tmp_path / ".y.dat.p1-zz.tmp.dat"
    other.write_bytes(b"\0")
    with atomic_open(tmp_path / "x.dat") as fh:
        fh.write(b"\1")
    assert not stale.exists() and live.exists() and other.exists()
    assert clean_stale_temps(tmp_path / "x.dat") == []


def _write(root: Path, seed: int, n_scenes: int = 2) -> None:
    from spikevision.sim import write_dataset

    write_dataset(root, n_scenes=n_scenes, seed=seed, height=24, width=32, n_frames=60, gt_times=[20], flow_dts=(10,))


def test_open_dataset_refuses_mixed_outputs(tmp_path):
    from spikevision.sim import open_dataset

    root = tmp_path / "ds"
    _write(root, 1)
    ds = open_dataset(root, verify="hash")
    assert len(ds) == 2
    other = tmp_path / "other"
    _write(other, 2)
    # a stale meta.json of another run next to this run's index.json
    (root / "scene_00001" / "meta.json").write_bytes((other / "scene_00001" / "meta.json").read_bytes())
    with pytest.raises(SpikeFormatError, match="two runs"):
        open_dataset(root)
    _write(root, 1)
    # a new spikes.dat of another size
    (root / "scene_00000" / "spikes.dat").write_bytes(b"\0" * 10)
    with pytest.raises(SpikeFormatError, match="spikes.dat"):
        open_dataset(root)
    _write(root, 1)
    (root / "scene_00000" / "spikes.dat").write_bytes((other / "scene_00000" / "spikes.dat").read_bytes())
    open_dataset(root)  # same size: only the hash tells
    with pytest.raises(SpikeFormatError, match="SHA-256"):
        open_dataset(root, verify="hash")
    (root / "index.json").write_text("{broken")
    with pytest.raises(SpikeFormatError, match="JSON"):
        open_dataset(root)


def test_synth_refuses_to_replace_a_foreign_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a synthetic dataset"):
        _write(tmp_path, 1)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_sigkill_during_synth_over_an_existing_dataset_leaves_a_consistent_dataset(tmp_path):
    """The audit saw a stale index.json or a new spikes.dat beside an old meta.json in 13 of 20 kills."""
    from spikevision.sim import open_dataset

    root = tmp_path / "ds"
    _write(root, 1, n_scenes=3)
    before = json.loads((root / "index.json").read_text())["seed"]
    args = _cli("synth", str(root), "--scenes", "3", "--seed", "5", "--height", "24", "--width", "32", "--frames", "60")
    outcomes = []
    delays = [0.3, 1.0, 1.6, 2.2, 3.0, 4.0]
    if REPEATS:  # seeded random moments, spread over the whole run
        delays = [round(float(d), 2) for d in np.random.default_rng(REPEATS).uniform(0.2, 5.0, REPEATS)]
    for delay in delays:
        p = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        ds = open_dataset(root, verify="hash")  # restores the old folder if killed between the two renames
        outcomes.append(ds.index["seed"])
        assert ds.index["seed"] in (before, 5)
        _write(root, 1, n_scenes=3)  # back to the old dataset; leftovers of the killed run are cleaned up
        leftovers = [q.name for q in tmp_path.iterdir() if q.name.startswith(".")]
        assert leftovers == [], leftovers
    print(f"{len(delays)} kills: old dataset {outcomes.count(before)}, new dataset {outcomes.count(5)}")
