"""Reconstruction benchmark: whole-stream speed against spikezoo's per-frame TFP/TFI, and quality.

Speed: TFP and TFI for every frame with a full 41-frame window of a 301-frame
250 x 400 clip (261 images), ours (``reconstruct(..., every=1)``) against
spikezoo 0.2.3.7's ``TFPModel`` / ``TFIModel`` called once per frame, in the
same run. Both sides start from the decoded spikes in memory (spikezoo gets a
float32 torch tensor, its loader's format, converted before timing) and both
produce the same result, ``(261, 250, 400)`` float32 intensities
``clip(rate / 0.6, 0, 1)``; the spikezoo loop's "bare" time (the model calls
only, results discarded) is reported too. Single thread on both sides.

spikezoo runs in its own venv, because ``import spikezoo`` needs packages we
do not install; only ``spikezoo/archs/tfp/nets.py`` and ``archs/tfi/nets.py``
are loaded (``importlib.util.spec_from_file_location``). Set it up with::

    python3 -m venv /work/benchenv2
    /work/benchenv2/bin/pip install torch==2.13.0 numpy
    /work/benchenv2/bin/pip install --no-deps spikezoo==0.2.3.7

and run::

    .venv/bin/python benchmarks/bench_recon.py --spikezoo-python /work/benchenv2/bin/python \\
        --data ../shared/data/reds_train_sample

Without ``--spikezoo-python`` (or when spikezoo is not importable there) the
comparison is skipped with a message. Quality: PSNR/SSIM of every registered
classical method on ``--data`` with the default protocol of ``eval recon``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

SZ_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys, time, types
    from pathlib import Path
    import numpy as np, torch
    torch.set_num_threads(1)
    sys.modules.setdefault("cv2", types.ModuleType("cv2"))  # imported but unused by archs/tfi/nets.py
    spec = importlib.util.find_spec("spikezoo")
    if spec is None or not spec.submodule_search_locations:
        print(json.dumps({"error": "spikezoo is not installed in this interpreter"})); sys.exit(0)
    root = Path(list(spec.submodule_search_locations)[0])
    def load(rel, name):
        s = importlib.util.spec_from_file_location(name, root / rel)
        m = importlib.util.module_from_spec(s); s.loader.exec_module(m); return m
    tfp = load("archs/tfp/nets.py", "sz_tfp_nets"); tfi = load("archs/tfi/nets.py", "sz_tfi_nets")
    spikes = np.load(sys.argv[1]); repeats = int(sys.argv[2]); rr = float(sys.argv[3])
    x = torch.from_numpy(spikes.astype(np.float32))[None]
    T, H, W = spikes.shape; times = list(range(20, T - 20))
    res = {"version": __import__("importlib.metadata").metadata.version("spikezoo")}
    for name, net in (("tfp", tfp.TFPModel(41)), ("tfi", tfi.TFIModel(41))):
        net.device = "cpu"
        full, bare = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = np.empty((len(times), H, W), np.float32)
            with torch.no_grad():
                for i, t in enumerate(times):
                    img = net(x[:, t - 20 : t + 21])
                    out[i] = (img[0, 0] / rr).clamp_(0, 1).numpy()
            full.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with torch.no_grad():
                for t in times:
                    net(x[:, t - 20 : t + 21])
            bare.append(time.perf_counter() - t0)
        np.save(sys.argv[4] + f"_{name}.npy", out[len(times) // 2])
        res[name] = {"full_s": float(np.min(full)), "bare_s": float(np.min(bare))}
    print(json.dumps(res))
    """
)


def load_clip(data: Path | None) -> tuple[np.ndarray, str]:
    from spikevision import read_dat

    if data is not None:
        dats = sorted((data / "spike").glob("*.dat"))
        if dats:
            return np.asarray(read_dat(dats[0], sensor="vidar")), dats[0].name
    rng = np.random.default_rng(0)
    return (rng.random((301, 250, 400)) < 0.3).astype(np.uint8), "synthetic Bernoulli(0.3)"


def time_ours(spikes: np.ndarray, method: str, repeats: int) -> tuple[float, np.ndarray]:
    from spikevision import SpikeStream
    from spikevision.recon import reconstruct

    stream = SpikeStream(spikes)  # validated once, outside the timing
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = reconstruct(stream, method=method, every=1)
        ts.append(time.perf_counter() - t0)
    return float(np.min(ts)), out


def run_spikezoo(python: str, spikes: np.ndarray, repeats: int, tmp: Path) -> dict:
    np.save(tmp / "spikes.npy", spikes)
    script = tmp / "sz_bench.py"
    script.write_text(SZ_SCRIPT)
    proc = subprocess.run([python, str(script), str(tmp / "spikes.npy"), str(repeats), "0.6", str(tmp / "mid")],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/reds_train_sample")
    ap.add_argument("--spikezoo-python", default=None, help="Python of a venv with spikezoo 0.2.3.7 + torch.")
    ap.add_argument("--repeats", type=int, default=5, help="Our timings per round (best kept).")
    ap.add_argument("--rounds", type=int, default=3, help="Alternating rounds ours/spikezoo.")
    ap.add_argument("--skip-quality", action="store_true")
    args = ap.parse_args()

    data = args.data if args.data.is_dir() else None
    spikes, what = load_clip(data)
    print(f"clip: {what}, {spikes.shape[0]} frames {spikes.shape[1]}x{spikes.shape[2]}, 41-frame window, "
          f"{spikes.shape[0] - 40} images per method")
    ours = {}
    for m in ("tfstp", "atfi"):
        ours[m], _ = time_ours(spikes, m, 1)
    # The machine is shared: time ours and spikezoo in alternating rounds and keep the median
    # of the per-round ratios (each side: best of its repeats within the round).
    rounds = []
    sz = None
    with tempfile.TemporaryDirectory() as d:
        for _ in range(args.rounds):
            mine = {}
            for m in ("tfp", "tfi"):
                mine[m], out = time_ours(spikes, m, args.repeats)
                if m == "tfp":
                    mid = out[len(out) // 2]
                else:
                    mid_tfi = out[len(out) // 2]
            if args.spikezoo_python:
                sz = run_spikezoo(args.spikezoo_python, spikes, 2, Path(d))
                if "error" in sz:
                    break
                sz["tfp_max_abs_diff"] = float(np.abs(np.load(Path(d) / "mid_tfp.npy") - mid).max())
                sz["tfi_mean_abs_diff"] = float(np.abs(np.load(Path(d) / "mid_tfi.npy") - mid_tfi).mean())
            rounds.append((mine, sz))
            if not args.spikezoo_python:
                break
    for m in ("tfp", "tfi"):
        ours[m] = float(np.median([r[0][m] for r in rounds]))
    ratio = {}
    if sz and "error" not in sz:
        for m in ("tfp", "tfi"):
            ratio[m] = (float(np.median([r[1][m]["full_s"] / r[0][m] for r in rounds])),
                        float(np.median([r[1][m]["bare_s"] / r[0][m] for r in rounds])))
            sz[m] = {k: float(np.median([r[1][m][k] for r in rounds])) for k in ("full_s", "bare_s")}
    print(f"\n{len(rounds)} alternating round(s); per round: ours best of {args.repeats}, spikezoo best of 2; "
          "median over rounds (ratios: median of the per-round ratios)")
    print("\n| whole stream (every=1) | ours | spikezoo per frame, same output | ratio | spikezoo bare calls | ratio |")
    print("|---|---|---|---|---|---|")
    for m in ("tfp", "tfi", "tfstp", "atfi"):
        if sz and "error" not in sz and m in ratio:
            f, b = sz[m]["full_s"], sz[m]["bare_s"]
            print(f"| {m} | {ours[m] * 1e3:.1f} ms | {f * 1e3:.0f} ms | **{ratio[m][0]:.1f}x** | {b * 1e3:.0f} ms | "
                  f"{ratio[m][1]:.1f}x |")
        else:
            print(f"| {m} | {ours[m] * 1e3:.1f} ms | - | - | - | - |")
    if sz is None:
        print("\nspikezoo comparison skipped: pass --spikezoo-python (see the module docstring)")
    elif "error" in sz:
        print(f"\nspikezoo comparison skipped: {sz['error']}")
    else:
        print(f"\nspikezoo {sz['version']}: TFP middle image max |ours - spikezoo/0.6| = {sz['tfp_max_abs_diff']:.2e}; "
              f"TFI mean |diff| = {sz['tfi_mean_abs_diff']:.4f} (different no-spike rule and frame-0 handling)")
    if args.skip_quality or data is None:
        return
    from spikevision.recon.evaluate import evaluate_folder

    print(f"\nquality on {data} (41-frame window centred on the GT frame, /0.6, PSNR data_range=1, SSIM sigma=1.5)")
    print("| method | " + " | ".join(p.stem for p in sorted((data / 'spike').glob('*.dat'))) + " | mean PSNR | mean SSIM |")
    print("|---|" + "---|" * (len(list((data / 'spike').glob('*.dat'))) + 2))
    for m in ("tfp", "tfi", "tfstp", "atfi"):
        r = evaluate_folder(data, method=m)
        cells = " | ".join(f"{f['psnr']:.2f} / {f['ssim']:.4f}" for f in r["files"])
        print(f"| {m} | {cells} | {r['mean']['psnr']:.2f} | {r['mean']['ssim']:.4f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
