"""
# No-reference quality (NIQE) in low light

Real recordings have no ground truth. NIQE (lower is better) scores an image by
how far its local statistics are from natural images; spikevision ships its own
fitted model, so nothing is downloaded. Here a photo is simulated in low light
with a noisy sensor (about 0.03 spikes per pixel per frame, like a dim real
capture) and each method's output is scored.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

from spikevision.metrics import niqe, psnr
from spikevision.recon import reconstruct
from spikevision.sim import NOISY_PRESET, simulate

photo = data.camera()[::2, ::2].astype(np.float32) / 255  # 256 x 256
dim = 0.06 * photo
stream = simulate(dim, settings=NOISY_PRESET, n_frames=81, seed=0)
print("mean rate:", round(stream.mean_rate(), 3), "spikes per pixel per frame")

# %%
# Each reconstruction is divided by its own mean for display and scoring, as
# exposure differs between methods at this light level.
methods = ["tfp", "tfi", "atfi", "cnn"]
fig, axes = plt.subplots(1, len(methods) + 1, figsize=(15, 3.2), layout="constrained")
axes[0].imshow(photo, cmap="gray")
axes[0].set_title("scene")
for ax, m in zip(axes[1:], methods):
    img = reconstruct(stream, method=m, at=40)
    img = np.clip(img * (photo.mean() / max(img.mean(), 1e-6)), 0, 1)
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{m}: NIQE {niqe(img, data_range=1.0):.1f}, {psnr(img, photo, data_range=1.0):.1f} dB")
for ax in axes:
    ax.axis("off")
plt.show()
