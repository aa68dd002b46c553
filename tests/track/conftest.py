"""A small seeded tracking scene shared by the tracking tests."""

from __future__ import annotations

import numpy as np
import pytest

from spikevision.sim import IDEAL_PRESET, simulate
from spikevision.sim.objects import gt_rows
from spikevision.sim.scenes import Layer, Motion, Scene, Shape, Texture


def bar_scene(height: int = 64, width: int = 96, *, speed: float = 0.5, drift: float = 0.0) -> Scene:
    """One bright 16 x 10 rectangle moving right over a mid-gray textured background."""
    rng = np.random.default_rng(0)
    bg = Texture((0.3 + 0.1 * rng.random((height + 40, width + 40))).astype(np.float32))
    obj = Texture(np.full((12, 18), 0.95, np.float32))
    shape = Shape("polygon", [(-8, -5), (8, -5), (8, 5), (-8, 5)])
    return Scene(height, width, Layer(Shape("plane"), bg, Motion(center=((width - 1) / 2, (height - 1) / 2),
                                                                   velocity=(drift, 0.0))),
                 (Layer(shape, obj, Motion(center=(14.0, height / 2), velocity=(speed, 0.0))),))


@pytest.fixture(scope="session")
def make_bar_scene():
    """The :func:`bar_scene` factory (test modules are not a package, so helpers come as fixtures)."""
    return bar_scene


@pytest.fixture(scope="session")
def bar_spikes():
    """(spikes (160, 64, 96) uint8, scene, GT rows every 10 frames)."""
    sc = bar_scene()
    spikes = simulate(sc, n_frames=160, settings=IDEAL_PRESET, seed=0).to_numpy()
    return spikes, sc, gt_rows(sc, range(0, 160, 10))
