"""Tracking speed: real-time factor of the classical and the learned tracker on 250 x 400 @ 20 kHz, one core.

Simulates ``--clip`` frames of a tracking scene (``spikevision.sim.objects.track_scene``,
3 objects, drifting camera), repeats them into a ``--frames``-frame ``.dat`` file
(the tracker's speed does not depend on the content's continuity), then times
``spikevision.track.track`` on it, best of ``--repeats`` runs. Real-time
factor = camera seconds / tracker seconds (> 1: faster than the camera).
Baseline in the same run: reading and popcounting the whole file
(``SpikeStream.spike_counts``), the least work any tracker over the file does.
The learned method (``--learned-frames`` frames, torch on one thread) is timed
against the classical one on the same frames in the same run (a ratio).

Run on one core of a shared machine::

    taskset -c 0 python benchmarks/bench_track.py --workdir /tmp/sv-bench-track

Prints a JSON summary (CPU time of this process and wall time, load average).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path



def _timed(fn, repeats: int) -> tuple[float, float]:
    best_cpu = best_wall = float("inf")
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall


def main() -> None:
    from spikevision.io.dat import read_dat
    from spikevision.sim import REDS_PRESET, simulate
    from spikevision.sim.objects import track_scene
    from spikevision.track import DetectorSettings, TrackSettings, track

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default="bench-track", help="where the test file is written")
    ap.add_argument("--frames", type=int, default=20000, help="frames timed (20,000 = 1 s at 20 kHz)")
    ap.add_argument("--clip", type=int, default=1000, help="frames simulated, then repeated")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, nargs="+", default=[20, 25],
                    help="detection steps to time (frames between windows; 20 is the default)")
    ap.add_argument("--learned-frames", type=int, default=4000,
                    help="frames the learned method is timed on (and the classical again, for the ratio); 0: skip")
    args = ap.parse_args()

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"track_{args.frames}.dat"
    if not path.is_file():
        sc = track_scene(seed=7, n_objects=3, drift=(0.03, 0.03), drift_probability=1.0, dim_fraction=0.0,
                         duration=float(args.clip))
        clip = simulate(sc, n_frames=args.clip, settings=REDS_PRESET, seed=0)
        from spikevision.io.dat import pack_frames

        packed = pack_frames(clip.to_numpy())
        reps = -(-args.frames // args.clip)
        with open(path, "wb") as fh:
            for _ in range(reps):
                fh.write(packed.tobytes())
    with read_dat(path, height=250, width=400) as full:
        stream = full[: args.frames]
        camera_s = stream.n_frames / stream.rate_hz
        base_cpu, base_wall = _timed(lambda: stream.spike_counts(), args.repeats)
        rows = []
        for step in args.steps:
            st = TrackSettings(detector=DetectorSettings(step=step))
            track(stream[:400], settings=st)  # imports, caches
            cpu, wall = _timed(lambda: track(stream, settings=st), args.repeats)
            res = track(stream, settings=st)
            rows.append({"step": step, "window": st.detector.window, "cpu_s": round(cpu, 3),
                         "wall_s": round(wall, 3), "rtf_cpu": round(camera_s / cpu, 2),
                         "rtf_wall": round(camera_s / wall, 2), "x_baseline_cpu": round(cpu / base_cpu, 1),
                         "tracks": int(len(res.ids))})
        learned = None
        if args.learned_frames > 0:
            import torch

            torch.set_num_threads(1)
            part = full[: args.learned_frames]
            part_s = part.n_frames / part.rate_hz
            track(part[:400], method="learned")  # imports, weights
            l_cpu, l_wall = _timed(lambda: track(part, method="learned"), args.repeats)
            c_cpu, c_wall = _timed(lambda: track(part), args.repeats)
            learned = {"frames": part.n_frames, "learned_cpu_s": round(l_cpu, 3), "classical_cpu_s": round(c_cpu, 3),
                       "learned_wall_s": round(l_wall, 3), "rtf_cpu_learned": round(part_s / l_cpu, 3),
                       "rtf_cpu_classical": round(part_s / c_cpu, 2), "learned_over_classical_cpu": round(l_cpu / c_cpu, 1),
                       "tracks_learned": int(len(track(part, method="learned").ids))}
    out = {"frames": stream.n_frames, "size": [250, 400], "camera_s": camera_s,
           "baseline_read_popcount": {"cpu_s": round(base_cpu, 4), "wall_s": round(base_wall, 4)},
           "tracker": rows, "learned": learned, "load_average": [round(v, 2) for v in os.getloadavg()],
           "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
