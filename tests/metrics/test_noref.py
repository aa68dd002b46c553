"""NIQE with the shipped pristine model: degraded images score worse, bad input is refused."""

import numpy as np
import pytest
import skimage.data
from scipy.ndimage import gaussian_filter

from spikevision.metrics import niqe, niqe_features


@pytest.fixture(scope="module")
def clean():
    return skimage.data.camera()[64:320, 64:320].astype(np.float64) / 255.0


def test_degradations_score_worse(clean):
    rng = np.random.default_rng(0)
    base = niqe(clean, data_range=1.0)
    assert niqe(gaussian_filter(clean, 2.0), data_range=1.0) > base
    assert niqe(np.clip(clean + 0.08 * rng.standard_normal(clean.shape), 0, 1), data_range=1.0) > base


def test_scale_invariance_of_data_range(clean):
    assert niqe(clean * 255, data_range=255) == pytest.approx(niqe(clean, data_range=1.0))


def test_features_shape(clean):
    feats, sharp = niqe_features(clean, data_range=1.0)
    assert feats.shape == (4, 36) and sharp.shape == (4,)


def test_bad_input(clean, tmp_path):
    with pytest.raises(ValueError, match="at least"):
        niqe(clean[:100, :100], data_range=1.0)
    with pytest.raises(ValueError, match="NaN"):
        niqe(np.full((200, 200), np.nan), data_range=1.0)
    with pytest.raises(TypeError):
        niqe(clean)
    with pytest.raises(FileNotFoundError):
        niqe(clean, data_range=1.0, model=str(tmp_path / "missing.npz"))
    with pytest.raises(ValueError, match="even"):
        niqe_features(clean, data_range=1.0, patch_size=95)
