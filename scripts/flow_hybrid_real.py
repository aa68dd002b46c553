"""Flow of a simulated fast object moving over a *real* static spike recording (a hybrid check).

    .venv/bin/python scripts/flow_hybrid_real.py ../shared/data/real_uhsr_helicopter/uhsr.npz docs/flow_real_hybrid.png

No real recording of fast motion past a static background is available here, so
this is the closest check that can be made: the background keeps the real
capture's spikes (its sensor noise, hot pixels and low light, all unchanged),
and inside a moving disc the spikes are those of a textured object (a patch of
scikit-image's bundled ``camera`` photo) fired through the simulated camera
(:func:`spikevision.sim.fire`). The object moves in a straight line at a constant
speed, so its ground-truth flow is exact; the background's is zero.

For each speed and each of :data:`VARIANTS` (spikeflow with its defaults, the
baseline, spikeflow in one step and as a single estimate, ``ensemble=1``), at dt = 20 and t0 = 60, 100, 140, it prints:

* ``object_aee``: mean endpoint error over the pixels that are inside the disc
  at t0 (all move with it), and ``object_mean_speed``: their mean |flow| (the
  GT is ``speed * 20`` px);
* ``background_mean_mag``: mean |flow| over pixels at least ``margin`` px from
  every position the disc takes over the two windows (they should be still).

and writes one PNG: a TFP image of the composite and the flows of both methods
(colour wheel radius = twice the object's displacement) with arrows.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

WINDOW = 41  # frames of each method's windows
DT = 20
#: What is measured: label -> (method, options); the first two are drawn.
VARIANTS = {"spikeflow": ("spikeflow", {}), "classical": ("classical", {}),
            "spikeflow --chain off": ("spikeflow", {"chain": False}),
            "spikeflow --ensemble 1": ("spikeflow", {"ensemble": 1})}


def _object_texture(size: int) -> np.ndarray:
    """A ``size`` x ``size`` patch of scikit-image's ``camera`` photo scaled to [0.15, 0.65]."""
    import cv2
    from skimage import data

    img = data.camera().astype(np.float32) / 255.0
    patch = cv2.resize(img[60:380, 120:440], (size, size), interpolation=cv2.INTER_AREA)
    return 0.15 + 0.5 * patch


def composite(background: np.ndarray, *, velocity: tuple[float, float], radius: int = 28,
              start: tuple[float, float] | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Real spikes ``background`` (T, H, W) with a simulated disc moving by ``velocity`` (px per frame, u, v).

    Returns the composite spikes and the disc's centre ``(T, 2)`` (x, y) per frame.
    """
    import cv2

    from spikevision.sim import fire

    t, h, w = background.shape
    vx, vy = velocity
    x0, y0 = start if start is not None else (w / 2 - vx * t / 2, h / 2 - vy * t / 2)
    tex = _object_texture(2 * radius + 1)
    centres = np.stack([x0 + vx * np.arange(t), y0 + vy * np.arange(t)], axis=1).astype(np.float64)
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disc = (xx**2 + yy**2 <= radius**2).astype(np.float32)
    intensity = np.zeros((t, h, w), np.float32)
    mask = np.zeros((t, h, w), bool)
    for k, (cx, cy) in enumerate(centres):
        # sub-pixel placement: the texture and its mask are translated together
        m = np.float32([[1, 0, cx - radius], [0, 1, cy - radius]])
        intensity[k] = cv2.warpAffine(tex, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
        mask[k] = cv2.warpAffine(disc, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0) > 0.5
    obj = fire(intensity.clip(0, 1), seed=seed)
    return np.where(mask, obj, background).astype(np.uint8), centres


def measure(centres: np.ndarray, velocity: tuple[float, float], t0: int, flow: np.ndarray,
            *, radius: int, margin: int = 12) -> dict:
    """Object AEE / mean speed and background mean magnitude of ``flow`` (see the module notes)."""
    h, w = flow.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = centres[t0]
    inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= (radius - 1) ** 2
    gt = np.array([velocity[0] * DT, velocity[1] * DT], np.float32)
    near = np.zeros((h, w), bool)
    for k in range(max(0, t0 - WINDOW // 2), min(len(centres), t0 + DT + WINDOW // 2 + 1)):
        px, py = centres[k]
        near |= (xx - px) ** 2 + (yy - py) ** 2 <= (radius + margin) ** 2
    mag = np.sqrt((flow**2).sum(-1))
    return {"object_aee": float(np.sqrt(((flow[inside] - gt) ** 2).sum(-1)).mean()),
            "object_mean_speed": float(mag[inside].mean()), "gt_speed": float(np.hypot(*gt)),
            "background_mean_mag": float(mag[~near].mean()), "background_pixels": int((~near).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recording", help="a static real recording (e.g. real_uhsr_helicopter/uhsr.npz)")
    ap.add_argument("out_png")
    ap.add_argument("--speeds", type=float, nargs="+", default=[0.25, 0.5], help="object speed, px per spike frame")
    ap.add_argument("--radius", type=int, default=28)
    ap.add_argument("--weights", default=None, help="spikeflow checkpoint instead of the shipped weights")
    args = ap.parse_args()

    import sys
    from pathlib import Path

    from spikevision.flow import estimate_flow
    from spikevision.io.formats import load
    from spikevision.recon import reconstruct
    from spikevision.viz.flow import flow_arrows, flow_with_legend

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_flow import _panel  # the labelled-grid figure writer of docs/flow.md's other figures

    background = np.asarray(load(args.recording)[:], dtype=np.uint8)
    if background.ndim != 3 or background.shape[0] < WINDOW + DT + 100:
        raise SystemExit(f"{args.recording}: need a (T, H, W) recording of at least {WINDOW + DT + 100} frames")
    results: dict = {}
    tiles = []
    for speed in args.speeds:
        velocity = (speed * np.cos(np.radians(20)), speed * np.sin(np.radians(20)))  # right and a little down
        spikes, centres = composite(background, velocity=velocity, radius=args.radius)
        img = reconstruct(spikes, method="tfp", at=100, window=WINDOW)
        img = np.clip(img / max(np.percentile(img, 99.5), 1e-6), 0, 1)
        tiles.append((f"real capture + disc, {speed} px/frame (TFP)", img))
        radius = 2 * speed * DT  # colour wheel radius: twice the object's displacement
        per: dict = {}
        for t0 in (60, 100, 140):
            for label, (method, opts) in VARIANTS.items():
                if args.weights and method == "spikeflow":
                    opts = {**opts, "weights": args.weights}
                f = estimate_flow(spikes, t0, DT, method=method, **opts)
                m = measure(centres, velocity, t0, f, radius=args.radius)
                for k, v in m.items():
                    per.setdefault(label, {}).setdefault(k, []).append(v)
                if t0 == 100 and label in ("spikeflow", "classical"):
                    tiles.append((f"{label}: object {m['object_mean_speed']:.1f} px (GT {m['gt_speed']:.1f}),\n"
                                  f"background {m['background_mean_mag']:.2f} px (r = {radius:.0f} px)",
                                  flow_with_legend(f, max_flow=radius)))
                    tiles.append((f"{label}: arrows (true length)", flow_arrows(img, f, step=16)))
        results[f"speed_{speed}"] = {meth: {k: float(np.mean(v)) for k, v in d.items()} for meth, d in per.items()}
    print(json.dumps(results, indent=2))
    print("\n| method | " + " | ".join(f"{s} px/frame: object AEE / mean speed (GT {s * DT:g}) / background" for s in args.speeds)
          + " |\n|---|" + "---|" * len(args.speeds))
    for label in VARIANTS:
        cells = [results[f"speed_{s}"][label] for s in args.speeds]
        print(f"| {label} | " + " | ".join(f"{c['object_aee']:.2f} / {c['object_mean_speed']:.2f} / {c['background_mean_mag']:.3f} px"
                                          for c in cells) + " |")
    _panel(tiles, args.out_png, 5)

if __name__ == "__main__":
    main()
