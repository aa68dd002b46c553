"""Communication benchmark: spiking JSCC vs analog JSCC vs separate coding, PSNR versus SNR.

Writes the held-out evaluation images (never used in training:
``spikevision.comm.data.HELD_OUT``) to ``--workdir/heldout``, then runs the same
evaluation as ``spikevision comm eval`` on them and on a REDS-style folder, and
reports, per SNR, the spiking code's PSNR *difference* to each baseline measured
in the same run (dB), plus the checks of the issue's bar. Writes
``docs/comm_awgn_bw32.png`` (both data sets) and a JSON next to the work folder.

Command (from the repository root)::

    .venv/bin/python benchmarks/bench_comm.py --data-reds ../shared/data/reds_train_sample --workdir /work/runs/comm/bench
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def write_held_out(folder: Path) -> Path:
    from PIL import Image

    from spikevision.comm.data import held_out_images

    folder.mkdir(parents=True, exist_ok=True)
    for name, img in held_out_images().items():
        Image.fromarray(np.round(img * 255).astype(np.uint8)).save(folder / f"{name}.png")
    return folder


def bar_checks(rows: list[dict]) -> dict:
    by = {(r["method"], r["snr_db"]): r["psnr"] for r in rows}
    snrs = sorted({r["snr_db"] for r in rows})
    s = [by[("spiking_jscc", x)] for x in snrs]
    out = {
        "gain_vs_ldpc_at_or_below_0dB_min": min(by[("spiking_jscc", x)] - by[("separate_ldpc", x)] for x in snrs if x <= 0)
        if ("separate_ldpc", snrs[0]) in by else None,
        "gain_vs_ideal_min": min(by[("spiking_jscc", x)] - by[("separate_ideal", x)] for x in snrs),
        "max_drop_per_5dB": max(s[i + 1] - s[i] for i in range(len(s) - 1)) if len(s) > 1 else 0.0,
    }
    if ("analog_jscc", snrs[-1]) in by:
        out["analog_minus_spiking_at_top"] = by[("analog_jscc", snrs[-1])] - by[("spiking_jscc", snrs[-1])]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-reds", default="../shared/data/reds_train_sample")
    ap.add_argument("--workdir", default="/tmp/spikevision-comm-bench")
    ap.add_argument("--snr", default="-5:20:5")
    ap.add_argument("--max-side", type=int, default=400)
    ap.add_argument("--plot", default="docs/comm_awgn_bw32.png")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from PIL import Image

    from spikevision.comm import bpsk_ber, evaluate, load_samples, parse_snrs, plot_results, results_table

    work = Path(args.workdir)
    held = write_held_out(work / "heldout")
    snrs = parse_snrs(args.snr)
    report: dict = {}
    plots = []
    sets = [("held-out images", load_samples(held, max_side=args.max_side))]
    if Path(args.data_reds, "spike").is_dir():
        sets.append(("REDS clips", load_samples(args.data_reds)))
    for label, samples in sets:
        rows = evaluate(samples, channel="awgn", snrs=snrs, bandwidth="1/32", progress=True)
        bsc = evaluate(samples, channel="bsc", snrs=snrs, bandwidth="1/32", methods=["spiking_jscc"])
        print(f"\n### {label} ({len(samples)}: {', '.join(s.name for s in samples)})")
        print(results_table(rows))
        awgn_s = {r["snr_db"]: r["psnr"] for r in rows if r["method"] == "spiking_jscc"}
        loss = {r["snr_db"]: round(awgn_s[r["snr_db"]] - r["psnr"], 3) for r in bsc}
        print("BSC at the matching BER (Q(sqrt(SNR))): spiking JSCC PSNR loss vs AWGN (dB):",
              {f"{k:g} dB (p={bpsk_ber(k):.3g})": v for k, v in loss.items()})
        checks = bar_checks(rows)
        checks["bsc_loss_max"] = max(loss.values())
        print("bar checks:", json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in checks.items()}))
        report[label] = {"awgn": rows, "bsc": bsc, "checks": checks}
        plots.append(plot_results(rows, title=f"{label}: AWGN, bandwidth 1/32"))
    (work / "bench_comm.json").write_text(json.dumps(report, indent=1))
    if args.plot:
        from spikevision.io.atomic import atomic_path

        h = max(p.shape[0] for p in plots)
        canvas = np.full((h, sum(p.shape[1] for p in plots), 3), 255, np.uint8)
        x = 0
        for p in plots:
            canvas[: p.shape[0], x : x + p.shape[1]] = p
            x += p.shape[1]
        with atomic_path(args.plot) as tmp:
            Image.fromarray(canvas).save(tmp, format="PNG")
        print(f"plot: {args.plot}")
    print(f"json: {work / 'bench_comm.json'}")


if __name__ == "__main__":
    main()
