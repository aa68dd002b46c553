"""Small, seeded fixtures for the comm tests (no shared data, no shipped weights needed)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spikingjelly")


@pytest.fixture
def tiny_cfg():
    from spikevision.comm.nets import CodeConfig

    return CodeConfig(kind="snn", window=41, symbols_per_position=8, steps=4, width=4, dec_width=8)


@pytest.fixture
def window(rng):
    """Stand-in spike window (41, 20, 36): Bernoulli spikes with p = 0.6 * I of a smooth ramp image."""
    img = np.tile(np.linspace(0.1, 0.9, 36, dtype=np.float32), (20, 1))
    return (rng.random((41, 20, 36)) < 0.6 * img).astype(np.uint8), img
