"""Self-supervised fine-tuning on a scene family the shipped flow network has not seen, scored on held-out GT.

The family ("fast camera"): :mod:`spikevision.sim.camera_motion` scenes (photos, the second generator)
whose camera pans at 0.05-0.8 px per frame, half of them also zooming and rotating, with one to three
objects moving at 0.6-1.2 px per frame (12-24 px per 20 frames), no dim scenes, 250 x 400, REDS preset.
The shipped weights were trained on ``synth``-style scenes moving at up to 10 px per 20 frames, and the
moving-camera validation only goes to 0.3 px per frame of pan and 0.9 of objects.

    python scripts/flow_selfsup_bar.py make --out runs/selfsup            # runs/selfsup/train (unlabeled) + heldout
    spikevision train flow --config configs/flow/unsupervised.json --data runs/selfsup/train --unsupervised --out runs/selfsup/run2
    python scripts/flow_selfsup_bar.py score --out runs/selfsup --weights shipped,runs/selfsup/run2/best.pt --methods gate-off,atfi-smooth,zero

``make`` writes ``train/scene_<seed>.h5`` (spikes only, 100 frames, seeds 20000 + i) and
``heldout/scene_<seed>.npz`` (spikes, GT flows at t0 = 25, 55 for dt = 20, seeds 21000 + i); the held-out
GT is used by ``score`` only. ``score`` gives the AEE of the default ``estimate_flow`` (no options but
``weights``) per weights, mean over flows of a scene, then over scenes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

#: scene families: camera kinds (by seed) and moving_camera_scene settings. "fast" is the family above;
#: "camera" the one of scripts/flow_camera_eval.py (its validation seeds 9000-9011 as unlabeled recordings).
FAMILIES = {
    "fast": (("pan", "pan_zoom_rotate"), {"max_pan": 0.8, "object_speed": (0.6, 1.2), "dim_fraction": 0.0}),
    "camera": (("still", "pan", "pan_zoom_rotate"), {}),
}
FRAMES, T0S, DT = 100, (25, 55), 20


def _kind(seed: int, family: str) -> str:
    kinds = FAMILIES[family][0]
    return kinds[seed % len(kinds)]


def _scene(seed: int, height: int, width: int, family: str = "fast"):
    from spikevision.sim.camera_motion import moving_camera_scene

    return moving_camera_scene(seed, height=height, width=width, camera=_kind(seed, family), **FAMILIES[family][1])


def make(out: Path, n_train: int, n_held: int, height: int, width: int, *, family: str = "fast",
         train_seed: int = 20000, heldout_seed: int = 21000) -> None:
    from spikevision.io import save
    from spikevision.sim import REDS_PRESET, fire

    (out / "train").mkdir(parents=True, exist_ok=True)
    (out / "heldout").mkdir(parents=True, exist_ok=True)
    for i in range(n_train):
        seed = train_seed + i
        path = out / "train" / f"scene_{seed}.h5"
        if path.is_file():
            continue
        scene = _scene(seed, height, width, family)
        save(path, fire(scene.frames(FRAMES), settings=REDS_PRESET, seed=seed))
        print(f"train {path}", file=sys.stderr, flush=True)
    for i in range(n_held):
        seed = heldout_seed + i
        path = out / "heldout" / f"scene_{seed}.npz"
        if path.is_file():
            continue
        scene = _scene(seed, height, width)
        spikes = fire(scene.frames(FRAMES), settings=REDS_PRESET, seed=seed)
        flows, valids = zip(*(scene.flow(float(t), float(t + DT)) for t in T0S))
        speeds = [float(np.hypot(*o.velocity)) for o in scene.objects]
        np.savez_compressed(path, spikes=np.packbits(spikes, axis=-1), flows=np.stack(flows), valids=np.stack(valids),
                            t0s=np.asarray(T0S), width=width, camera=_kind(seed, "fast"),
                            pan=float(np.hypot(*scene.camera.pan)), max_object_speed=max(speeds))
        print(f"heldout {path}", file=sys.stderr, flush=True)


def score(out: Path, weights: list[str], methods: list[str]) -> dict:
    from spikevision import SpikeStream
    from spikevision.flow import estimate_flow
    from spikevision.metrics.flow import flow_errors

    runs = [(w, "spikeflow", {} if w == "shipped" else {"weights": w}) for w in weights]
    if "gate-off" in methods:  # the network alone, without the static-background gate
        runs += [(f"{w} gate-off", "spikeflow", {**o, "still_gate": False}) for w, _, o in runs]
    if "gate-previous" in methods:  # the gate before unknown cameras were left ungated (each unfound camera still)
        from spikevision.flow import StillGate
        from spikevision.flow.camera import CameraModel

        previous = StillGate(camera=CameraModel(min_still=0.0))
        runs += [(f"{w} gate-previous", "spikeflow", {**o, "still_gate": previous}) for w, _, o in runs[:len(weights)]]
    runs += [(m, "classical", {"recon": "atfi", "preset": "smooth"}) for m in methods if m == "atfi-smooth"]
    runs += [("zero", None, {})] if "zero" in methods else []
    per: dict[str, dict[str, float]] = {name: {} for name, _, _ in runs}
    for path in sorted((out / "heldout").glob("scene_*.npz")):
        z = np.load(path)
        stream = SpikeStream(np.unpackbits(z["spikes"], axis=-1, count=int(z["width"])))
        for name, method, opts in runs:
            errs = []
            for k, t0 in enumerate(z["t0s"]):
                gt = z["flows"][k]
                pred = np.zeros_like(gt) if method is None else estimate_flow(stream, int(t0), DT, method=method, **opts)
                errs.append(flow_errors(pred, gt, mask=z["valids"][k])["aee"])
            per[name][path.stem] = float(np.mean(errs))
        print(f"{path.stem} ({z['camera']}, pan {float(z['pan']):.2f}, objects up to {float(z['max_object_speed']):.2f} "
              "px/frame): " + ", ".join(f"{n} {per[n][path.stem]:.3f}" for n, _, _ in runs), file=sys.stderr, flush=True)
    mean = {n: float(np.mean(list(v.values()))) for n, v in per.items()}
    res = {"dt": DT, "mean_aee": mean, "per_scene": per}
    if len(weights) > 1:
        base = mean[weights[0]]
        res["relative_drop"] = {w: (base - mean[w]) / base for w in weights[1:]}
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["make", "score"])
    ap.add_argument("--out", type=Path, default=Path("runs/selfsup"))
    ap.add_argument("--train", type=int, default=16, help="unlabeled training recordings")
    ap.add_argument("--train-seed", type=int, default=20000, help="seed of the first training recording")
    ap.add_argument("--family", choices=sorted(FAMILIES), default="fast", help="scene family of the training recordings")
    ap.add_argument("--heldout", type=int, default=8, help="held-out recordings with GT")
    ap.add_argument("--heldout-seed", type=int, default=21000,
                    help="seed of the first recording with GT (21000: the held-out set; 23000: the fast-camera validation set)")
    ap.add_argument("--height", type=int, default=250)
    ap.add_argument("--width", type=int, default=400)
    ap.add_argument("--weights", default="shipped", help="comma-separated: 'shipped' or checkpoint files")
    ap.add_argument("--methods", default="", help="also score: gate-off (each weights without the gate), gate-previous (the gate that takes "
                    "every camera it does not find moving as still), atfi-smooth, zero")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.what == "make":
        make(args.out, args.train, args.heldout, args.height, args.width, family=args.family, train_seed=args.train_seed,
             heldout_seed=args.heldout_seed)
        return 0
    res = score(args.out, [w for w in args.weights.split(",") if w], [m for m in args.methods.split(",") if m])
    print(json.dumps({k: v for k, v in res.items() if k != "per_scene"}, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
