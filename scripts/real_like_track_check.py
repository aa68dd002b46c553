"""Real-like tracking check: a simulated car-like object passing over a *real* static spike recording.

The background is the real capture ``real_uhsr_helicopter/uhsr.npz`` (a static
scene filmed by a spike camera in low light, with its real sensor noise),
played ``--repeat`` times in a row. Inside the object's footprint the real
spikes are replaced by integrate-and-fire spikes of a bright, textured,
rounded-rectangle "car" moving rightwards at ``--speed`` px per frame (the
REDS camera model, rate 0.6 x intensity). Expected: one track that follows the
car rightwards at about ``--speed`` px per frame, and no lasting track on the
static background.

Usage::

    python scripts/real_like_track_check.py [--data ../shared/data/real_uhsr_helicopter/uhsr.npz] [--method learned [--weights W] [--threshold T]] [--json]

Prints the tracks found (id, frames, mean velocity, mean IoU with the car's box), and the
tracks found on the static capture alone (without the car).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np


def car_sequence(real: np.ndarray, *, repeat: int = 3, speed: float = 0.46, seed: int = 0):
    """Spikes ``(T, H, W)`` uint8 of the real clip with a car composited in, and the car's boxes ``(T, 4)``."""
    from spikevision.sim import REDS_PRESET, fire

    rng = np.random.default_rng(seed)
    base = np.concatenate([real] * repeat).astype(np.uint8)
    t_all, h, w = base.shape
    cw, ch = 56.0, 26.0
    y0 = 0.55 * h
    x_start = -cw / 2 + 8
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    tex = 0.75 + 0.25 * rng.random((int(ch) + 2, int(cw) + 2))
    tex[int(ch * 0.45):int(ch * 0.6), :] *= 0.85  # a darker band (windows)
    inten = np.zeros((t_all, h, w), np.float32)
    mask = np.zeros((t_all, h, w), bool)
    boxes = np.zeros((t_all, 4))
    for t in range(t_all):
        cx = x_start + speed * t
        dx, dy = xx + 0.5 - cx, yy + 0.5 - y0
        rad = 7.0
        qx, qy = np.abs(dx) - (cw / 2 - rad), np.abs(dy) - (ch / 2 - rad)
        inside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) <= rad
        mask[t] = inside
        tx = np.clip((dx + cw / 2).astype(int), 0, tex.shape[1] - 1)
        ty = np.clip((dy + ch / 2).astype(int), 0, tex.shape[0] - 1)
        inten[t][inside] = tex[ty[inside], tx[inside]]
        x0, x1 = max(cx - cw / 2, 0), min(cx + cw / 2, w)
        boxes[t] = (x0, y0 - ch / 2, max(x1 - x0, 0), ch)
    sim = fire(inten, settings=REDS_PRESET, seed=seed)
    base[mask] = sim[mask]
    return base, boxes


def main() -> None:
    from spikevision.metrics.track import box_iou
    from spikevision.track import track

    here = Path(__file__).resolve().parents[1]
    shared = Path(os.environ.get("SPIKEVISION_SHARED_DATA", here.parent / "shared" / "data"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(shared / "real_uhsr_helicopter" / "uhsr.npz"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--speed", type=float, default=0.46)
    ap.add_argument("--method", default="classical", help="tracking method (classical or learned)")
    ap.add_argument("--weights", default=None, help="learned method: a checkpoint file or registry name")
    ap.add_argument("--threshold", type=float, default=None, help="learned method: heatmap threshold")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    settings = None
    if args.weights is not None or args.threshold is not None:
        if args.method != "learned":
            ap.error("--weights and --threshold are for --method learned")
        from spikevision.track import TrackSettings
        from spikevision.track.learned import LearnedSettings

        kw = {"weights": args.weights, **({} if args.threshold is None else {"threshold": args.threshold})}
        settings = TrackSettings(learned=LearnedSettings(**kw))
    with np.load(args.data) as z:
        real = z["spk"]
    spikes, boxes = car_sequence(real, repeat=args.repeat, speed=args.speed)
    res = track(spikes, every=10, method=args.method, settings=settings)
    out = []
    for tid in res.ids:
        r = res.track(tid)
        c = r[:, 2:4] + r[:, 4:6] / 2
        v = np.polyfit(r[:, 0], c, 1)[0] if len(r) > 1 else np.zeros(2)
        iou = np.array([box_iou(row[2:6], boxes[int(row[0])])[0, 0] for row in r])
        out.append({"id": int(tid), "first_frame": int(r[0, 0]), "last_frame": int(r[-1, 0]), "rows": len(r),
                    "velocity_px_per_frame": [round(float(v[0]), 3), round(float(v[1]), 3)],
                    "mean_iou_with_car": round(float(iou.mean()), 3)})
    static = track(np.concatenate([real] * args.repeat), every=10, method=args.method, settings=settings)
    spans = [int(np.ptp(static.track(t)[:, 0])) for t in static.ids]
    summary = {"method": args.method, "frames": int(len(spikes)), "size": list(spikes.shape[1:]),
               "car_speed": args.speed, "tracks": out, "static_capture_alone": {"tracks": len(spans), "spans_frames": spans}}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{args.method}: {len(spikes)} frames, car at {args.speed} px/frame; {len(out)} track(s):")
        for o in out:
            print("  ", o)
        print(f"the static capture alone: {len(spans)} track(s), lasting {spans} frames")


if __name__ == "__main__":
    main()
