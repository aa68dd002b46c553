"""Inference speed of the learned reconstructors at 250 x 400 on the CPU.

    .venv/bin/python benchmarks/bench_learned.py [--threads 2] [--frames 20] [--ensemble 8]

Reports frames per second of the shipped CNN (and SNN, if installed) on a
41-frame 250 x 400 window, with TFP and ATFI timed in the same run as the
classical baselines (ratio = learned time / baseline time). Uses the shipped
weights (verified by checksum). ``--ensemble K`` also times each model with the
K-fold geometric self-ensemble (``reconstruct(..., ensemble=K)``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def timeit(fn, n: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--ensemble", type=int, choices=(2, 4, 8), default=None)
    args = ap.parse_args()
    import torch

    from spikevision.recon.learned.api import unavailable_reason as _available
    from spikevision.recon import reconstruct
    from spikevision.recon.learned import reconstruct_learned

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    window = (rng.random((41, 250, 400)) < 0.3).astype(np.uint8)
    res = {"threads": args.threads}
    for m in ("cnn", "snn"):
        if _available(m):
            print(f"{m}: skipped ({_available(m)})")
            continue
        n = args.frames if m == "cnn" else max(2, args.frames // 10)
        res[f"{m}_s"] = timeit(lambda: reconstruct_learned(window, model=m), n)
        res[f"{m}_fps"] = 1.0 / res[f"{m}_s"]
        if args.ensemble:
            k = f"{m}_x{args.ensemble}"
            res[f"{k}_s"] = timeit(lambda: reconstruct_learned(window, model=m, ensemble=args.ensemble), max(2, n // args.ensemble))
            res[f"{k}_fps"] = 1.0 / res[f"{k}_s"]
    res["tfp_s"] = timeit(lambda: reconstruct(window, method="tfp", at=20), args.frames)
    res["atfi_s"] = timeit(lambda: reconstruct(window, method="atfi", at=20), max(3, args.frames // 5))
    for k in ("cnn", f"cnn_x{args.ensemble}", "snn", f"snn_x{args.ensemble}"):
        if f"{k}_s" in res:
            print(f"{k}: {res[f'{k}_s'] * 1e3:.1f} ms/frame = {res[f'{k}_fps']:.1f} frames/s "
                  f"({res[f'{k}_s'] / res['tfp_s']:.0f}x TFP's time, {res[f'{k}_s'] / res['atfi_s']:.2f}x ATFI's)")
    print(f"tfp: {res['tfp_s'] * 1e3:.1f} ms/frame, atfi: {res['atfi_s'] * 1e3:.1f} ms/frame")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
