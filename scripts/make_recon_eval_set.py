"""Make a held-out REDS-style reconstruction set from synthetic scenes.

    .venv/bin/python scripts/make_recon_eval_set.py --out /work/data/recon_heldout --scenes 8 --seed 5000

Writes ``spike/scene_NNN.dat`` (250 x 400, 61 frames, camera layout, REDS
preset) and ``gt/scene_NNN.png`` (the exact intensity at the middle frame,
8-bit), the layout ``spikevision eval recon`` reads. The scenes come from
:func:`spikevision.sim.random_scene` (moving textured layers with occlusions,
speeds up to 10 px per 20 frames, some low light) with seeds the training
never uses (training draws crops of bundled photos and textures, not scenes).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--scenes", type=int, default=8)
    ap.add_argument("--seed", type=int, default=5000)
    ap.add_argument("--frames", type=int, default=61)
    args = ap.parse_args()

    from PIL import Image

    from spikevision.io.atomic import atomic_path
    from spikevision.io.dat import write_dat
    from spikevision.sim import REDS_PRESET, random_scene, simulate

    out = Path(args.out)
    (out / "spike").mkdir(parents=True, exist_ok=True)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    for i in range(args.scenes):
        seed = args.seed + i
        scene = random_scene(seed=seed, height=250, width=400)
        stream = simulate(scene, n_frames=args.frames, settings=REDS_PRESET, seed=seed)
        name = f"scene_{i:03d}"
        write_dat(out / "spike" / f"{name}.dat", stream)
        gt = np.clip(scene.intensity(args.frames // 2), 0, 1)
        with atomic_path(out / "gt" / f"{name}.png") as tmp:
            Image.fromarray((gt * 255 + 0.5).astype(np.uint8)).save(tmp, format="PNG")
        print(f"{name}: seed {seed}, mean intensity {gt.mean():.3f}")


if __name__ == "__main__":
    main()
