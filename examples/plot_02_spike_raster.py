"""
# Spike trains of single pixels

A spike camera pixel integrates light and fires each time its charge crosses a
threshold, so its inter-spike interval encodes brightness: bright pixels fire
often, dark ones rarely. This raster shows the spikes of a few pixels of the
bundled sample, from dark to bright.
"""

import matplotlib.pyplot as plt
import numpy as np

import spikevision as sv
from spikevision.samples import sample

smp = sample()
frames = np.asarray(sv.read_dat(smp.dat, height=smp.height, width=smp.width))
rate = frames.mean(axis=0)

# %%
# Pick pixels at eight quantiles of the firing rate.
order = np.argsort(rate, axis=None)
picks = [np.unravel_index(order[int(q * (order.size - 1))], rate.shape) for q in np.linspace(0.02, 0.98, 8)]

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1, 2]}, layout="constrained")
ax0.imshow(rate, cmap="gray")
for i, (r, c) in enumerate(picks):
    ax0.plot(c, r, "o", ms=6, mfc="none", mec=plt.cm.viridis(i / 7))
ax0.set_title("firing rate and the chosen pixels")
ax0.axis("off")
for i, (r, c) in enumerate(picks):
    t = np.flatnonzero(frames[:, r, c])
    ax1.vlines(t, i + 0.6, i + 1.4, color=plt.cm.viridis(i / 7))
ax1.set_yticks(range(1, 9), [f"({r},{c}) {rate[r, c]:.2f}" for r, c in picks])
ax1.set_xlabel("frame (1 frame = 50 µs at 20 kHz)")
ax1.set_title("spike raster: pixel (row, col) and its rate")
plt.show()
