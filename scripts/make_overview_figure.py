"""Draw the overview picture of the README and the docs' home page from the bundled sample.

Panels: one binary spike frame, the spike count of a 41-frame window, the CNN
reconstruction and the learned optical flow (colour wheel) at the same instant.

    python scripts/make_overview_figure.py docs/overview.png
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import spikevision as sv  # noqa: E402
from spikevision.flow import estimate_flow  # noqa: E402
from spikevision.recon import reconstruct  # noqa: E402
from spikevision.samples import sample  # noqa: E402
from spikevision.viz.flow import flow_with_legend  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_png")
    args = ap.parse_args()
    smp = sample()
    stream = sv.read_dat(smp.dat, height=smp.height, width=smp.width)
    t = smp.gt_frame
    panels = [
        (np.asarray(stream[t]), "spikes: one frame (50 µs)", "gray"),
        (stream.window(t, 41).sum(0), "spike count, 41 frames", "gray"),
        (reconstruct(stream, method="cnn", at=t), "reconstruction (CNN)", "gray"),
        (flow_with_legend(estimate_flow(stream, t0=t - 10, dt=20), max_flow=6.0), "optical flow", None),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.1), dpi=80)
    for ax, (img, title, cmap) in zip(axes, panels):
        ax.imshow(img, cmap=cmap, interpolation="nearest")
        ax.set_title(title, fontsize=13)
        ax.axis("off")
    fig.tight_layout(pad=1.0)
    fig.savefig(args.out_png)


if __name__ == "__main__":
    main()
