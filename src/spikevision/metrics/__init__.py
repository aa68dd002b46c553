"""Quality measures: PSNR/SSIM (:mod:`.image`), no-reference NIQE (:mod:`.noref`), flow errors (:mod:`.flow`).

>>> from spikevision.metrics import psnr, ssim, niqe
>>> psnr(pred, gt, data_range=1.0), ssim(pred, gt, data_range=1.0), niqe(pred, data_range=1.0)  # doctest: +SKIP
"""

from __future__ import annotations

from .image import SSIM_SIGMA, psnr, ssim
from .noref import fit_niqe_model, niqe, niqe_features

from .flow import PO_ABS_PX, PO_REL, aee, endpoint_error, flow_errors, percent_outliers, summarize

__all__ = [
    "psnr", "ssim", "SSIM_SIGMA", "niqe", "niqe_features", "fit_niqe_model",
    "aee", "percent_outliers", "endpoint_error", "flow_errors", "summarize", "PO_ABS_PX", "PO_REL",
]
