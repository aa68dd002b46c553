"""
# Read a recording and look at its statistics

Open the bundled sample (101 frames of 250 x 400 from a REDS spike clip),
count spikes per frame and per pixel, and show the firing-rate map.
"""

import matplotlib.pyplot as plt
import numpy as np

import spikevision as sv
from spikevision.samples import sample

smp = sample()
stream = sv.read_dat(smp.dat, sensor="vidar")  # 250 x 400, memory-mapped, decoded lazily
print(stream)
print("frames, height, width:", stream.shape, " duration:", stream.duration_s, "s")

# %%
# `spike_counts` counts set bits on the packed file (no decoding), frame by frame.
counts = stream.spike_counts()
print("mean spikes per pixel per frame:", round(stream.mean_rate(), 4))

# %%
# Decoding gives `(T, H, W)` uint8 0/1 frames, row 0 at the top.
frames = np.asarray(stream)
rate = frames.mean(axis=0)  # spikes per pixel per frame

fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), layout="constrained")
axes[0].imshow(frames[50], cmap="gray", interpolation="nearest")
axes[0].set_title("one binary frame (50)")
im = axes[1].imshow(rate, cmap="magma")
axes[1].set_title("firing rate, spikes/frame")
fig.colorbar(im, ax=axes[1], fraction=0.03)
axes[2].plot(counts / (stream.height * stream.width))
axes[2].set_xlabel("frame")
axes[2].set_ylabel("spikes per pixel")
axes[2].set_title("activity over time")
for ax in axes[:2]:
    ax.axis("off")
plt.show()
