"""
# Compare the reconstruction methods

Reconstruct the ground-truth frame of the bundled sample with every classical
method and the shipped CNN, and score each against the ground truth (PSNR and
SSIM, data range 1, the REDS protocol's rate ratio 0.6).
"""

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import spikevision as sv
from spikevision.metrics import psnr, ssim
from spikevision.recon import reconstruct
from spikevision.samples import sample

smp = sample()
stream = sv.read_dat(smp.dat, height=smp.height, width=smp.width)
gt = np.asarray(Image.open(smp.gt).convert("L"), np.float32) / 255

methods = ["tfp", "tfi", "tfstp", "atfi", "cnn"]
images = {m: reconstruct(stream, method=m, at=smp.gt_frame) for m in methods}

# %%
fig, axes = plt.subplots(2, 3, figsize=(12, 5.2), layout="constrained")
axes = axes.ravel()
axes[0].imshow(gt, cmap="gray", vmin=0, vmax=1)
axes[0].set_title("ground truth")
for ax, m in zip(axes[1:], methods):
    img = images[m]
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{m}: {psnr(img, gt, data_range=1.0):.2f} dB, SSIM {ssim(img, gt, data_range=1.0):.3f}")
for ax in axes:
    ax.axis("off")
plt.show()
