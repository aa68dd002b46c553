"""Viewer benchmark: ``/api/frame`` server time, first paint of a 1 GB file, RSS while scrubbing 2 GB.

Three measurements (the bar of the viewer's issue):

1. ``/api/frame`` for ``raw`` / ``tfp`` / ``atfi`` at 250 x 400 on the bundled REDS
   sample: the server's own time per request (its ``Server-Timing`` header: open
   the map, compute, encode the PNG), over frames that are not cached, next to
   the time of ``reconstruct()`` alone measured in the same run (the baseline),
   and for ATFI the NumPy kernel (the implementation before the compiled one).
   ``--parts atfi`` times ``reconstruct(method="atfi", at=t)`` against the NumPy
   kernel alone, interleaved, on the bundled clip and (when present) a 250 x 400
   recording of ``../shared/data`` (or ``$SPIKEVISION_SHARED_DATA``), checking
   that both give the same bytes.
2. First paint: a 1 GB ``.dat`` (the bundled clip repeated) under ``--workdir``;
   ``spikevision view`` is started as a process and headless Chromium opens the
   page; reported are the time from process start and from navigation to the
   first panel showing its image, and to the rate plot of the whole file.
3. Scrubbing a 2 GB ``.dat``: a server process answers ``/api/rate`` (counts the
   whole file) and TFP frames at random times over the whole file; its resident
   set (``VmRSS``, split into anonymous and file-backed pages) is sampled
   throughout.

The big files are made in ``--workdir`` (default: the system's temporary
folder) and removed at the end unless ``--keep``.

Command (from the repository root)::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_view.py
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "src" / "spikevision" / "data" / "reds_203_part2_f100-200.dat"
FRAME_BYTES = 250 * 400 // 8
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def atfi_numpy(stream, t: int):
    """ATFI at ``t`` through the NumPy kernel (the implementation before the compiled one; same bytes)."""
    from functools import partial

    from spikevision.recon import _blocks
    from spikevision.recon.adaptive import _atfi_kernel_numpy
    from spikevision.recon.classical import DEFAULT_WINDOW, REDS_RATE_RATIO

    kernel = partial(_atfi_kernel_numpy, window=DEFAULT_WINDOW, rate_ratio=REDS_RATE_RATIO, tolerance=1.0,
                     rel_tolerance=0.05, max_intervals=12)
    return _blocks.run(stream, kernel, at=t, every=None, window=DEFAULT_WINDOW, progress=False, desc="atfi")


def atfi_times(repeats: int) -> dict:
    """``reconstruct(stream, method="atfi", at=t)`` against the NumPy kernel, interleaved, on 250 x 400 recordings."""
    from spikevision.io import read_dat
    from spikevision.recon import reconstruct
    from spikevision.recon.adaptive import _compiled, warm_up

    warm_up()
    data = Path(os.environ.get("SPIKEVISION_SHARED_DATA", ROOT.parent / "shared" / "data"))
    shared = data / "reds_train_sample" / "spike" / "203_part2_key_id151.dat"
    out = {"compiled": _compiled() is not None}
    for name, path in (("bundled", BUNDLED), ("reds_203_part2_key_id151", shared)):
        if not path.is_file():
            continue
        stream = read_dat(path, sensor="vidar")
        times = list(range(20, stream.n_frames - 21, max(1, (stream.n_frames - 41) // 60))) * repeats
        new, old = [], []
        for t in times:
            t0 = time.perf_counter()
            a = reconstruct(stream, method="atfi", at=t)
            t1 = time.perf_counter()
            b = atfi_numpy(stream, t)
            t2 = time.perf_counter()
            assert a.tobytes() == b.tobytes(), f"{name} t={t}: the kernels differ"
            new.append((t1 - t0) * 1e3)
            old.append((t2 - t1) * 1e3)
        out[name] = {"frames": stream.n_frames, "calls": len(times), "atfi_ms_median": float(np.median(new)),
                     "numpy_kernel_ms_median": float(np.median(old)),
                     "speedup_median": float(np.median(np.asarray(old) / np.asarray(new))), "identical": True}
    return out


def api_frame_times(repeats: int) -> dict:
    from starlette.testclient import TestClient

    from spikevision.io import load, read_dat
    from spikevision.recon import reconstruct
    from spikevision.view import LoadOptions, ViewSettings, create_app, open_catalog

    app = create_app(open_catalog(BUNDLED, LoadOptions(sensor="vidar")), ViewSettings(cache_bytes=0))
    stream = read_dat(BUNDLED, sensor="vidar")
    times = list(range(20, 81)) * repeats
    out = {}
    with TestClient(app, base_url="http://127.0.0.1") as c:
        for method in ("raw", "tfp", "atfi"):
            c.get(f"/api/frame?t=50&method={method}")                     # warm-up (imports)
            server, direct, before = [], [], []
            for t in times:
                r = c.get(f"/api/frame?t={t}&method={method}")
                assert r.status_code == 200, r.text
                server.append(float(r.headers["server-timing"].split("dur=")[1]))
                t0 = time.perf_counter()
                if method == "raw":
                    stream[t]
                else:
                    reconstruct(stream, method=method, at=t)
                direct.append((time.perf_counter() - t0) * 1e3)
                if method == "atfi":                                       # the previous implementation
                    t0 = time.perf_counter()
                    atfi_numpy(stream, t)
                    before.append((time.perf_counter() - t0) * 1e3)
            out[method] = {"server_ms_median": float(np.median(server)), "server_ms_p90": float(np.percentile(server, 90)),
                           "server_ms_min": float(np.min(server)), "reconstruct_ms_median": float(np.median(direct)),
                           "reconstruct_ms_min": float(np.min(direct)), "requests": len(server)}
            if before:
                out[method]["numpy_kernel_ms_median"] = float(np.median(before))
        reopen = []                        # what each request paid before a .dat source was kept open
        for _ in range(40):
            t0 = time.perf_counter()
            load(BUNDLED, sensor="vidar")
            reopen.append((time.perf_counter() - t0) * 1e3)
        out["reopen_dat_ms_median"] = float(np.median(reopen))
    return out


def make_big(path: Path, n_bytes: int) -> Path:
    """A ``.dat`` of about ``n_bytes``: the bundled clip's frames repeated (and reversed every other time)."""
    clip = np.fromfile(BUNDLED, np.uint8).reshape(-1, FRAME_BYTES)
    block = np.concatenate([clip, clip[::-1]])
    reps = max(1, n_bytes // block.nbytes)
    if path.exists() and path.stat().st_size == reps * block.nbytes:
        return path
    with open(path, "wb") as fh:
        for _ in range(reps):
            fh.write(block.tobytes())
    return path


def start_viewer(path: Path) -> tuple[subprocess.Popen, str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "spikevision.cli.main", "view", str(path), "--sensor", "vidar",
                             "--port", "0", "--no-browser", "--no-export"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    while True:
        line = proc.stdout.readline()
        if line.startswith("spikevision view: "):
            return proc, line.split(": ", 1)[1].strip(), t0
        if not line and proc.poll() is not None:
            raise RuntimeError("the viewer did not start")


def first_paint(path: Path) -> dict:
    import shutil as sh

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=sh.which("chromium"), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.set_default_timeout(120_000)
        proc, url, t_spawn = start_viewer(path)
        try:
            t_url = time.perf_counter()
            page.goto(url)
            page.wait_for_function("() => { const i = document.querySelector('.panel img');"
                                   " return i && i.complete && i.naturalWidth > 0; }", polling="raf")
            t_paint = time.perf_counter()
            page.wait_for_function("() => document.querySelector('#readout').textContent.includes('spikes')")
            t_rate = time.perf_counter()
        finally:
            proc.terminate()
            proc.wait(10)
            browser.close()
    return {"file_bytes": path.stat().st_size, "server_start_s": t_url - t_spawn,
            "paint_from_process_start_s": t_paint - t_spawn, "paint_from_navigation_s": t_paint - t_url,
            "rate_plot_from_process_start_s": t_rate - t_spawn}


def rss_kib(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS", "RssAnon", "RssFile")):
                k, v = line.split(":")
                out[k] = int(v.split()[0])
    return out


def scrub_rss(path: Path, requests: int, seed: int = 0) -> dict:
    proc, url, _ = start_viewer(path)
    peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for k, v in rss_kib(proc.pid).items():
                peak[k] = max(peak[k], v)
            time.sleep(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        base = url
        info = json.loads(urllib.request.urlopen(base + "api/info", timeout=60).read())
        rng = random.Random(seed)
        t0 = time.perf_counter()
        counts = json.loads(urllib.request.urlopen(base + "api/rate", timeout=600).read())["counts"]
        t_rate = time.perf_counter() - t0
        ts = sorted(rng.randrange(20, info["frames"] - 21) for _ in range(requests))
        t0 = time.perf_counter()
        for i, t in enumerate(ts):
            method = ("tfp", "raw", "mean")[i % 3]
            urllib.request.urlopen(f"{base}api/frame?t={t}&method={method}", timeout=60).read()
        t_scrub = time.perf_counter() - t0
        final = rss_kib(proc.pid)
    finally:
        stop.set()
        th.join(1)
        proc.terminate()
        proc.wait(10)
    return {"file_bytes": path.stat().st_size, "frames": info["frames"], "rate_counts": len(counts),
            "rate_s": t_rate, "scrub_requests": requests, "scrub_ms_per_request": t_scrub / requests * 1e3,
            "peak_rss_mib": peak["VmRSS"] / 1024, "peak_rss_anon_mib": peak["RssAnon"] / 1024,
            "peak_rss_file_mib": peak["RssFile"] / 1024, "final_rss_mib": final["VmRSS"] / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "spikevision_bench_view")
    ap.add_argument("--repeats", type=int, default=2, help="passes over frames 20..80 per method")
    ap.add_argument("--scrub", type=int, default=600, help="frame requests while scrubbing the 2 GB file")
    ap.add_argument("--keep", action="store_true", help="keep the big files")
    ap.add_argument("--parts", default="api,paint,scrub", help="comma-separated: atfi, api, paint, scrub")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    res = {"load_before": os.getloadavg()[0], "cpus": os.cpu_count()}
    parts = set(args.parts.split(","))
    if "atfi" in parts:
        res["atfi"] = atfi_times(args.repeats)
        print(json.dumps(res["atfi"], indent=1), flush=True)
    if "api" in parts:
        res["api_frame"] = api_frame_times(args.repeats)
        print(json.dumps(res["api_frame"], indent=1), flush=True)
    big1 = args.workdir / "big_1g.dat"
    big2 = args.workdir / "big_2g.dat"
    if "paint" in parts and shutil.which("chromium"):
        res["first_paint_1g"] = first_paint(make_big(big1, 10**9))
        print(json.dumps(res["first_paint_1g"], indent=1), flush=True)
    if "scrub" in parts:
        res["scrub_2g"] = scrub_rss(make_big(big2, 2 * 10**9), args.scrub)
    res["load_after"] = os.getloadavg()[0]
    print(json.dumps(res, indent=1))
    if not args.keep:
        big1.unlink(missing_ok=True)
        big2.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
