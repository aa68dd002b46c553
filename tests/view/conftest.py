"""Fixtures for the viewer: small seeded recordings written to tmp_path, and a test client."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spikevision import SpikeStream
from spikevision.io import write_dat

BUNDLED = Path(__file__).resolve().parents[2] / "src" / "spikevision" / "data" / "reds_203_part2_f100-200.dat"


def make_spikes(t: int = 120, h: int = 24, w: int = 32, seed: int = 7) -> np.ndarray:
    """Seeded spikes with a bright left half, a dark right half and one hot pixel at (5, 30)."""
    rng = np.random.default_rng(seed)
    p = np.where(np.arange(w)[None, :] < w // 2, 0.4, 0.05) * np.ones((h, 1))
    p[5, 30] = 0.95
    return (rng.random((t, h, w)) < p).astype(np.uint8)


@pytest.fixture
def bundled() -> Path:
    """The bundled 101-frame 250 x 400 REDS sample (.dat, camera layout)."""
    return BUNDLED


@pytest.fixture
def spikes() -> np.ndarray:
    return make_spikes()


@pytest.fixture
def dat_file(tmp_path: Path, spikes: np.ndarray) -> Path:
    p = tmp_path / "rec" / "clip.dat"
    p.parent.mkdir()
    write_dat(p, SpikeStream(spikes))
    return p


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    return tmp_path / "exports"


@pytest.fixture
def client(dat_file: Path, export_dir: Path):
    pytest.importorskip("starlette", reason="the viewer needs the 'view' extra (starlette, uvicorn)")
    from starlette.testclient import TestClient

    from spikevision.view import LoadOptions, ViewSettings, create_app, open_catalog

    cat = open_catalog(dat_file, LoadOptions(height=24, width=32))
    app = create_app(cat, ViewSettings(export_dir=export_dir))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
