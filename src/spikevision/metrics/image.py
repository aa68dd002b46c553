"""Full-reference image quality: PSNR and SSIM (scikit-image), with an explicit ``data_range``.

Conventions
-----------
* ``data_range`` is required: the span of values the images can take (1.0 for
  float images in [0, 1], 255 for 8-bit). It is never guessed from the dtype.
* SSIM follows Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment:
  from error visibility to structural similarity", IEEE TIP 13(4), 2004:
  an 11 x 11 Gaussian window with sigma = 1.5 (``gaussian_weights=True,
  sigma=1.5``), population (not sample) covariance
  (``use_sample_covariance=False``), ``K1 = 0.01``, ``K2 = 0.03``; the
  score is the mean of the SSIM map. This is
  ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=data_range)``.
  torchmetrics' SSIM differs slightly (it pads differently); compare
  numbers only under the same convention.
* Images are ``(H, W)`` gray or ``(H, W, C)`` colour (SSIM averaged over the
  channels); both inputs must have the same shape. They are compared as
  float64.

>>> import numpy as np
>>> a = np.zeros((16, 16)); b = a.copy(); b[0, 0] = 1.0
>>> round(psnr(b, a, data_range=1.0), 3)
24.082
>>> ssim(a, a, data_range=1.0)
1.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import check_image, check_positive_float

__all__ = ["psnr", "ssim", "SSIM_SIGMA"]

#: Standard deviation of SSIM's Gaussian window (Wang et al. 2004).
SSIM_SIGMA = 1.5


def _pair(pred: Any, target: Any, data_range: Any) -> tuple[np.ndarray, np.ndarray, float]:
    p = check_image(pred, "pred", ndim=(2, 3))
    t = check_image(target, "target", ndim=(2, 3))
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have the same shape, got {p.shape} and {t.shape}")
    if data_range is None:
        raise TypeError("data_range is required (1.0 for images in [0, 1], 255 for 8-bit)")
    return p.astype(np.float64), t.astype(np.float64), check_positive_float(data_range, "data_range")


def psnr(pred: Any, target: Any, *, data_range: float) -> float:
    """Peak signal-to-noise ratio in dB: ``10 log10(data_range² / MSE)``.

    Identical images give ``inf``.

    Parameters
    ----------
    pred, target:
        ``(H, W)`` or ``(H, W, C)`` real arrays of the same shape.
    data_range:
        Span of the possible values (1.0 for [0, 1] images, 255 for 8-bit).
    """
    p, t, dr = _pair(pred, target, data_range)
    mse = float(np.mean((p - t) ** 2))
    if mse == 0.0:
        return math.inf
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(t, p, data_range=dr))


def ssim(pred: Any, target: Any, *, data_range: float, sigma: float = SSIM_SIGMA) -> float:
    """Structural similarity (Wang et al. 2004: Gaussian window, ``sigma=1.5``), in [-1, 1].

    Parameters
    ----------
    pred, target:
        ``(H, W)`` or ``(H, W, C)`` real arrays of the same shape, at least
        7 pixels on each side (the Gaussian window is truncated at 3.5 sigma).
    data_range:
        Span of the possible values (1.0 for [0, 1] images, 255 for 8-bit).
    sigma:
        Standard deviation of the Gaussian window in pixels.
    """
    p, t, dr = _pair(pred, target, data_range)
    sigma = check_positive_float(sigma, "sigma")
    win = 2 * int(3.5 * sigma + 0.5) + 1
    if min(p.shape[:2]) < win:
        raise ValueError(f"SSIM with sigma={sigma} needs images of at least {win}x{win} pixels, got {p.shape[:2]}")
    from skimage.metrics import structural_similarity

    return float(structural_similarity(t, p, data_range=dr, gaussian_weights=True, sigma=sigma,
                                       use_sample_covariance=False,
                                       channel_axis=2 if p.ndim == 3 else None))
