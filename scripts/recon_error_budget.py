"""Where a learned reconstructor's error lies on REDS-style clips, and what exact motion would add.

Two measurements behind the README's "Where the CNN's remaining error is":

1. On a folder of REDS-style clips (``spike/NAME.dat`` + ``gt/NAME.png``, the
   ``eval recon`` protocol: GT at the middle frame, 41-frame window), per clip:
   PSNR; PSNR after the best affine brightness correction (least squares);
   the PSNR the error's coarse part alone (Gaussian, sigma 4 px) would give;
   and the share of the squared error (smoothed, sigma 6 px) in the worst tenth
   of the image.
2. On simulated key-frame crops from the training generator (no REDS data): the
   CNN's PSNR with its own velocity estimate, and with the exact velocity and
   velocity change put in its place.

    .venv/bin/python scripts/recon_error_budget.py --reds ../shared/data/reds_train_sample \
        --method cnn --crops 48 --seed 123

Use it on the sample clips, not on held-out ones you select with.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _psnr(mse: float) -> float:
    return float(10 * np.log10(1.0 / max(mse, 1e-12)))


def clip_budget(folder: str | Path, method: str) -> list[dict]:
    """Per-clip error budget of ``method`` on a REDS-style folder."""
    from scipy.ndimage import gaussian_filter

    from spikevision.datasets import DatasetError, find_recon_items, open_recon_item
    from spikevision.recon import method_options, reconstruct
    from spikevision.recon.evaluate import EVAL_WINDOW

    try:
        items = find_recon_items(folder)
    except DatasetError as exc:
        raise SystemExit(str(exc)) from None
    accepted = method_options(method)
    opts = {"window": EVAL_WINDOW}
    if accepted is None or "rate_ratio" in accepted:
        opts["rate_ratio"] = 0.6
    rows = []
    for item in items:
        s, frame, gt = open_recon_item(item, dtype=np.float64)
        with s:
            img = reconstruct(s, method=method, at=frame, **opts).astype(np.float64)
        err = img - gt
        design = np.stack([img.ravel(), np.ones(img.size)], 1)
        coef, *_ = np.linalg.lstsq(design, gt.ravel(), rcond=None)
        local = np.sort(gaussian_filter(err**2, 6).ravel())[::-1]
        rows.append({
            "clip": item.name,
            "psnr": _psnr(np.mean(err**2)),
            "psnr_affine": _psnr(np.mean((design @ coef - gt.ravel()) ** 2)),
            "affine": [float(coef[0]), float(coef[1])],
            "psnr_coarse_error_only": _psnr(np.mean(gaussian_filter(err, 4) ** 2)),
            "worst_tenth_error_share": float(local[: local.size // 10].sum() / local.sum()),
        })
    return rows


def exact_motion_gain(crops: int, seed: int, patch: int = 128) -> dict:
    """Mean PSNR of the shipped CNN on simulated key-frame crops, with its own and with exact motion."""
    import torch

    from spikevision.recon.learned.api import load_model
    from spikevision.recon.learned.data import ReconDataConfig, make_batch

    net = load_model("cnn")
    cfg = ReconDataConfig(patch=patch, key_frame_fraction=1.0, extra_photos=True, noisy_fraction=0.0)
    rng = np.random.default_rng(seed)
    scores: dict[str, list[float]] = {"estimated": [], "exact": []}
    own = net.velocity.forward
    try:
        for start in range(0, crops, 8):
            spikes, gt, vel = make_batch(rng, min(8, crops - start), cfg)
            x, y, v = torch.from_numpy(spikes).float(), torch.from_numpy(gt), torch.from_numpy(vel)
            for key, motion in (("estimated", None), ("exact", v[:, : 4 if net.cfg.kink else 2])):
                net.velocity.forward = own if motion is None else (lambda rates, m=motion: m)
                with torch.inference_mode():
                    img, _ = net(x)
                mse = ((img.clamp(0, 1) - y) ** 2).flatten(1).mean(1)
                scores[key] += (10 * torch.log10(1 / mse)).tolist()
    finally:
        net.velocity.__dict__.pop("forward", None)  # the class's own forward again (the model is cached)
    return {k: float(np.mean(s)) for k, s in scores.items()} | {"crops": crops, "patch": patch, "seed": seed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reds", required=True, help="REDS-style folder (spike/NAME.dat + gt/NAME.png)")
    ap.add_argument("--method", default="cnn")
    ap.add_argument("--crops", type=int, default=48, help="simulated key-frame crops for the exact-motion test (0: skip)")
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.crops < 0:
        ap.error("--crops must be >= 0")
    import torch

    torch.set_num_threads(args.threads)
    out = {"clips": clip_budget(args.reds, args.method)}
    if args.crops:
        out["exact_motion"] = exact_motion_gain(args.crops, args.seed)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
