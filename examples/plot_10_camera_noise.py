"""
# Camera settings: ideal, REDS and noisy sensors

`CameraSettings` is a frozen dataclass of the physical camera: gain,
threshold, random initial charge, threshold spread (fixed-pattern noise), dark
current, shot noise, hot and dead pixels. The three presets fire on the same
intensity ramp; the plot shows the spike rate per column against the model's
expected rate.
"""

import dataclasses

import matplotlib.pyplot as plt
import numpy as np

from spikevision.sim import IDEAL_PRESET, NOISY_PRESET, REDS_PRESET, expected_rate, simulate

ramp = np.tile(np.linspace(0, 1, 200, dtype=np.float32), (60, 1))  # (60, 200), intensity 0..1
presets = {"ideal": IDEAL_PRESET, "REDS": REDS_PRESET, "noisy": NOISY_PRESET}
print(dataclasses.replace(REDS_PRESET))

fig, axes = plt.subplots(1, 2, figsize=(12, 3.4), layout="constrained")
for name, settings in presets.items():
    rate = simulate(ramp, settings=settings, n_frames=400, seed=0).to_numpy().mean(axis=(0, 1))
    axes[0].plot(ramp[0], rate, label=name)
axes[0].plot(ramp[0], expected_rate(ramp[0], settings=REDS_PRESET), "k--", lw=1, label="REDS, expected")
axes[0].set_xlabel("intensity")
axes[0].set_ylabel("spikes per frame")
axes[0].legend()
axes[0].set_title("rate per column")
noisy = simulate(ramp, settings=NOISY_PRESET, n_frames=41, seed=0).to_numpy().mean(axis=0)
axes[1].imshow(noisy, cmap="gray", aspect="auto")
axes[1].set_title("noisy preset: 41-frame rate (hot and dead pixels visible)")
axes[1].axis("off")
plt.show()
