"""
# Send what the camera sees over a noisy channel

The spiking JSCC code turns a 41-frame spike window into 1/32 binary channel
uses per pixel (its LIF neurons' spikes are the channel bits) and a decoder
rebuilds the image. Here the bundled sample's ground-truth frame is sent over
AWGN at four SNRs with the spiking code and with separate coding at the
channel's capacity (ATFI, then the best of JPEG/WebP/JPEG 2000 that fits).
"""

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import spikevision as sv
from spikevision.comm import send
from spikevision.metrics import psnr
from spikevision.samples import sample

smp = sample()
stream = sv.read_dat(smp.dat, height=smp.height, width=smp.width)
window = stream.window(smp.gt_frame, 41)
gt = np.asarray(Image.open(smp.gt).convert("L"), np.float32) / 255

snrs = [-5, 0, 10, 20]
methods = ["spiking_jscc", "separate_ideal"]
out = {(m, s): send(window, snr_db=s, method=m, seed=1) for m in methods for s in snrs}

# %%
fig, axes = plt.subplots(2, len(snrs), figsize=(14, 4.8), layout="constrained")
for i, m in enumerate(methods):
    for j, s in enumerate(snrs):
        img = out[m, s]
        axes[i, j].imshow(img, cmap="gray", vmin=0, vmax=1)
        axes[i, j].set_title(f"{m}, {s} dB: {psnr(img, gt, data_range=1.0):.1f} dB")
        axes[i, j].axis("off")
plt.show()
