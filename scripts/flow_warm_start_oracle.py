"""How good can a classical warm start for the flow network be? (diagnostic)

For every GT flow of a synthetic dataset (``spikevision synth`` layout) this
computes DIS flows between images reconstructed from the two 41-frame windows
in several ways (TFP over 41, 21 and 11 frames; the shipped CNN
reconstructor), their AEE, and the AEE of the per-pixel *oracle* that picks,
at every pixel, the candidate closest to the GT (a bound no selection rule
can beat). Prints one line per flow and the unweighted mean over scenes:

    .venv/bin/python scripts/flow_warm_start_oracle.py /work/runs/flow_eval --dt 20
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help="synthetic dataset folder")
    ap.add_argument("--dt", type=int, default=20)
    args = ap.parse_args()
    import torch

    from spikevision.flow.classical import classical_flow_images
    from spikevision.datasets.flow import read_synthetic_item, synthetic_flow_items
    from spikevision.metrics.flow import flow_errors
    from spikevision.recon.classical import tfp
    from spikevision.recon.learned import reconstruct_learned

    torch.set_num_threads(1)
    res: dict[str, list[dict[str, float]]] = {}
    for it in synthetic_flow_items(args.data, dt=args.dt):
        s, gt, valid = read_synthetic_item(args.data, it)
        if it.t0 - 20 < 0 or it.t0 + args.dt + 21 > s.n_frames:
            continue
        w0 = np.asarray(s[it.t0 - 20 : it.t0 + 21])
        w1 = np.asarray(s[it.t0 + args.dt - 20 : it.t0 + args.dt + 21])
        imgs = {f"tfp{n}": tuple(tfp(w[20 - n // 2 : 21 + n // 2], at=n // 2, window=n) for w in (w0, w1))
                for n in (41, 21, 11)}
        imgs["cnn"] = tuple(reconstruct_learned(w, model="cnn") for w in (w0, w1))
        cands = {k: classical_flow_images(*v) for k, v in imgs.items()}
        out = {k: flow_errors(f, gt, mask=valid)["aee"] for k, f in cands.items()}
        err = np.stack([np.linalg.norm(f - gt, axis=-1) for f in cands.values()])
        out["oracle"] = float(err.min(0)[valid].mean())
        res.setdefault(it.scene, []).append(out)
        print(it.scene, it.t0, {k: round(v, 3) for k, v in out.items()}, flush=True)
    keys = list(next(iter(res.values()))[0])
    print("mean over scenes:", {k: round(float(np.mean([np.mean([o[k] for o in v]) for v in res.values()])), 3)
                                for k in keys})


if __name__ == "__main__":
    main()
