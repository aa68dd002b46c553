"""Mean flow magnitude of the default ``estimate_flow`` on a static real recording (it should be zero).

    python scripts/flow_real_static.py ../shared/data/real_uhsr_helicopter/uhsr.npz --weights shipped,runs/x/candidate.pt

Flows at t0 = 60, 100, 140 with dt = 20 (the numbers of docs/flow.md, "Real data"); per weights,
the mean over those flows of the per-pixel |flow|.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recording", help="a static recording: .npz with an 'spk' array, or any file spikevision reads")
    ap.add_argument("--weights", default="shipped", help="comma-separated: 'shipped' or checkpoint files")
    args = ap.parse_args(argv)

    from spikevision.flow import estimate_flow

    if args.recording.endswith(".npz"):
        z = np.load(args.recording)
        if "spk" not in z.files:
            ap.error(f"{args.recording}: no 'spk' array (has {z.files})")
        spikes = z["spk"].astype(np.uint8)
    else:
        from spikevision.io import load

        spikes = load(args.recording)
    res = {}
    for w in [x.strip() for x in args.weights.split(",") if x.strip()]:
        opts = {} if w == "shipped" else {"weights": w}
        mags = [float(np.hypot(*np.moveaxis(estimate_flow(spikes, t0, 20, method="spikeflow", **opts), -1, 0)).mean())
                for t0 in (60, 100, 140)]
        res[w] = float(np.mean(mags))
        print(f"{w}: mean |flow| {res[w]:.4f} px", file=sys.stderr)
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
