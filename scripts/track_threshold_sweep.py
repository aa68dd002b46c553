"""Choose a learned tracking detector's checkpoint and heatmap threshold on tuning folders.

For every checkpoint x threshold, runs ``track --method learned`` on each folder
of tracking sequences (as ``spikevision synth-track`` writes them) and counts
the MOTA errors (FP + FN + ID switches, frames 50-290 every 10, as
``spikevision eval track``); prints one JSON line per setting and, last, the
setting with the fewest errors over all folders together. Never point it at a
held-out set: that is scored once, after this choice.

Usage::

    python scripts/track_threshold_sweep.py --weights runs/centernet_mixed/best.pt runs/centernet_mixed/last.pt \\
        --thresholds 0.2 0.25 0.3 0.35 0.4 0.45 0.5 0.55 0.6 0.65 0.7 0.75 0.8 \\
        --data track_val_synth track_tune_synth
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    from spikevision.track import TrackSettings
    from spikevision.track.evaluate import evaluate_track_folder
    from spikevision.track.learned import LearnedSettings

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", nargs="+", required=True, help="checkpoints or registry names")
    ap.add_argument("--thresholds", nargs="+", type=float, required=True)
    ap.add_argument("--data", nargs="+", required=True, help="folders of tracking sequences (tuning only)")
    args = ap.parse_args()
    rows = []
    for w in args.weights:
        for t in args.thresholds:
            settings = TrackSettings(learned=LearnedSettings(weights=w, threshold=t))
            row = {"weights": w, "threshold": t, "errors": 0}
            for d in args.data:
                c = evaluate_track_folder(d, method="learned", settings=settings)["combined"]
                e = int(c["FP"] + c["FN"] + c["IDSW"])
                row[d] = {"MOTA": round(c["MOTA"], 3), "IDF1": round(c["IDF1"], 3), "FP": int(c["FP"]),
                          "FN": int(c["FN"]), "IDSW": int(c["IDSW"]), "errors": e}
                row["errors"] += e
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("fewest errors:", json.dumps(min(rows, key=lambda r: r["errors"])))


if __name__ == "__main__":
    main()
