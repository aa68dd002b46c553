"""I/O benchmarks: .dat decoding throughput, popcount statistics, window memory.

Run:  .venv/bin/python benchmarks/bench_io.py [--workdir /tmp/sv-bench] [--spikezoo-utils PATH]

Measures, in one run:
1. decoding a 150 MB .dat file (12,000 frames of 250x400) in 256-frame slices
   with spikevision vs. the peers' naive per-frame bit-shift decoder
   (reimplemented here; optionally spikezoo's own loader too), in Gpix/s and
   as a ratio;
2. `spikevision info --json` wall time on a 1 GB recording (80,000 frames),
   end to end in a fresh process (spike counts by population count);
3. peak RSS of a fresh process that reads frames [t, t+100) of a 2 GB file;
4. (``--section robustness``) the cost of the hardened readers: ``.dat``
   decoding and counting through ``pread`` (today's reader) vs. the memory map
   the reader used before (same decoder on top), alternating rounds in one
   run; and opening an ``.h5`` container with its guarded probe vs. a bare
   in-process ``h5py`` open.
All numbers are single-threaded numpy; the files are written first (so they are
in the page cache) and deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

H, W = 250, 400
NB = H * W // 8


def make_file(path: Path, frames: int, seed: int = 0) -> None:
    """Random spike file at ~20% density, written block-wise (1000-frame random block repeated)."""
    rng = np.random.default_rng(seed)
    block = np.packbits(rng.random((1000, H * W)) < 0.2, axis=1, bitorder="little")
    with open(path, "wb") as fh:
        left = frames
        while left:
            n = min(left, 1000)
            fh.write(block[:n].tobytes())
            left -= n


def naive_decode(buf: np.ndarray, n_frames: int) -> np.ndarray:
    """The peers' per-frame bit-shift decoder, reimplemented: for each frame, 8 shift-and-mask
    passes, stack the bit planes, reshape, flip and copy; collect the frames and return float32
    (T, H, W), which is what users of those loaders get."""
    frames = []
    for i in range(n_frames):
        raw = buf[i * NB : (i + 1) * NB]
        planes = [np.right_shift(np.bitwise_and(raw, np.left_shift(1, b)), b) for b in range(8)]
        frame = np.stack(planes).transpose().reshape(H, W)
        frames.append(np.flipud(frame).copy()[None])
    return np.concatenate(frames).astype(np.float32)


def load_spikezoo_loader(path: str | None):
    """spikezoo's own Python loader (spikezoo/utils/spike_utils.py), if its path is given."""
    if not path:
        return None
    import importlib.util
    import types

    sys.modules.setdefault("spikezoo", types.ModuleType("spikezoo"))
    spec = importlib.util.spec_from_file_location("spikezoo_spike_utils", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load_vidar_dat


def bench_decode(path: Path, frames: int, spikezoo_utils: str | None) -> dict:
    from spikevision import read_dat

    s = read_dat(path, height=H, width=W)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for a in range(0, frames, 256):
            s.frames(a, min(a + 256, frames))
        best = min(best, time.perf_counter() - t0)
    ours = frames * H * W / best
    # The naive decoder decodes the whole file into one float32 array (that is the peers' API; it
    # costs ~6 GB of fresh memory for 150 MB), and separately its per-frame cost alone on a
    # 2,000-frame (25 MB) prefix, which is the more generous baseline.
    buf = np.fromfile(path, np.uint8)
    t0 = time.perf_counter()
    ref = naive_decode(buf, frames)
    naive_full = frames * H * W / (time.perf_counter() - t0)
    del ref
    n_naive = 2000
    buf = buf[: n_naive * NB].copy()
    t0 = time.perf_counter()
    ref = naive_decode(buf, n_naive)
    naive = n_naive * H * W / (time.perf_counter() - t0)
    assert np.array_equal(s.frames(0, n_naive), ref.astype(np.uint8))  # same answer
    del ref
    out = {
        "ours_gpix_s": ours / 1e9,
        "naive_full_file_gpix_s": naive_full / 1e9,
        "ratio_full_file": ours / naive_full,
        "naive_prefix_gpix_s": naive / 1e9,
        "ratio_prefix": ours / naive,
        "seconds_150MB": best,
    }
    sz = load_spikezoo_loader(spikezoo_utils)
    if sz is not None:
        small = path.with_name("2000.dat")  # its loader holds the whole file as float32: keep it small
        buf.tofile(small)
        t0 = time.perf_counter()
        x = sz(str(small), H, W)
        t_sz = time.perf_counter() - t0
        small.unlink()
        assert np.array_equal(np.asarray(x[:5]), s.frames(0, 5))
        out["spikezoo_gpix_s"] = n_naive * H * W / t_sz / 1e9
        out["ratio_spikezoo"] = ours / (n_naive * H * W / t_sz)
    return out


def bench_info(path: Path) -> dict:
    cmd = [sys.executable, "-m", "spikevision.cli.main", "info", str(path), "--height", str(H), "--width", str(W), "--json"]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        best = min(best, time.perf_counter() - t0)
    d = json.loads(out)
    # unpacking baseline on a 10% subset, extrapolated
    from spikevision import read_dat

    s = read_dat(path, height=H, width=W)
    n = s.n_frames // 10
    t0 = time.perf_counter()
    for a, f in s.chunks(1024, stop=n):
        f.sum()
    t_unpack = (time.perf_counter() - t0) * s.n_frames / n
    return {"info_wall_s": best, "frames": d["frames"], "unpack_and_sum_s_extrapolated": t_unpack}


def bench_window_rss(path: Path) -> dict:
    code = (
        "from spikevision import read_dat\n"
        f"s = read_dat({str(path)!r}, height={H}, width={W})\n"
        "x = s.frames(s.n_frames // 2, s.n_frames // 2 + 100)\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
    )
    kb = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    return {"peak_rss_mb": kb / 1024}


def bench_robustness(path: Path, frames: int, work: Path, rounds: int = 5) -> dict:
    """pread (now) vs. memory map (before) under the same decoder; guarded vs. bare .h5 open."""
    from spikevision import read_dat
    from spikevision.io.dat import PackedSource
    from spikevision.stream import SpikeStream

    new = read_dat(path, height=H, width=W)
    old = SpikeStream(PackedSource(np.memmap(path, np.uint8, "r", shape=(frames, NB)), H, W, upright=False))
    assert np.array_equal(new.frames(0, 300), old.frames(0, 300))

    def decode(s):
        t0 = time.perf_counter()
        for a in range(0, frames, 256):
            s.frames(a, min(a + 256, frames))
        return time.perf_counter() - t0

    def count(s):
        t0 = time.perf_counter()
        s.spike_counts()
        return time.perf_counter() - t0

    res = {}
    for name, fn in (("decode", decode), ("count", count)):
        t_new, t_old = [], []
        for _ in range(rounds):  # alternate, so load changes hit both sides alike
            t_new.append(fn(new))
            t_old.append(fn(old))
        res[name] = {"pread_gpix_s": frames * H * W / min(t_new) / 1e9, "mmap_gpix_s": frames * H * W / min(t_old) / 1e9,
                     "ratio_pread_over_mmap": min(t_old) / min(t_new),
                     "median_ratio": float(np.median(np.array(t_old) / np.array(t_new)))}
    try:
        import h5py

        from spikevision.io import container, save
    except ImportError:
        return res
    h5 = work / "clip.h5"
    save(h5, new[:2000])
    t_probe, t_bare = [], []
    for _ in range(rounds):
        container._VERIFIED.clear()
        t0 = time.perf_counter()
        with container.read_h5(h5) as s:
            s.frames(0, 1)
        t_probe.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with h5py.File(h5, "r") as f:
            ds = f["spikes"]
            {k: ds.attrs[k] for k in ds.attrs}
            ds[0:1]
        t_bare.append(time.perf_counter() - t0)
    res["h5_open"] = {"guarded_ms": 1e3 * float(np.median(t_probe)), "bare_ms": 1e3 * float(np.median(t_bare))}
    h5.unlink()
    return res


_WORKER = r"""
import json, sys, time
import numpy as np
from spikevision import load, read_dat, save
path, frames, work, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
H, W = 250, 400
out = {}
s = read_dat(path, height=H, width=W)
t0 = time.perf_counter()
for a in range(0, frames, 256):
    s.frames(a, min(a + 256, frames))
out["decode_s"] = time.perf_counter() - t0
t0 = time.perf_counter()
s.spike_counts()
out["count_s"] = time.perf_counter() - t0
h5, npy = f"{work}/clip_{tag}.h5", f"{work}/clip_{tag}.npy"
import os
if not os.path.exists(h5):
    save(h5, s[:2000])
    save(npy, s[:1000])
t0 = time.perf_counter()
h = load(h5)
h.frames(0, 2000)
out["h5_open_read_s"] = time.perf_counter() - t0
t0 = time.perf_counter()
n = load(npy)
n.frames(0, 1000)
n.spike_counts()
out["npy_read_count_s"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def bench_against(path: Path, frames: int, work: Path, baseline_src: str, rounds: int = 5) -> dict:
    """Today's readers vs. another source tree (e.g. the code before hardening), alternating fresh processes.

    Each round runs one fresh process per tree: decode in 256-frame slices, spike counts, open a
    2,000-frame ``.h5`` and read it whole (guard included, the first open in a process), read and count a
    1,000-frame ``.npy``. Ratios are ``baseline time / today's time`` of the best round (> 1: today is faster).
    """
    here = str(Path(__file__).resolve().parents[1] / "src")
    times: dict[str, list[dict]] = {"today": [], "baseline": []}
    for _ in range(rounds):
        for tag, src in (("today", here), ("baseline", baseline_src)):
            env = {**os.environ, "PYTHONPATH": src}
            r = subprocess.run([sys.executable, "-c", _WORKER, str(path), str(frames), str(work), tag], env=env,
                               capture_output=True, text=True, check=True)
            times[tag].append(json.loads(r.stdout.strip().splitlines()[-1]))
    res = {}
    for k in times["today"][0]:
        t_new = min(t[k] for t in times["today"])
        t_old = min(t[k] for t in times["baseline"])
        res[k] = {"today_s": t_new, "baseline_s": t_old, "speed_ratio_today_over_baseline": t_old / t_new}
    for tag in ("today", "baseline"):
        for ext in ("h5", "npy"):
            (work / f"clip_{tag}.{ext}").unlink(missing_ok=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--spikezoo-utils", default=None,
                    help="path to spikezoo/utils/spike_utils.py (pip download --no-deps spikezoo==0.2.3.7; unzip) to time it too")
    ap.add_argument("--section", choices=["all", "robustness"], default="all",
                    help="'robustness': only the pread-vs-mmap and guarded .h5 open comparison")
    ap.add_argument("--baseline-src", default=None,
                    help="with --section robustness: also time the readers of this source tree (e.g. a checkout of the "
                         "code before hardening, its src/ folder) against today's, in alternating fresh processes")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="sv-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    if args.section == "robustness":
        f150 = work / "150MB.dat"
        make_file(f150, 12_000)
        r = bench_robustness(f150, 12_000, work)
        if args.baseline_src:
            r["against_baseline"] = bench_against(f150, 12_000, work, args.baseline_src)
        f150.unlink()
        for k in ("decode", "count"):
            print(f"{k} 150 MB: pread {r[k]['pread_gpix_s']:.2f} Gpix/s, memory map (before) {r[k]['mmap_gpix_s']:.2f} "
                  f"Gpix/s -> pread/mmap speed ratio {r[k]['ratio_pread_over_mmap']:.2f} (median {r[k]['median_ratio']:.2f})")
        if "h5_open" in r:
            print(f"open a 2,000-frame .h5 and read one frame: guarded {r['h5_open']['guarded_ms']:.1f} ms, "
                  f"bare h5py {r['h5_open']['bare_ms']:.1f} ms")
        for k, v in r.get("against_baseline", {}).items():
            print(f"{k}: today {1e3 * v['today_s']:.1f} ms, baseline {1e3 * v['baseline_s']:.1f} ms -> "
                  f"speed ratio today/baseline {v['speed_ratio_today_over_baseline']:.2f}")
        print(json.dumps(r))
        return
    f150 = work / "150MB.dat"
    make_file(f150, 12_000)
    results["decode"] = bench_decode(f150, 12_000, args.spikezoo_utils)
    f150.unlink()
    f1g = work / "1GB.dat"
    make_file(f1g, 80_000)
    results["info"] = bench_info(f1g)
    f1g.unlink()
    f2g = work / "2GB.dat"
    make_file(f2g, 160_000)
    results["window"] = bench_window_rss(f2g)
    f2g.unlink()
    d, i, w = results["decode"], results["info"], results["window"]
    print(f"decode 150 MB in 256-frame slices: {d['ours_gpix_s']:.2f} Gpix/s")
    print(f"  vs naive per-frame decoder on the whole file: {d['naive_full_file_gpix_s']:.4f} Gpix/s -> {d['ratio_full_file']:.0f}x")
    print(f"  vs naive per-frame decoder on a 25 MB prefix: {d['naive_prefix_gpix_s']:.4f} Gpix/s -> {d['ratio_prefix']:.0f}x")
    if "ratio_spikezoo" in d:
        print(f"  spikezoo 0.2.3.7 load_vidar_dat (Python loader) on the first 2,000 frames: {d['spikezoo_gpix_s']:.4f} Gpix/s -> {d['ratio_spikezoo']:.0f}x")
    print(f"info --json on 1 GB (80,000 frames): {i['info_wall_s']:.2f} s wall (unpack+sum would take ~{i['unpack_and_sum_s_extrapolated']:.1f} s)")
    print(f"frames [t, t+100) of a 2 GB file: peak RSS {w['peak_rss_mb']:.0f} MB")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
