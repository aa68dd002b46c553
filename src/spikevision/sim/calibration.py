"""Fit the camera's gain to recorded spike data with ground-truth frames.

How :data:`~spikevision.sim.REDS_PRESET` was fitted
---------------------------------------------------
For each REDS clip (``../shared/data/reds_train_sample``: 301 frames of
250 x 400, GT = the scene at frame 150) the mean spike rate over a window
centred on the GT frame was divided by the GT's mean intensity (PNG / 255);
the ratios of the two clips are pooled as ``sum(rates) / sum(intensities)``.
This gives 0.5986 and 0.6003 (41-frame windows; 0.598 and 0.600 over the whole
clips), so ``gain / threshold = 0.6``. A straight-line fit of the per-pixel
rate in 11-frame windows against the GT gives ``0.58 I + 0.006``: no dark
current worth modelling (the flatter slope of longer windows comes from the
scene moving, not from the camera). The clips show no noise floor in dark
regions, so the preset is noise-free with random initial charge, as the
data were themselves simulated. :func:`fit_gain` reproduces the fit.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .camera import REDS_PRESET, CameraSettings, _check_settings
from .sources import to_intensity

__all__ = ["rate_ratio", "fit_gain"]


def rate_ratio(stream: Any, gt: Any, *, center: int | None = None, window: int = 41) -> tuple[float, float]:
    """``(mean spike rate, mean GT intensity)`` of a recording around frame ``center``.

    ``stream`` is a :class:`~spikevision.SpikeStream` ``(T, H, W)``, ``gt`` its
    ground-truth frame (``(H, W)`` uint8/uint16/float in ``[0, 1]``) at frame
    ``center`` (default: the middle frame). The rate is averaged over a
    ``window``-frame window centred there.
    """
    img = to_intensity(gt, name="gt")
    if img.shape != (stream.height, stream.width):
        raise ValueError(f"gt has shape {img.shape}, expected the stream's frame size {(stream.height, stream.width)}")
    c = stream.n_frames // 2 if center is None else int(center)
    w = min(int(window), stream.n_frames)
    win = stream.window(c, w)
    return float(win.mean()), float(img.mean())


def fit_gain(pairs: Iterable[tuple[Any, Any]], *, base: CameraSettings = REDS_PRESET, window: int = 41,
             center: int | None = None) -> CameraSettings:
    """Settings whose noise-free rate ``gain * I / threshold`` matches recordings ``(stream, gt)``.

    The ratio is ``sum(mean rates) / sum(mean GT intensities)`` over the pairs
    (see :func:`rate_ratio`); ``gain`` becomes ``ratio * base.threshold``, the
    other parameters are those of ``base``.
    """
    base = _check_settings(base)
    rates, ints = [], []
    for stream, gt in pairs:
        r, i = rate_ratio(stream, gt, center=center, window=window)
        rates.append(r)
        ints.append(i)
    if not rates:
        raise ValueError("fit_gain needs at least one (stream, gt) pair")
    if sum(ints) <= 0:
        raise ValueError("the GT frames are all black: the gain cannot be fitted")
    ratio = float(np.sum(rates) / np.sum(ints))
    return base.replace(gain=ratio * base.threshold)
