"""PSNR and SSIM: known values, the named SSIM convention, explicit data_range, bad input."""

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from spikevision.metrics import SSIM_SIGMA, psnr, ssim


def test_psnr_known_values():
    a = np.zeros((10, 10))
    b = a.copy()
    b[0, 0] = 1.0  # MSE = 0.01 -> 20 dB for data_range 1
    assert psnr(b, a, data_range=1.0) == pytest.approx(20.0)
    assert psnr(b * 255, a, data_range=255) == pytest.approx(20.0)
    assert psnr(a, a, data_range=1.0) == math.inf
    assert psnr(np.full((4, 4), 3, np.uint8), np.full((4, 4), 4, np.uint8), data_range=255) == pytest.approx(
        10 * math.log10(255 ** 2))


def test_ssim_convention_is_wang_gaussian(rng):
    a = rng.random((40, 50))
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
    ref = structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert ssim(b, a, data_range=1.0) == pytest.approx(ref)
    assert SSIM_SIGMA == 1.5
    assert ssim(a, a, data_range=1.0) == pytest.approx(1.0)
    assert ssim(b, a, data_range=1.0) < 0.99


def test_colour_images(rng):
    a = rng.random((20, 20, 3))
    assert ssim(a, a, data_range=1.0) == pytest.approx(1.0)
    assert psnr(a, a * 0.9, data_range=1.0) > 10


def test_bad_input(rng):
    a = rng.random((16, 16))
    with pytest.raises(TypeError):
        psnr(a, a)  # data_range is required
    with pytest.raises(TypeError):
        ssim(a, a)
    with pytest.raises(TypeError):
        psnr(a, a, data_range=None)
    with pytest.raises(ValueError, match="same shape"):
        psnr(a, a[:8], data_range=1.0)
    with pytest.raises(ValueError, match="NaN"):
        ssim(np.full((16, 16), np.nan), a, data_range=1.0)
    with pytest.raises(ValueError, match="empty"):
        psnr(np.zeros((0, 3)), np.zeros((0, 3)), data_range=1.0)
    with pytest.raises(ValueError, match="at least"):
        ssim(a[:5, :5], a[:5, :5], data_range=1.0)
    with pytest.raises(ValueError):
        psnr(a, a, data_range=0)
    with pytest.raises(ValueError):
        psnr(np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2, 2)), data_range=1.0)
