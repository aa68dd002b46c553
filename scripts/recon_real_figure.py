"""Side-by-side reconstructions of a real recording without ground truth, with NIQE.

    .venv/bin/python scripts/recon_real_figure.py ../shared/data/real_uhsr_helicopter/uhsr.npz docs/recon_real_uhsr.png

Reconstructs the middle frame of the recording with TFP, ATFI and the learned
models (those installed), prints each method's NIQE (lower is better) and
writes one PNG with the panels side by side (labelled in the printed order).
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recording")
    ap.add_argument("out_png")
    ap.add_argument("--methods", default="tfp,tfi,atfi,cnn,snn")
    ap.add_argument("--at", type=int, default=None, help="frame (default: the middle one)")
    args = ap.parse_args()

    from spikevision.recon.learned.api import unavailable_reason as _available
    from spikevision.io.formats import load
    from spikevision.metrics import niqe
    from spikevision.recon import reconstruct
    from spikevision.viz import write_png

    stream = load(args.recording)
    at = stream.n_frames // 2 if args.at is None else args.at
    panels, scores = [], {}
    for m in args.methods.split(","):
        if _available(m):
            print(f"{m}: skipped ({_available(m)})")
            continue
        img = reconstruct(stream, method=m, at=at)
        # NIQE on the image as displayed: rescale to the 99.5th percentile (low-light capture)
        scale = max(float(np.percentile(img, 99.5)), 1e-3)
        shown = np.clip(img / scale, 0, 1)
        scores[m] = niqe(shown, data_range=1.0)
        panels.append(shown)
    sep = np.ones((stream.height, 4), np.float32)
    row = np.concatenate([x for p in panels for x in (p, sep)][:-1], axis=1)
    write_png(args.out_png, row)
    print(json.dumps({"recording": args.recording, "frame": at, "niqe": scores, "panels": list(scores)}, indent=2))


if __name__ == "__main__":
    main()
