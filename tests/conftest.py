"""Shared fixtures: seeded generators and the optional ../shared/data samples."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SPIKEVISION_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def reds_sample_dir() -> Path:
    """``../shared/data/reds_train_sample`` (two 301-frame 250x400 clips + GT); skipped when absent."""
    d = SHARED_DATA / "reds_train_sample"
    if not (d / "spike").is_dir():
        pytest.skip(f"shared REDS sample not found at {d} (set SPIKEVISION_SHARED_DATA)")
    return d


@pytest.fixture
def uhsr_sample() -> Path:
    """``../shared/data/real_uhsr_helicopter/uhsr.npz`` (real, static, low light); skipped when absent."""
    p = SHARED_DATA / "real_uhsr_helicopter" / "uhsr.npz"
    if not p.is_file():
        pytest.skip(f"shared UHSR sample not found at {p} (set SPIKEVISION_SHARED_DATA)")
    return p
