"""Fit the pristine NIQE model shipped as ``src/spikevision/metrics/niqe_pristine.npz``.

Uses only images bundled inside installed wheels (no download): scikit-image's
natural images and matplotlib's ``grace_hopper.jpg``. Deterministic.

    .venv/bin/python scripts/fit_niqe_model.py [--out src/spikevision/metrics/niqe_pristine.npz]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SKIMAGE_IMAGES = ("astronaut", "camera", "coffee", "chelsea", "rocket", "brick", "grass", "gravel", "coins", "moon")


def pristine_images() -> list[np.ndarray]:
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    imgs = []
    for name in SKIMAGE_IMAGES:
        a = np.asarray(getattr(skimage.data, name)(), dtype=np.float64)
        if a.ndim == 3:
            a = a[..., :3] @ np.array([0.2989, 0.5870, 0.1140])
        imgs.append(a)
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        imgs.append(np.asarray(Image.open(fh).convert("L"), dtype=np.float64))
    return imgs


def main() -> None:
    from spikevision.io.atomic import atomic_open
    from spikevision.metrics.noref import fit_niqe_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "src/spikevision/metrics/niqe_pristine.npz"))
    args = ap.parse_args()
    model = fit_niqe_model(pristine_images(), data_range=255.0, patch_size=96, sharpness=0.75)
    with atomic_open(args.out, "wb") as fh:
        np.savez(fh, **model, images=np.array(list(SKIMAGE_IMAGES) + ["matplotlib:grace_hopper.jpg"]))
    print(f"wrote {args.out}: {int(model['n_patches'])} patches, 36 features")


if __name__ == "__main__":
    main()
