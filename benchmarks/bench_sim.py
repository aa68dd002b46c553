"""Simulator benchmark: one second of 250 x 400 camera time from a video, memory, spikezoo, REDS check.

Usage::

    .venv/bin/python benchmarks/bench_sim.py --workdir /tmp/sv-bench-sim \
        [--spikezoo-utils /work/benchenv/lib/python3.11/site-packages/spikezoo/utils/spike_utils.py]

spikezoo (``pip install --no-deps spikezoo==0.2.3.7`` in a separate venv) is
loaded from its single ``utils/spike_utils.py`` file (importing the package
fails offline); without it that comparison is skipped with a message.
Everything runs on one core (``OMP_NUM_THREADS=1``; numpy here is single-threaded).
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

H, W = 250, 400


def make_video(path: Path, n: int, fps: int) -> None:
    """A moving textured scene as H.264 MP4 (``n`` frames, 250 x 400)."""
    import imageio.v3 as iio

    from spikevision.sim import random_scene

    sc = random_scene(seed=1, height=H, width=W, brightness=0.8, duration=float(n))
    frames = np.stack([(sc.intensity(float(k)) * 255 + 0.5).astype(np.uint8) for k in range(n)])
    iio.imwrite(path, np.repeat(frames[..., None], 3, -1), fps=fps, codec="libx264", macro_block_size=1, quality=8)


def cpu_times() -> tuple[float, float]:
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime


def run_child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line; add its peak RSS (MB).

    Peak RSS is ``VmHWM`` of ``/proc/self/status`` (reset by exec; ``ru_maxrss`` is not,
    so it would report the parent's size at fork).
    """
    wrapped = code + (
        "\nimport json as _j\n"
        "_hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(_j.dumps({**RESULT, 'peak_rss_mb': int(_hwm) / 1024}))\n")
    out = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


SIM_CHILD = """
import time, resource, json
from spikevision.sim import simulate_to_dat
def cpu():
    s = resource.getrusage(resource.RUSAGE_SELF); c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime
c0 = cpu(); t0 = time.perf_counter()
simulate_to_dat({video!r}, {out!r}, frames_per_image={fpi}, n_frames={n})
wall = time.perf_counter() - t0; c1 = cpu()
RESULT = {{'wall_s': wall, 'cpu_self_s': c1[0] - c0[0], 'cpu_ffmpeg_s': c1[1] - c0[1]}}
"""


def bench_video(work: Path, n_video: int, fps: int, fpi: int, n_frames: int, label: str) -> dict:
    video = work / f"scene_{n_video}f.mp4"
    if not video.exists():
        make_video(video, n_video, fps)
    best = None
    for _ in range(3):
        r = run_child(SIM_CHILD.format(video=str(video), out=str(work / "out.dat"), fpi=fpi, n=n_frames))
        if best is None or r["cpu_self_s"] + r["cpu_ffmpeg_s"] < best["cpu_self_s"] + best["cpu_ffmpeg_s"]:
            best = r
    best.update(label=label, frames=n_frames, pixel_steps=n_frames * H * W,
                cpu_total_s=best["cpu_self_s"] + best["cpu_ffmpeg_s"],
                gpix_steps_per_s=n_frames * H * W / best["wall_s"] / 1e9)
    return best


def load_spikezoo(path: str | None):
    cands = [path] if path else sorted(glob.glob("/work/benchenv/lib/python3*/site-packages/spikezoo/utils/spike_utils.py"))
    for p in cands:
        if p and Path(p).is_file():
            try:
                spec = importlib.util.spec_from_file_location("spikezoo_spike_utils", p)
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                return mod, p
            except Exception as exc:  # noqa: BLE001
                print(f"spikezoo: could not load {p}: {exc}")
    return None, None


def bench_spikezoo(mod, n: int) -> dict:
    """spikezoo's video2spike_simulation vs our fire() on the same in-memory per-frame intensities."""
    from spikevision.sim import CameraSettings, fire, random_scene

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    sc = random_scene(seed=1, height=H, width=W, brightness=0.8, duration=float(n))
    keys = np.stack([sc.intensity(float(k)) for k in range(0, n + 20, 20)])
    idx = np.arange(n)
    frac = ((idx % 20) / 20).astype(np.float32)[:, None, None]
    inten = keys[idx // 20] + (keys[idx // 20 + 1] - keys[idx // 20]) * frac  # (n, H, W) float32
    # spikezoo adds the image to the integral each frame with threshold 2: pass 1.2 * I for rate 0.6 * I
    t0 = time.perf_counter()
    sz = mod.video2spike_simulation(inten * 1.2, threshold=2.0)
    t_sz = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = fire(inten, settings=CameraSettings(threshold=100.0, gain=60.0), seed=0)
    t_ours = time.perf_counter() - t0
    return {"frames": n, "spikezoo_s": t_sz, "fire_s": t_ours, "ratio": t_sz / t_ours,
            "spikezoo_rate": float(sz.mean()), "fire_rate": float(ours.mean()),
            "spikezoo_20k_extrapolated_s": t_sz * 20000 / n}


def reds_check(data_dir: Path) -> list[dict] | None:
    d = data_dir / "reds_train_sample"
    if not (d / "spike").is_dir():
        return None
    from PIL import Image

    from spikevision import read_dat
    from spikevision.sim import REDS_PRESET, fit_gain, rate_ratio, simulate

    rows, pairs = [], []
    for dat in sorted((d / "spike").glob("*.dat")):
        gt = np.asarray(Image.open(d / "gt" / (dat.stem + ".png")))
        real = read_dat(dat, sensor="vidar")
        r41, mean_i = rate_ratio(real, gt, center=150, window=41)
        sim = simulate(gt, n_frames=301, settings=REDS_PRESET, seed=0).mean_rate()
        rows.append({"clip": dat.stem, "gt_mean_intensity": mean_i, "real_rate_41f": r41,
                     "real_rate_clip": real.mean_rate(), "preset_rate": sim, "rel_diff_41f": sim / r41 - 1,
                     "rel_diff_clip": sim / real.mean_rate() - 1})
        pairs.append((real, gt))
    rows.append({"fitted_gain_over_threshold": fit_gain(pairs, center=150).gain / REDS_PRESET.threshold})
    return rows


def bench_noise(n: int = 1000) -> dict:
    from spikevision.sim import NOISY_PRESET, REDS_PRESET, simulate

    img = np.random.default_rng(0).random((H, W)).astype(np.float32)
    out = {}
    for name, s in (("noise-free (REDS_PRESET)", REDS_PRESET), ("shot noise + FPN + dark (NOISY_PRESET)", NOISY_PRESET)):
        t0 = time.perf_counter()
        simulate(img, n_frames=n, settings=s, seed=0)
        dt = time.perf_counter() - t0
        out[name] = n * H * W / dt / 1e9
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/sv-bench-sim")
    ap.add_argument("--spikezoo-utils", default=None, help="path to spikezoo/utils/spike_utils.py")
    ap.add_argument("--shared-data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--spikezoo-frames", type=int, default=1000)
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)

    res = {}
    print("== one second (20,000 frames) of 250x400 from an H.264 video, streamed to .dat ==")
    res["video_100fps"] = bench_video(work, 101, 100, 200, 20000, "101-frame 100-fps video, 200 spike frames per video frame")
    print(json.dumps(res["video_100fps"], indent=1))
    res["video_1000fps"] = bench_video(work, 1001, 1000, 20, 20000, "1001-frame 1000-fps video, 20 spike frames per video frame")
    print(json.dumps(res["video_1000fps"], indent=1))
    print("== memory: 2x longer stream (40,000 frames) ==")
    res["video_100fps_2x"] = bench_video(work, 201, 100, 200, 40000, "201-frame video, 40,000 frames")
    print(json.dumps(res["video_100fps_2x"], indent=1))
    (work / "out.dat").unlink(missing_ok=True)

    print("== spikezoo 0.2.3.7 video2spike_simulation vs spikevision fire() (same in-memory frames) ==")
    mod, p = load_spikezoo(args.spikezoo_utils)
    if mod is None:
        print("spikezoo not found: skipping the comparison (pip install --no-deps spikezoo==0.2.3.7 "
              "in a separate venv and pass --spikezoo-utils PATH/spikezoo/utils/spike_utils.py)")
    else:
        res["spikezoo"] = bench_spikezoo(mod, args.spikezoo_frames)
        res["spikezoo"]["module"] = p
        res["spikezoo"]["end_to_end_ratio"] = res["spikezoo"]["spikezoo_20k_extrapolated_s"] / res["video_100fps"]["wall_s"]
        print(json.dumps(res["spikezoo"], indent=1))

    print("== noise cost (G pixel-steps/s, still image, in memory) ==")
    res["noise"] = bench_noise()
    print(json.dumps(res["noise"], indent=1))

    print("== REDS calibration check ==")
    rows = reds_check(Path(args.shared_data))
    if rows is None:
        print("shared REDS sample not found: skipped")
    else:
        res["reds"] = rows
        print(json.dumps(rows, indent=1))
    (work / "results.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
