"""Image quality: full-reference PSNR/SSIM (:mod:`.image`) and no-reference NIQE (:mod:`.noref`).

>>> from spikevision.metrics import psnr, ssim, niqe
>>> psnr(pred, gt, data_range=1.0), ssim(pred, gt, data_range=1.0), niqe(pred, data_range=1.0)  # doctest: +SKIP
"""

from __future__ import annotations

from .image import SSIM_SIGMA, psnr, ssim
from .noref import fit_niqe_model, niqe, niqe_features

# Optical-flow metrics live in .flow; the lead re-exports them here.

__all__ = ["psnr", "ssim", "SSIM_SIGMA", "niqe", "niqe_features", "fit_niqe_model"]
