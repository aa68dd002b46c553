"""Helpers for the live tests: small seeded packed streams in the camera layout."""

from __future__ import annotations

import numpy as np
import pytest

from spikevision.io import pack_frames
from spikevision.live import kernels

BACKENDS = ["numpy"] + (["numba"] if kernels.BACKEND == "numba" else [])


def random_frames(rng: np.random.Generator, n: int, h: int, w: int, p: float = 0.3) -> np.ndarray:
    return (rng.random((n, h, w)) < p).astype(np.uint8)


@pytest.fixture
def make_frames(rng):
    """``make_frames(n, h, w, p=0.3)``: seeded random 0/1 frames ``(n, h, w)`` uint8."""
    return lambda n, h, w, p=0.3: random_frames(rng, n, h, w, p)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def packed_clip(rng):
    """300 frames of 13 x 21 (odd sizes: padding bits, rows not whole bytes), bottom-up, and the frames."""
    f = random_frames(rng, 300, 13, 21)
    return f, pack_frames(f)
