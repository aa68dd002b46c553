"""Batch benchmark: the engine's cost (Dask distributed) and the speed-up of 2 workers over 1.

Usage::

    .venv/bin/python benchmarks/bench_batch.py --workdir bench_batch_work [--inputs 20] [--repeats 3]

1. Engine cost: import time of ``distributed``, start and stop time of the
   embedded 2-worker cluster, resident memory (RSS) of the driver (scheduler
   included) and of each worker process, against a bare interpreter that
   imported spikevision. Measured with psutil (a dependency of distributed).
2. Throughput: ``spikevision batch reconstruct DIR --method atfi --every 1`` over
   ``--inputs`` generated recordings, run as the command users type, with
   ``--workers 1`` and ``--workers 2`` alternately ``--repeats`` times in one run.
   Throughput = inputs / (last task end - first task start), from the manifest's
   ``started`` and ``seconds`` (cluster start-up excluded; it is reported apart).
   The load average before and after each run is printed: the machine is shared.

   ``--mode local`` uses the embedded cluster (the default of the command): all its
   processes are in the caller's session. ``--mode sessions`` starts a scheduler
   and the workers with Dask's own ``dask scheduler`` / ``dask worker`` commands,
   each worker in its own session, as on a real cluster, and runs the batch with
   ``--address``. This matters on a shared Linux machine with autogroup
   scheduling (``/proc/sys/kernel/sched_autogroup_enabled``): CPU time is shared
   fairly between *sessions*, so extra processes inside one session get no
   extra CPU when other sessions are busy.
3. Ceiling: before each pair of runs, 1 and 2 pure-Python busy loops (same
   session, or one session each, as the mode) measure how many cores the
   machine actually gives 1 and 2 processes at that moment; their ratio is the
   best speed-up any engine could show then.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ENGINE_CODE = r"""
import json, os, time, logging
import psutil
me = psutil.Process()
import spikevision
base = me.memory_info().rss
t = time.perf_counter(); import distributed; t_import = time.perf_counter() - t
after_import = me.memory_info().rss
from pathlib import Path
from spikevision.batch.engine import connect
if __name__ == "__main__":
    t = time.perf_counter()
    with connect(workers=2, threads=1, gpus=[], address=None, outdir=Path(".")) as client:
        t_start = time.perf_counter() - t
        client.submit(sum, [1, 2]).result()
        kids = me.children(recursive=True)
        rss = {"driver": me.memory_info().rss, "children": [k.memory_info().rss for k in kids],
               "cmd": [" ".join(k.cmdline()[:3]) for k in kids]}
        t = time.perf_counter()
    t_stop = time.perf_counter() - t
    print(json.dumps({"import_s": t_import, "start_s": t_start, "stop_s": t_stop, "base_rss": base,
                      "after_import_rss": after_import, **rss}))
"""


def engine_cost(workdir: Path) -> dict:
    script = workdir / "engine_probe.py"
    script.write_text(ENGINE_CODE)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=workdir)
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_inputs(folder: Path, n: int, *, frames: int, height: int, width: int) -> None:
    import spikevision as sv

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        p = folder / f"rec{i:03d}.dat"
        if not p.exists():
            sv.write_dat(p, (rng.random((frames, height, width)) < 0.3).astype(np.uint8))


BUSY = "import time\nend = time.perf_counter() + {s}\nwhile time.perf_counter() < end: pass\nprint(time.process_time())"


def cores_obtained(k: int, *, seconds: float, sessions: bool) -> float:
    """CPU cores that ``k`` busy loops get together right now (CPU seconds / wall seconds)."""
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", BUSY.format(s=seconds)], stdout=subprocess.PIPE, text=True,
                              start_new_session=sessions) for _ in range(k)]
    cpu = sum(float(p.communicate()[0]) for p in procs)
    return cpu / (time.perf_counter() - t)


def dask_command() -> str:
    exe = Path(sys.executable).parent / "dask"
    return str(exe) if exe.exists() else "dask"


def start_cluster(work: Path, n: int) -> tuple[list, Path]:
    """``dask scheduler`` + ``n`` x ``dask worker --nthreads 1``, each worker in its own session."""
    sched = work / f"scheduler-{n}.json"
    sched.unlink(missing_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([dask_command(), "scheduler", "--scheduler-file", str(sched), "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    end = time.monotonic() + 60
    while not sched.exists() and time.monotonic() < end:
        time.sleep(0.1)
    for _ in range(n):
        procs.append(subprocess.Popen([dask_command(), "worker", "--scheduler-file", str(sched), "--nthreads", "1",
                                       "--no-dashboard", "--host", "127.0.0.1"], env=env, start_new_session=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(scheduler_file=str(sched), timeout=60) as c:
        c.wait_for_workers(n, timeout=120)
    return procs, sched


def stop_cluster(procs: list) -> None:
    for p in reversed(procs):
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def run_batch(data: Path, out: Path, workers: int, *, height: int, width: int, address: str | None = None) -> dict:
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "spikevision.cli.main", "batch", "reconstruct", str(data), "-H", str(height),
           "-W", str(width), "--method", "atfi", "--every", "1", "-o", str(out), "--json"]
    cmd += ["--address", address] if address else ["--workers", str(workers)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"batch failed ({res.returncode}): {res.stderr[-2000:]}")
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert all(r["status"] == "ok" for r in rows), rows
    start = min(r["started"] for r in rows)
    end = max(r["started"] + r["seconds"] for r in rows)
    busy = sum(r["seconds"] for r in rows)
    cpu = sum(r["cpu_seconds"] for r in rows)
    return {"workers": workers, "inputs": len(rows), "span_s": end - start, "wall_s": wall,
            "throughput": len(rows) / (end - start), "task_s_mean": busy / len(rows),
            "cpu_s_per_input": cpu / len(rows), "cores_obtained": cpu / (end - start),
            "load_before": load0, "load_after": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("bench_batch_work"))
    ap.add_argument("--inputs", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--size", type=int, nargs=2, default=(64, 96), metavar=("H", "W"))
    ap.add_argument("--skip-engine", action="store_true")
    ap.add_argument("--mode", choices=("local", "sessions"), default="local")
    ap.add_argument("--calibrate-seconds", type=float, default=5.0)
    args = ap.parse_args()
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"cores: {len(os.sched_getaffinity(0))}, load average: {os.getloadavg()}, mode {args.mode}")
    if not args.skip_engine:
        e = engine_cost(work)
        mb = 1 / 2**20
        print(f"import distributed: {e['import_s']:.2f} s, +{(e['after_import_rss'] - e['base_rss']) * mb:.0f} MiB RSS")
        print(f"2-worker local cluster: start {e['start_s']:.2f} s, stop {e['stop_s']:.2f} s")
        print(f"driver (spikevision imported) {e['base_rss'] * mb:.0f} MiB -> {e['driver'] * mb:.0f} MiB with the "
              f"scheduler; child processes: " + ", ".join(f"{r * mb:.0f} MiB" for r in e["children"]))
        print(f"total resident for the 2-worker cluster: "
              f"{(e['driver'] - e['base_rss'] + sum(e['children'])) * mb:.0f} MiB beyond the bare driver")
        print(json.dumps(e))
    h, w = args.size
    data = work / "inputs"
    make_inputs(data, args.inputs, frames=args.frames, height=h, width=w)
    results = {1: [], 2: []}
    ceilings = []
    sessions = args.mode == "sessions"
    for rep in range(args.repeats):
        c1 = cores_obtained(1, seconds=args.calibrate_seconds, sessions=sessions)
        c2 = cores_obtained(2, seconds=args.calibrate_seconds, sessions=sessions)
        ceilings.append(c2 / c1)
        print(json.dumps({"repeat": rep, "cores_for_1": round(c1, 3), "cores_for_2": round(c2, 3),
                          "ceiling": round(c2 / c1, 3), "load": os.getloadavg()[0]}))
        for k in (1, 2):
            procs, address = start_cluster(work, k) if sessions else ([], None)
            try:
                r = run_batch(data, work / f"out_w{k}", k, height=h, width=w,
                              address=None if address is None else str(address))
            finally:
                stop_cluster(procs)
            results[k].append(r)
            print(json.dumps({"repeat": rep, **{key: round(v, 3) if isinstance(v, float) else v
                                                for key, v in r.items()}}))
    ratios = [b["throughput"] / a["throughput"] for a, b in zip(results[1], results[2])]
    t1 = statistics.median(r["throughput"] for r in results[1])
    t2 = statistics.median(r["throughput"] for r in results[2])
    print(f"throughput, median of {args.repeats}: 1 worker {t1:.3f} inputs/s, 2 workers {t2:.3f} inputs/s")
    print(f"2-worker / 1-worker ratio per repeat: {', '.join(f'{x:.2f}' for x in ratios)}; "
          f"median {statistics.median(ratios):.2f}; ratio of medians {t2 / t1:.2f}")
    per_core = [(b["throughput"] / b["cores_obtained"]) / (a["throughput"] / a["cores_obtained"])
                 for a, b in zip(results[1], results[2])]
    got1 = ", ".join(f"{r['cores_obtained']:.2f}" for r in results[1])
    got2 = ", ".join(f"{r['cores_obtained']:.2f}" for r in results[2])
    print(f"CPU cores the workers obtained, 1 worker: {got1}; 2 workers: {got2}")
    print(f"throughput per obtained core, 2 workers / 1 worker: {', '.join(f'{x:.2f}' for x in per_core)}")
    print(f"ceiling (cores 2 busy loops get / cores 1 gets) per repeat: {', '.join(f'{x:.2f}' for x in ceilings)}; "
          f"batch ratio / ceiling, median: {statistics.median(r / c for r, c in zip(ratios, ceilings)):.2f}")


if __name__ == "__main__":
    main()
