"""
# Simulate a spike camera watching a moving scene

`spikevision.sim.random_scene` draws moving textured layers with exact
intensity and flow at any time; `simulate` fires the integrate-and-fire camera
model on it (REDS calibration by default). The same seed gives the same bits.
"""

import matplotlib.pyplot as plt
import numpy as np

from spikevision.recon import reconstruct
from spikevision.sim import random_scene, simulate

scene = random_scene(seed=3, height=128, width=192, brightness=0.9)
stream = simulate(scene, n_frames=120, seed=0)
print(stream.shape, "mean rate", round(stream.mean_rate(), 3))

# %%
# The ground truth at frame 60, one binary frame, a 41-frame spike count and
# the TFP reconstruction (count / (window x rate ratio)).
frames = np.asarray(stream)
gt = scene.intensity(60)
tfp = reconstruct(stream, method="tfp", at=60)

fig, axes = plt.subplots(1, 4, figsize=(13, 2.8), layout="constrained")
for ax, img, title in zip(
    axes,
    [gt, frames[60], frames[40:81].sum(0), tfp],
    ["scene intensity (GT)", "one spike frame", "spike count, 41 frames", "TFP reconstruction"],
):
    ax.imshow(img, cmap="gray")
    ax.set_title(title)
    ax.axis("off")
plt.show()
