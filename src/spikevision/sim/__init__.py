"""Spike camera simulation and synthetic scenes with exact ground truth.

* :mod:`~spikevision.sim.camera`: the integrate-and-fire camera model,
  :class:`CameraSettings`, the REDS calibration :data:`REDS_PRESET`, and
  :func:`fire` (intensities ``(T, *S)`` → spikes).
* :mod:`~spikevision.sim.simulate`: :func:`simulate` any input (image, image
  sequence, video, array, callable) into a :class:`~spikevision.SpikeStream`,
  :func:`iter_spikes` chunk by chunk, :func:`simulate_to_dat` straight to a file.
* :mod:`~spikevision.sim.sources`: input rules (values, colour → luminance, timing).
* :mod:`~spikevision.sim.scenes`: :func:`random_scene` moving textured layers
  with exact ``intensity(t)`` and ``flow(t0, t1)``.
* :mod:`~spikevision.sim.dataset`: :func:`write_dataset` exports spikes, GT
  frames, GT flow and an index (layout in ``docs/synthetic_dataset.md``).

>>> from spikevision.sim import REDS_PRESET, fire, simulate, random_scene
>>> scene = random_scene(seed=0, height=64, width=64)
>>> stream = simulate(scene, n_frames=100, seed=0)
>>> stream.shape
(100, 64, 64)
"""

from .calibration import fit_gain, rate_ratio
from .dataset import SyntheticDataset, open_dataset, write_dataset, write_scene
from .camera import IDEAL_PRESET, NOISY_PRESET, REDS_PRESET, CameraSettings, expected_rate, fire
from .scenes import TEXTURES, Layer, Motion, Scene, Shape, Texture, make_texture, random_scene, warp_backward
from .simulate import iter_spikes, simulate, simulate_to_dat
from .sources import DEFAULT_FRAMES_PER_IMAGE, DEFAULT_STILL_FRAMES, to_intensity

__all__ = [
    "CameraSettings",
    "REDS_PRESET",
    "IDEAL_PRESET",
    "NOISY_PRESET",
    "expected_rate",
    "fire",
    "simulate",
    "iter_spikes",
    "simulate_to_dat",
    "to_intensity",
    "DEFAULT_STILL_FRAMES",
    "DEFAULT_FRAMES_PER_IMAGE",
    "random_scene",
    "Scene",
    "Layer",
    "Motion",
    "Shape",
    "Texture",
    "TEXTURES",
    "make_texture",
    "warp_backward",
    "fit_gain",
    "rate_ratio",
    "write_dataset",
    "write_scene",
    "open_dataset",
    "SyntheticDataset",
]
