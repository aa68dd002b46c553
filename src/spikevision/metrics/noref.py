"""No-reference image quality: NIQE (Mittal, Soundararajan & Bovik, IEEE SPL 20(3), 2013).

NIQE measures how far the local statistics of an image are from those of
pristine natural images; **lower is better**. It needs no ground truth, so it
scores reconstructions of real recordings.

Algorithm (as in the paper)
---------------------------
1. Gray image in [0, 255]; mean-subtracted contrast-normalised (MSCN)
   coefficients with a 7 x 7 Gaussian window (sigma = 7/6).
2. Image split into 96 x 96 patches (``patch_size``); per patch, 18 features:
   a generalised Gaussian fit of the MSCN values (shape, variance) and an
   asymmetric generalised Gaussian fit (shape, mean, left and right
   variance) of the products of horizontally, vertically and diagonally
   adjacent MSCN values. The same at half resolution: 36 features per patch.
3. A multivariate Gaussian (mean, covariance) of the patch features of the
   test image is compared with that of the pristine model:
   ``sqrt((mu1 - mu2)^T ((S1 + S2) / 2)^+ (mu1 - mu2))``.

The pristine model shipped with spikevision (``niqe_pristine.npz``, next to
this module) was fitted by ``scripts/fit_niqe_model.py`` on the natural images
bundled in scikit-image's wheel (astronaut, camera, coffee, chelsea, rocket,
brick, grass, gravel, coins, moon) and matplotlib's ``grace_hopper.jpg``,
keeping the sharpest patches (local deviation above 75 % of the image's
maximum, as in the paper). Nothing is downloaded. Because the pristine set
differs from the paper's 125 images, absolute values differ from the
reference MATLAB implementation; compare NIQE values computed with the same
model only.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> img = rng.random((192, 192))
>>> niqe(img, data_range=1.0) > 0
True
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_image, check_positive_float, check_positive_int

__all__ = ["niqe", "niqe_features", "fit_niqe_model", "NIQE_MODEL_FILE"]

#: File name of the shipped pristine model (inside ``spikevision/metrics``).
NIQE_MODEL_FILE = "niqe_pristine.npz"
_SIGMA = 7.0 / 6.0
_GAMMA_GRID = np.arange(0.2, 10.0, 0.001)


@lru_cache(maxsize=1)
def _ratio_table() -> np.ndarray:
    """``Gamma(1/a) Gamma(3/a) / Gamma(2/a)^2`` on the shape grid (used by both fits)."""
    from scipy.special import gamma

    g = _GAMMA_GRID
    return gamma(1 / g) * gamma(3 / g) / gamma(2 / g) ** 2


def _ggd_fit(x: np.ndarray) -> tuple[float, float]:
    """Shape and variance of a zero-mean generalised Gaussian (moment matching)."""
    r_tab = _ratio_table()
    sigma_sq = float(np.mean(x * x))
    e = float(np.mean(np.abs(x)))
    rho = sigma_sq / (e * e) if e > 0 else float("inf")
    alpha = float(_GAMMA_GRID[np.argmin(np.abs(rho - r_tab))])
    return alpha, sigma_sq


def _aggd_fit(x: np.ndarray) -> tuple[float, float, float, float]:
    """Shape, mean, left and right variance of an asymmetric generalised Gaussian."""
    from scipy.special import gamma

    r_tab = _ratio_table()
    left = x[x < 0]
    right = x[x >= 0]
    lsq = float(np.mean(left * left)) if left.size else 0.0
    rsq = float(np.mean(right * right)) if right.size else 0.0
    if lsq == 0 or rsq == 0:
        return 2.0, 0.0, lsq, rsq
    gamma_hat = math.sqrt(lsq) / math.sqrt(rsq)
    r_hat = float(np.mean(np.abs(x))) ** 2 / float(np.mean(x * x))
    rhat_norm = r_hat * (gamma_hat ** 3 + 1) * (gamma_hat + 1) / (gamma_hat ** 2 + 1) ** 2
    alpha = float(_GAMMA_GRID[np.argmin(np.abs(r_tab - rhat_norm))])
    const = math.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    mean = (math.sqrt(rsq) - math.sqrt(lsq)) * (gamma(2 / alpha) / gamma(1 / alpha)) * const
    return alpha, float(mean), lsq, rsq


def _mscn(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.ndimage import gaussian_filter

    mu = gaussian_filter(img, _SIGMA, mode="nearest", truncate=3.0 / _SIGMA)
    var = gaussian_filter(img * img, _SIGMA, mode="nearest", truncate=3.0 / _SIGMA) - mu * mu
    sd = np.sqrt(np.abs(var))
    return (img - mu) / (sd + 1.0), sd


def _patch_features(mscn: np.ndarray) -> np.ndarray:
    alpha, var = _ggd_fit(mscn.ravel())
    feats = [alpha, var]
    pairs = (
        mscn[:, :-1] * mscn[:, 1:],
        mscn[:-1, :] * mscn[1:, :],
        mscn[:-1, :-1] * mscn[1:, 1:],
        mscn[:-1, 1:] * mscn[1:, :-1],
    )
    for p in pairs:
        feats.extend(_aggd_fit(p.ravel()))
    return np.asarray(feats)


def _scale_features(img: np.ndarray, patch: int) -> tuple[np.ndarray, np.ndarray]:
    mscn, sd = _mscn(img)
    rows, cols = img.shape[0] // patch, img.shape[1] // patch
    feats, sharp = [], []
    for r in range(rows):
        for c in range(cols):
            sl = (slice(r * patch, (r + 1) * patch), slice(c * patch, (c + 1) * patch))
            feats.append(_patch_features(mscn[sl]))
            sharp.append(float(sd[sl].mean()))
    return np.asarray(feats).reshape(-1, 18), np.asarray(sharp)


def _half(img: np.ndarray) -> np.ndarray:
    from skimage.transform import rescale

    return rescale(img, 0.5, order=3, anti_aliasing=True, preserve_range=True, mode="edge")


def niqe_features(img: Any, *, data_range: float, patch_size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Per-patch NIQE features ``(P, 36)`` and patch sharpness ``(P,)`` of a gray image.

    ``img`` is ``(H, W)`` (or ``(H, W, 3)`` RGB, converted to gray), with
    values in ``[0, data_range]``; at least ``2 * patch_size`` pixels on each side.
    """
    a = check_image(img, "img", ndim=(2, 3)).astype(np.float64)
    dr = check_positive_float(data_range, "data_range")
    patch = check_positive_int(patch_size, "patch_size")
    if patch % 2:
        raise ValueError(f"patch_size must be even (it is halved for the second scale), got {patch}")
    if a.ndim == 3:
        if a.shape[2] != 3:
            raise ValueError(f"colour images must be (H, W, 3), got shape {a.shape}")
        a = a @ np.array([0.2989, 0.5870, 0.1140])
    if min(a.shape) < 2 * patch:
        raise ValueError(f"NIQE with patch_size={patch} needs an image of at least {2 * patch} x {2 * patch}, "
                         f"got {a.shape[0]} x {a.shape[1]}")
    a = a * (255.0 / dr)
    h, w = (a.shape[0] // patch) * patch, (a.shape[1] // patch) * patch
    a = a[:h, :w]
    f1, sharp = _scale_features(a, patch)
    f2, _ = _scale_features(_half(a), patch // 2)
    return np.hstack([f1, f2]), sharp


@lru_cache(maxsize=4)
def _load_model(path: str | None) -> tuple[np.ndarray, np.ndarray, int]:
    if path is None:
        ref = resources.files("spikevision.metrics") / NIQE_MODEL_FILE
        with resources.as_file(ref) as p:
            data = np.load(p)
            return data["mu"], data["cov"], int(data["patch_size"])
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"NIQE model not found: {p}")
    data = np.load(p)
    return data["mu"], data["cov"], int(data["patch_size"])


def niqe(img: Any, *, data_range: float, model: str | None = None) -> float:
    """NIQE score of a gray image (lower is better).

    Parameters
    ----------
    img:
        ``(H, W)`` or ``(H, W, 3)`` image with values in ``[0, data_range]``;
        at least 192 x 192 pixels with the shipped model (96-pixel patches).
    data_range:
        1.0 for images in [0, 1], 255 for 8-bit.
    model:
        Path of a pristine model ``.npz`` (``mu``, ``cov``, ``patch_size``),
        default the shipped one (see the module docstring).
    """
    mu_p, cov_p, patch = _load_model(None if model is None else str(model))
    feats, _ = niqe_features(img, data_range=data_range, patch_size=patch)
    feats = feats[np.isfinite(feats).all(axis=1)]
    if len(feats) < 2:
        raise ValueError("NIQE needs at least two patches with finite features")
    mu = feats.mean(axis=0)
    cov = np.cov(feats, rowvar=False)
    d = mu_p - mu
    inv = np.linalg.pinv((cov_p + cov) / 2.0)
    return float(np.sqrt(max(0.0, float(d @ inv @ d))))


def fit_niqe_model(images: list[np.ndarray], *, data_range: float, patch_size: int = 96,
                   sharpness: float = 0.75) -> dict[str, np.ndarray]:
    """Fit a pristine NIQE model from ``images`` (gray or RGB, values in ``[0, data_range]``).

    Keeps the patches whose mean local deviation exceeds ``sharpness`` times
    the sharpest patch of their image; returns ``{"mu", "cov", "patch_size",
    "n_patches"}`` ready for ``np.savez``.
    """
    if not images:
        raise ValueError("fit_niqe_model needs at least one image")
    kept = []
    for img in images:
        feats, sharp = niqe_features(img, data_range=data_range, patch_size=patch_size)
        sel = sharp > sharpness * sharp.max()
        kept.append(feats[sel])
    allf = np.vstack(kept)
    allf = allf[np.isfinite(allf).all(axis=1)]
    return {"mu": allf.mean(axis=0), "cov": np.cov(allf, rowvar=False),
            "patch_size": np.int64(patch_size), "n_patches": np.int64(len(allf))}
