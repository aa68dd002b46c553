"""Flow inference speed at 250 x 400 on 2 CPU threads: the learned network vs. the classical baseline.

Run:  .venv/bin/python benchmarks/bench_flow.py [--repeats 7] [--threads 2] [--weights PATH] [--ensemble 1 4 8]
      .venv/bin/python benchmarks/bench_flow.py --figures docs --synth /work/runs/flow_eval   (figures of docs/flow.md)

Measures, in one run and on the same synthetic 250 x 400 spike stream (a
translating texture fired through the REDS camera model), dt = 20:
1. ``estimate_flow(..., method="spikeflow")`` end to end with its defaults (window slicing,
   the ensemble of 2 symmetries, network, static-background gate; no model loading: the
   model is loaded once before timing); and the same with ``still_gate=False``;
2. ``estimate_flow(..., method="classical")`` (two TFP reconstructions + OpenCV DIS medium);
3. spikeflow with each other ``--ensemble`` size (1 = a single estimate), as a ratio to 1.;
reported as the median wall time over ``--repeats`` runs and as a ratio to the
baseline. The machine is shared, so a median of several runs is reported with
the minimum next to it, the CPU time (all threads; on an idle machine the wall
time is about CPU time / threads) and the load average at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import time

# On a shared machine, spinning OpenMP workers wait for descheduled siblings: let them sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np


def make_stream(h: int = 250, w: int = 400, n: int = 90, seed: int = 0) -> np.ndarray:
    import cv2

    from spikevision.sim import fire

    rng = np.random.default_rng(seed)
    tex = cv2.resize(rng.random((h // 8, w // 8)).astype(np.float32), (w + 60, h + 60), interpolation=cv2.INTER_CUBIC)
    frames = [cv2.warpAffine(tex.clip(0, 1), np.float32([[1, 0, 0.3 * t - 30], [0, 1, 0.1 * t - 30]]), (w, h),
                             borderMode=cv2.BORDER_REFLECT) for t in range(n)]
    return fire(np.stack(frames), seed=seed)


def timeit(fn, repeats: int) -> tuple[float, float, float]:
    """Median and minimum wall time, and median CPU time (all threads) of ``fn()``, in seconds."""
    fn()  # warm-up
    ts, cs = [], []
    for _ in range(repeats):
        c = time.process_time()
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
        cs.append(time.process_time() - c)
    return float(np.median(ts)), float(np.min(ts)), float(np.median(cs))


def _panel(tiles: list[tuple[str, np.ndarray]], path: str, cols: int) -> None:
    """Save labelled RGB/gray tiles in a grid (matplotlib, for the docs only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spikevision.io.atomic import atomic_path

    rows = (len(tiles) + cols - 1) // cols
    h, w = tiles[0][1].shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 3.2 * w / max(h, w) + 0.2, rows * 3.2 * h / max(h, w) + 0.5),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (title, img) in zip(axes.ravel(), tiles):
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1 if img.dtype != np.uint8 else 255)
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def figures(out_dir: str, synth: str | None, weights: str | None) -> dict:
    """Figures of docs/flow.md and the real-data numbers (mean flow magnitude on the static UHSR capture)."""
    from pathlib import Path

    from spikevision.flow import estimate_flow, read_synthetic_item, synthetic_flow_items
    from spikevision.metrics.flow import flow_errors
    from spikevision.recon import reconstruct
    from spikevision.viz.flow import color_wheel, flow_arrows, flow_with_legend

    out = Path(out_dir)
    opts = {"weights": weights} if weights else {}
    res: dict = {}
    _panel([("colour wheel legend (radius = 10 px)", color_wheel(201, max_flow=10.0))], str(out / "flow_legend.png"), 1)
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    # --- real, static: UHSR helicopter (250 x 250, 200 frames, low light)
    uhsr = shared / "real_uhsr_helicopter" / "uhsr.npz"
    if uhsr.is_file():
        spk = np.load(uhsr)["spk"].astype(np.uint8)
        tiles = []
        for t0 in (60, 100, 140):
            for method in ("spikeflow", "classical"):
                f = estimate_flow(spk, t0, 20, method=method, **(opts if method == "spikeflow" else {}))
                res.setdefault(f"uhsr_mean_mag_{method}", []).append(float(np.sqrt((f**2).sum(-1)).mean()))
                if t0 == 100:
                    tiles.append((f"{method}, t0=100, dt=20: mean |flow| {res[f'uhsr_mean_mag_{method}'][-1]:.3f} px\n"
                                  "(colour r = 2 px)", flow_with_legend(f, max_flow=2.0)))
        img = reconstruct(spk, method="tfp", at=100, window=81)
        img = np.clip(img / max(np.percentile(img, 99.5), 1e-6), 0, 1)
        tiles.insert(0, ("real UHSR capture (static), TFP 81 frames", img))
        for k in list(res):
            if k.startswith("uhsr_mean_mag_"):
                res[k] = float(np.mean(res[k]))
        _panel(tiles, str(out / "flow_real_uhsr.png"), 3)
    # --- REDS clip (spikes simulated from a real high-speed video; camera and object motion)
    reds = shared / "reds_train_sample" / "spike" / "203_part2_key_id151.dat"
    if reds.is_file():
        from spikevision.io.dat import read_dat

        s = read_dat(reds, sensor="vidar")
        img = reconstruct(s, method="tfp", at=150)
        tiles = [("REDS 203_part2 (simulated from real video), TFP at 150", img)]
        for method in ("spikeflow", "classical"):
            f = estimate_flow(s, 140, 20, method=method, **(opts if method == "spikeflow" else {}))
            res[f"reds_mean_mag_{method}"] = float(np.sqrt((f**2).sum(-1)).mean())
            tiles.append((f"{method}, t0=140, dt=20\n(colour r = 8 px)", flow_with_legend(f, max_flow=8.0)))
            tiles.append((f"{method}: arrows (true length)", flow_arrows(img, f, step=20)))
        _panel(tiles, str(out / "flow_reds.png"), 3)
    # --- held-out synthetic scene: GT vs baseline vs network
    if synth:
        items = [i for i in synthetic_flow_items(synth, dt=20) if i.t0 == 100 and i.index in (0, 1, 7)]
        tiles = []
        for it in items:
            stream, gt, valid = read_synthetic_item(synth, it)
            img = reconstruct(stream, method="tfp", at=it.t0)
            tiles.append((f"{it.scene} TFP at t0={it.t0}", img))
            tiles.append(("GT flow, dt=20\n(colour r = 10 px)", flow_with_legend(np.where(valid[..., None], gt, np.nan), max_flow=10.0)))
            for method, gate in (("classical", False), ("spikeflow", False), ("spikeflow", True)):
                f = estimate_flow(stream, it.t0, 20, method=method, still_gate=gate,
                                  **(opts if method == "spikeflow" else {}))
                e = flow_errors(f, gt, mask=valid)
                name = f"{method}{', still gate' if gate else (', no gate' if method == 'spikeflow' else '')}"
                tiles.append((f"{name}\nAEE {e['aee']:.2f} px, PO {e['po']:.1f}%", flow_with_legend(f, max_flow=10.0)))
        _panel(tiles, str(out / "flow_synthetic.png"), 5)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights", default=None, help="checkpoint instead of the shipped weights")
    ap.add_argument("--ensemble", type=int, nargs="*", default=[1, 4, 8],
                    help="also time spikeflow with these self-ensemble sizes (4 and 8 with half the repeats; none: skip)")
    ap.add_argument("--figures", default=None, help="write the docs figures to this folder instead of timing")
    ap.add_argument("--synth", default=None, help="held-out synthetic dataset for the figures")
    args = ap.parse_args()
    if args.figures:
        print(json.dumps(figures(args.figures, args.synth, args.weights), indent=2))
        return

    import cv2
    import torch

    from spikevision.flow import estimate_flow, load_flow_model
    from spikevision.flow.api import DEFAULT_ENSEMBLE

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    spikes = make_stream()
    load_flow_model(args.weights)
    opts = {"weights": args.weights} if args.weights else {}
    learned = timeit(lambda: estimate_flow(spikes, 30, 20, method="spikeflow", **opts), args.repeats)
    ungated = timeit(lambda: estimate_flow(spikes, 30, 20, method="spikeflow", still_gate=False, **opts), args.repeats)
    classical = timeit(lambda: estimate_flow(spikes, 30, 20, method="classical"), args.repeats)
    ensembles = {k: timeit(lambda: estimate_flow(spikes, 30, 20, method="spikeflow", ensemble=k, **opts),
                           args.repeats if k < 4 else max(1, args.repeats // 2)) for k in args.ensemble}
    res = {"size": "250x400", "threads": args.threads, "repeats": args.repeats, "default_ensemble": DEFAULT_ENSEMBLE,
           "load_average_1min": os.getloadavg()[0],
           "spikeflow_median_s": learned[0], "spikeflow_min_s": learned[1], "spikeflow_cpu_s": learned[2],
           "spikeflow_without_still_gate_median_s": ungated[0],
           "classical_median_s": classical[0], "classical_min_s": classical[1], "classical_cpu_s": classical[2],
           "ratio_spikeflow_over_classical": learned[0] / classical[0],
           **{f"spikeflow_ensemble{k}_median_s": v[0] for k, v in ensembles.items()},
           **{f"spikeflow_ensemble{k}_min_s": v[1] for k, v in ensembles.items()},
           **{f"ratio_ensemble{k}_over_spikeflow": v[0] / learned[0] for k, v in ensembles.items()}}
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
