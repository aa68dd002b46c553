"""Copy a flow training checkpoint for evaluation with the shipped weights' inference settings.

    python scripts/flow_candidate.py runs/spikeflow_7_camera/best.pt runs/spikeflow_7_camera/candidate_best.pt

A run's checkpoints carry the training's network settings; the shipped weights also carry
``meta["inference"]`` (fewer refinement steps, a faster warm start, see docs/training/flow.md),
which ``estimate_flow(..., weights=PATH)`` applies. This copies the network only (no optimiser
state) with the shipped ``inference`` and ``dts`` entries, so the candidate runs exactly as the
default would with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    args = ap.parse_args(argv)

    from spikevision.flow.api import LEARNED_WEIGHTS
    from spikevision.learned.checkpoint import load_checkpoint, save_checkpoint

    shipped = load_checkpoint(LEARNED_WEIGHTS, task="flow", models=("spikeflow",))
    ck = load_checkpoint(args.checkpoint, task="flow", models=("spikeflow",))
    if ck.model_args != shipped.model_args:
        ap.error(f"{args.checkpoint}: another network than the shipped one ({ck.model_args} vs {shipped.model_args})")
    meta = {**ck.meta, **{k: shipped.meta[k] for k in ("inference", "dts") if k in shipped.meta}}
    save_checkpoint(args.out, dataclasses.replace(ck, meta=meta, resume=None))
    print(f"{args.out}: inference {meta.get('inference')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
