"""
# ATFI against TFP: static parts and moving parts

TFP averages spikes over a fixed window: a long window is clean on static
parts and blurs moving ones, a short one is sharp and noisy. ATFI grows the
set of inter-spike intervals around t only while they agree, so each pixel gets
the support its motion allows. Here: TFP with three windows against ATFI on
the bundled sample, PSNR against the ground truth.
"""

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import spikevision as sv
from spikevision.metrics import psnr
from spikevision.recon import reconstruct
from spikevision.samples import sample

smp = sample()
stream = sv.read_dat(smp.dat, height=smp.height, width=smp.width)
gt = np.asarray(Image.open(smp.gt).convert("L"), np.float32) / 255
t = smp.gt_frame

panels = {f"TFP, {w} frames": reconstruct(stream, method="tfp", at=t, window=w) for w in (9, 21, 41)}
panels["ATFI (adaptive)"] = reconstruct(stream, method="atfi", at=t)

# %%
# A crop shows the difference best.
crop = (slice(60, 190), slice(120, 330))
fig, axes = plt.subplots(1, 5, figsize=(15, 2.8), layout="constrained")
axes[0].imshow(gt[crop], cmap="gray", vmin=0, vmax=1)
axes[0].set_title("ground truth")
for ax, (name, img) in zip(axes[1:], panels.items()):
    ax.imshow(img[crop], cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{name}\n{psnr(img, gt, data_range=1.0):.2f} dB")
for ax in axes:
    ax.axis("off")
plt.show()
