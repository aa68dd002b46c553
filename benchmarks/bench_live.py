"""Live-stream benchmarks: replay throughput on one core, preview latency at camera rate, loopback feeds.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/bench_live.py [--workdir /tmp/sv-live] [--gb 4] [--repeats 3]

Measures, in one run (files are generated under --workdir, which must not be in the
repository, and deleted afterwards):

1. the machine's single-core copy bandwidth (``np.copyto`` of 256 MiB, best of 5) and
   read bandwidth (a sum over the same buffer), pinned to CPU 0;
2. ``spikevision live replay FILE --speed max --preview tfp --preview-fps 60 --json`` under
   ``taskset -c 0`` on a ``--gb`` GB 250 x 400 @ 20 kHz file and a ``--gb`` GB
   1000 x 1000 @ 40 kHz file (a simulated scene, tiled), ``--repeats`` times each; plus the
   same run in-process with wall and CPU time (``time.process_time``, all threads), so a
   shared machine's waiting time can be told apart from the work; the fraction of the copy
   bandwidth reached; and a per-stage profile (feed / popcount / window counts / image) plus
   the top cProfile entries;
3. preview latency at 1x camera rate (replay of the 250 x 400 file, paced), and over a loopback
   TCP feed (``live send`` at 1x into ``live replay tcp://``);
4. a loopback TCP feed of 20,000 frames of 250 x 400 at 1x recorded by ``live record``,
   compared byte for byte; TCP vs Unix-socket throughput at max speed.

``--kernels-only`` times the kernels per preview period in memory instead (popcount against a
plain sum, window counts with the table kernel against the computed-lanes kernel, interleaved).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}
CLI = [PY, "-m", "spikevision.cli.main"]

CASES = [("250x400", 20000.0), ("1000x1000", 40000.0)]


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def copy_bandwidth() -> dict:
    """Single-core copy and read bandwidth in GB/s (bytes copied or read per second), best of 5."""
    code = (
        "import numpy as np, time\n"
        "n = 256 << 20\n"
        "a = np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8); b = np.empty_like(a)\n"
        "def best(f):\n"
        "    t = []\n"
        "    for _ in range(5):\n"
        "        t0 = time.perf_counter(); f(); t.append(time.perf_counter() - t0)\n"
        "    return n / min(t) / 1e9\n"
        "print(best(lambda: np.copyto(b, a)), best(lambda: a.view(np.uint64).sum()))\n"
    )
    out = subprocess.run(["taskset", "-c", "0", PY, "-c", code], capture_output=True, text=True, check=True)
    cp, rd = map(float, out.stdout.split())
    return {"copy_GBps": cp, "read_GBps": rd}


def make_file(path: Path, sensor: str, gb: float, rate: float) -> int:
    """A simulated moving scene (400 frames) tiled to ``gb`` GB; returns the frame count."""
    from spikevision.io import frame_bytes, pack_frames
    from spikevision.sim import random_scene, simulate

    h, w = map(int, sensor.split("x"))
    tile = pack_frames(simulate(random_scene(seed=0, height=h, width=w), n_frames=400, seed=0).to_numpy())
    n = int(gb * 1e9) // frame_bytes(h, w)
    with open(path, "wb") as fh:
        left = n
        while left:
            k = min(left, len(tile))
            fh.write(tile[:k].tobytes())
            left -= k
    return n


def cli_replay(path: Path, sensor: str, rate: float, *extra: str, pin: bool = True, env: dict | None = None) -> dict:
    cmd = (["taskset", "-c", "0"] if pin else []) + CLI + [
        "live", "replay", str(path), "--sensor", sensor, "--rate", str(rate), "--json", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env or ENV)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


_INPROC = r"""
import json, sys, time
from spikevision.io import read_dat
from spikevision.live import FileFeed, LiveRun, PreviewSettings
path, sensor, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
with FileFeed(read_dat(path, sensor=sensor, rate_hz=rate)) as feed:
    run = LiveRun(feed, preview=PreviewSettings("tfp", fps=60.0))
    c0 = time.process_time()
    r = run.run()
    cpu = time.process_time() - c0
print(json.dumps({"wall_s": r.wall_s, "cpu_s": cpu, "camera_s": r.camera_s, "frames": r.frames,
                  "previews": r.previews, "expected_previews": r.expected_previews, "dropped": r.dropped,
                  "backend": r.backend}))
"""

_STAGES = r"""
import json, sys, time, cProfile, pstats, io
import numpy as np
from spikevision.io import read_dat
from spikevision.live import FileFeed, PreviewSettings, kernels
from spikevision.live.operators import make_preview
from spikevision.live.ring import Chunk
from spikevision.live.sources import chunk_frames_for
path, sensor, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
feed = FileFeed(read_dat(path, sensor=sensor, rate_hz=rate))
h = feed.header
lay = kernels.lane_layout(h.height, h.width, upright=h.upright)
kernels.warm_up(lay)
n = chunk_frames_for(h, speed=None)
t = {"feed": 0.0, "popcount": 0.0, "preview": 0.0}
pv = make_preview(lay, h.rate_hz, PreviewSettings("tfp", fps=60.0))
prof = cProfile.Profile()
clock = time.perf_counter
it = iter(feed.chunks(n))
first = 0
prof.enable()
while True:
    t0 = clock()
    c = next(it, None)
    t1 = clock()
    t["feed"] += t1 - t0
    if c is None:
        break
    kernels.frame_counts(c, lay)
    t2 = clock()
    pv.feed(Chunk(first, c, t2), clock)
    t3 = clock()
    t["popcount"] += t2 - t1
    t["preview"] += t3 - t2
    first += len(c)
prof.disable()
s = io.StringIO()
pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(8)
print(json.dumps({"stages_s": t, "frames": first, "profile": s.getvalue()}))
"""


def inproc(script: str, *args: str, env: dict | None = None) -> dict:
    out = subprocess.run(["taskset", "-c", "0", PY, "-c", script, *args], capture_output=True, text=True,
                         env=env or ENV)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def send_into(receiver: list[str], sender: list[str]) -> tuple[str, str]:
    """Start the receiver, then the sender (retrying until the listener is up); return both outputs."""
    rec = start(receiver)
    for _ in range(200):
        snd = subprocess.run(sender, capture_output=True, text=True, env=ENV)
        if snd.returncode == 0:
            break
        time.sleep(0.05)
    else:
        rec.kill()
        raise RuntimeError(f"sender failed: {snd.stderr}")
    out, err = rec.communicate(timeout=600)
    if rec.returncode:
        raise RuntimeError(err)
    return out, snd.stderr


def window_kernels(repeats: int = 30) -> dict:
    """Per preview period (``rate / 60`` frames), in memory, on one core: per-frame popcount (against a
    plain sum over the same bytes: the read bandwidth), and the 41-frame window counts with the
    table kernel (``add_lanes``, before) and the computed-lanes kernel (``add_spread``, now),
    interleaved, with their ratio. Random bytes (half the bits set)."""
    from spikevision.live import kernels

    if kernels._KERNELS is None:
        return {"compiled": False}
    os.sched_setaffinity(0, {0})
    rng = np.random.default_rng(0)
    out: dict = {"compiled": True, "load": load()}
    for sensor, rate in CASES:
        h, w = (int(x) for x in sensor.split("x"))
        lay = kernels.lane_layout(h, w, upright=False)
        kernels.warm_up(lay)
        period = int(rate // 60)
        p = np.ascontiguousarray(rng.integers(0, 256, size=(period, lay.frame_bytes), dtype=np.uint8))
        win = p[:41]
        flat = p.reshape(-1)[: p.size // 8 * 8]
        a, b = kernels.new_counts(lay), kernels.new_counts(lay)
        kernels._KERNELS["add_lanes"](a.view(np.uint64), win, kernels._lane_lut64(), 1)
        kernels._KERNELS["add_spread"](b.view(np.uint64), win, 1)
        assert np.array_equal(a, b)
        t: dict = {k: [] for k in ("popcount", "sum", "table", "computed")}
        for _ in range(repeats):
            for name, f in (("popcount", lambda: kernels.frame_counts(p, lay)),
                            ("sum", lambda: flat.view(np.uint64).sum()),
                            ("table", lambda: kernels._KERNELS["add_lanes"](a.view(np.uint64), win,
                                                                          kernels._lane_lut64(), 1)),
                            ("computed", lambda: kernels._KERNELS["add_spread"](b.view(np.uint64), win, 1))):
                a[:] = 0
                b[:] = 0
                t0 = time.perf_counter()
                f()
                t[name].append((time.perf_counter() - t0) * 1e3)
        med = {k: float(np.median(v)) for k, v in t.items()}
        out[sensor] = {"period_frames": period, "packed_MB": p.nbytes / 1e6,
                       **{f"{k}_ms_median": v for k, v in med.items()},
                       **{f"{k}_ms_min": float(np.min(v)) for k, v in t.items()},
                       "popcount_GBps_median": p.nbytes / med["popcount"] / 1e6,
                       "window_speedup_median": float(np.median(np.asarray(t["table"]) / np.asarray(t["computed"]))),
                       "realtime_factor_median": (period / rate) * 1e3 / (med["popcount"] + med["computed"]),
                       "realtime_factor_median_before": (period / rate) * 1e3 / (med["popcount"] + med["table"])}
    out["load_end"] = load()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/sv-live-bench")
    ap.add_argument("--gb", type=float, default=4.0, help="Size of each replayed file in GB (default 4).")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sensors", default="250x400,1000x1000", help="Which cases to run (comma-separated).")
    ap.add_argument("--baseline-src", default=None,
                    help="A checkout's src/ to replay with too, alternating with this one (same file, same run).")
    ap.add_argument("--kernels-only", action="store_true",
                    help="Only the in-memory kernel timings per preview period (no files).")
    args = ap.parse_args()
    if args.kernels_only:
        print(json.dumps(window_kernels(), indent=1))
        return
    wd = Path(args.workdir)
    if REPO in wd.resolve().parents or wd.resolve() == REPO:
        raise SystemExit("--workdir must be outside the repository")
    wd.mkdir(parents=True, exist_ok=True)
    res: dict = {"load_start": load(), "cpu": _cpu_name(), "disk_free_GB": shutil.disk_usage(wd).free / 1e9}
    res["bandwidth"] = copy_bandwidth()
    print(json.dumps(res), flush=True)
    try:
        for sensor, rate in [c for c in CASES if c[0] in args.sensors.split(",")]:
            path = wd / f"live_{sensor}.dat"
            n = make_file(path, sensor, args.gb, rate)
            size = path.stat().st_size
            case: dict = {"sensor": sensor, "rate_hz": rate, "frames": n, "bytes": size,
                          "camera_s": n / rate, "packed_GBps_at_1x": size / (n / rate) / 1e9}
            case["cli"] = []
            base_env = {**os.environ, "PYTHONPATH": str(Path(args.baseline_src).resolve())} if args.baseline_src else None
            replay_args = ("--speed", "max", "--preview", "tfp", "--preview-fps", "60")
            if base_env:
                case["baseline_cli"], case["baseline_inproc"] = [], []
            for _ in range(args.repeats):
                case["cli"].append({**cli_replay(path, sensor, rate, *replay_args), "load": load()})
                if base_env:
                    case["baseline_cli"].append({**cli_replay(path, sensor, rate, *replay_args, env=base_env),
                                                 "load": load()})
            case["inproc"] = []
            for _ in range(args.repeats):
                case["inproc"].append({**inproc(_INPROC, str(path), sensor, str(rate)), "load": load()})
                if base_env:
                    case["baseline_inproc"].append({**inproc(_INPROC, str(path), sensor, str(rate), env=base_env),
                                                    "load": load()})
            if base_env:
                case["wall_ratio_best_baseline_over_now"] = (min(r["wall_s"] for r in case["baseline_cli"])
                                                             / min(r["wall_s"] for r in case["cli"]))
                case["cpu_ratio_best_baseline_over_now"] = (min(r["cpu_s"] for r in case["baseline_inproc"])
                                                            / min(r["cpu_s"] for r in case["inproc"]))
            st = inproc(_STAGES, str(path), sensor, str(rate))
            case["stages_s"] = st["stages_s"]
            case["profile"] = st["profile"]
            best_wall = min(r["wall_s"] for r in case["cli"])
            best_cpu = min(r["cpu_s"] for r in case["inproc"])
            case["best_realtime_factor_wall"] = case["camera_s"] / best_wall
            case["best_realtime_factor_cpu"] = case["camera_s"] / best_cpu
            case["GBps_wall"] = size / best_wall / 1e9
            case["fraction_of_copy_bw_wall"] = case["GBps_wall"] / res["bandwidth"]["copy_GBps"]
            case["GBps_cpu"] = size / best_cpu / 1e9
            case["fraction_of_copy_bw_cpu"] = case["GBps_cpu"] / res["bandwidth"]["copy_GBps"]
            if sensor == "250x400":
                # Latency at 1x: 5 s of camera time, paced, one core.
                case["latency_1x"] = {**cli_replay(path, sensor, rate, "--speed", "1", "--frames", "100000",
                                                   "--preview", "tfp", "--preview-fps", "60"), "load": load()}
                # Same over a loopback TCP feed: live send (1x) -> live replay tcp:// (pinned to CPU 0).
                port = free_port()
                out, _ = send_into(
                    ["taskset", "-c", "0"] + CLI + ["live", "replay", f"tcp://127.0.0.1:{port}", "--json",
                                                    "--preview", "tfp", "--preview-fps", "60"],
                    CLI + ["live", "send", str(path), f"tcp://127.0.0.1:{port}", "--sensor", sensor,
                           "--speed", "1", "--frames", "100000"])
                case["latency_1x_tcp"] = {**json.loads(out.strip().splitlines()[-1]), "load": load()}
                # 20,000 frames at 1x over TCP, recorded and compared byte for byte.
                port = free_port()
                rec = wd / "rec.dat"
                t0 = time.perf_counter()
                send_into(CLI + ["live", "record", f"tcp://127.0.0.1:{port}", "-o", str(rec), "--frames", "20000"],
                          CLI + ["live", "send", str(path), f"tcp://127.0.0.1:{port}", "--sensor", sensor,
                                 "--speed", "1", "--frames", "20000"])
                nb = size // n
                with open(path, "rb") as fh:
                    same = fh.read(20000 * nb) == rec.read_bytes()
                case["tcp_record_20000_1x"] = {"byte_exact": same, "wall_s": time.perf_counter() - t0}
                rec.unlink()
                # TCP vs Unix socket at max speed, 100,000 frames, counts only.
                for scheme in ("tcp", "unix"):
                    url = f"tcp://127.0.0.1:{free_port()}" if scheme == "tcp" else f"unix://{wd / 'feed.sock'}"
                    out, _ = send_into(CLI + ["live", "replay", url, "--json", "--preview", "none"],
                                       CLI + ["live", "send", str(path), url, "--sensor", sensor, "--speed", "max",
                                              "--frames", "100000"])
                    d = json.loads(out.strip().splitlines()[-1])
                    case[f"{scheme}_max_GBps"] = d["frames"] * nb / d["wall_s"] / 1e9
            path.unlink()
            case["load_end"] = load()
            print(json.dumps(case), flush=True)
    finally:
        for p in wd.glob("live_*.dat"):
            p.unlink()


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
