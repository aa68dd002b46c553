"""
# Optical flow: colour wheel and arrows

Estimate the flow between frames 30 and 50 of the bundled sample (the camera
pans) with the classical baseline and the learned `spikeflow` network, and draw
it with the Baker et al. colour wheel and as arrows over a reconstruction.
"""

import matplotlib.pyplot as plt
import numpy as np

import spikevision as sv
from spikevision.flow import estimate_flow
from spikevision.recon import reconstruct
from spikevision.samples import sample
from spikevision.viz.flow import flow_arrows, flow_with_legend

smp = sample()
stream = sv.read_dat(smp.dat, height=smp.height, width=smp.width)
t0, dt = 30, 20

flows = {m: estimate_flow(stream, t0=t0, dt=dt, method=m) for m in ("classical", "spikeflow")}
for m, f in flows.items():
    print(f"{m}: mean (u, v) = ({f[..., 0].mean():.2f}, {f[..., 1].mean():.2f}) px per {dt} frames")

# %%
# One fixed colour scale (`max_flow`, px) for both, so the colours compare.
image = reconstruct(stream, method="atfi", at=t0)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.2), layout="constrained")
for ax, (m, f) in zip(axes, flows.items()):
    ax.imshow(flow_with_legend(f, max_flow=6.0))
    ax.set_title(f"{m} (colour radius 6 px)")
axes[2].imshow(flow_arrows(image, flows["spikeflow"], step=20))
axes[2].set_title("spikeflow, arrows at true length")
for ax in axes:
    ax.axis("off")
plt.show()
