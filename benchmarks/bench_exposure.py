"""Exposure on recordings made at rate ratio 1.0 (a real camera fires up to 1 spike per frame).

Test material (made here, seeded): the bundled sample's GT frame (250 x 400) seen by a camera whose
white fires every frame (``CameraSettings(threshold=100, gain=100)``): (a) still, (b) panning 1 px per
frame. For each method: the share of pixels at 255 and PSNR/SSIM against the GT, with the REDS ratio
0.6 (the old default) and with ``auto``.

    PYTHONPATH=src python benchmarks/bench_exposure.py [--methods tfp,atfi,cnn,snn]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def material(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``(spikes (81, 250, 400) uint8, gt (250, 400) float in [0, 1] at frame 40)``."""
    from PIL import Image

    from spikevision.samples import sample
    from spikevision.sim import CameraSettings, simulate

    gt = np.asarray(Image.open(sample().gt).convert("L"), np.float32) / 255.0
    cam = CameraSettings(threshold=100.0, gain=100.0)
    if kind == "still":
        s = simulate(gt, settings=cam, n_frames=81, seed=0)
        return np.asarray(s), gt
    pad = np.pad(gt, ((0, 0), (40, 40)), mode="reflect")
    frames = np.stack([pad[:, 80 - t : 80 - t + 400] for t in range(81)])  # 1 px/frame to the right
    s = simulate(frames, settings=cam, frames_per_image=1, seed=0)
    return np.asarray(s), frames[40]


def main() -> None:
    from spikevision.metrics import psnr, ssim
    from spikevision.recon import reconstruct
    from spikevision.recon.exposure import estimate_rate_ratio

    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="tfp,atfi,cnn")
    args = ap.parse_args()
    rows = []
    for kind in ("still", "pan"):
        spikes, gt = material(kind)
        auto = estimate_rate_ratio(spikes)
        for m in args.methods.split(","):
            for rr in (0.6, "auto"):
                t = time.perf_counter()
                img = reconstruct(spikes, method=m, at=40, rate_ratio=rr)
                dt = time.perf_counter() - t
                u8 = np.round(img * 255)
                rows.append({"scene": kind, "method": m, "rate_ratio": str(rr) if rr != "auto" else f"auto={auto:.3f}",
                             "white_pct": float((u8 >= 255).mean() * 100), "gt_white_pct": float((gt >= 1).mean() * 100),
                             "psnr": psnr(img, gt, data_range=1.0), "ssim": ssim(img, gt, data_range=1.0), "s": dt})
                r = rows[-1]
                print(f"{kind:5s} {m:5s} rr={r['rate_ratio']:>10s}  at 255: {r['white_pct']:5.2f} % "
                      f"(GT {r['gt_white_pct']:.2f} %)  PSNR {r['psnr']:5.2f}  SSIM {r['ssim']:.3f}  {dt:.1f}s", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
