"""The eight symmetries of a pixel grid, for geometric self-ensembles (reconstruction and flow).

The camera model treats every pixel alike, so a flipped or transposed spike
window is as valid an input as the original: a model run on it and mapped back
gives a second estimate of the same quantity. Averaging (images) or taking the
median (flow) of several such estimates is the self-ensemble of EDSR+.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ENSEMBLE_SIZES", "SYMMETRIES", "check_ensemble", "to_symmetry", "flow_from_symmetry"]

#: Allowed ``ensemble`` sizes: the first K of :data:`SYMMETRIES`.
ENSEMBLE_SIZES = (1, 2, 4, 8)

#: The eight symmetries as (transpose, flip rows, flip columns), applied in that order, listed in the
#: order an ensemble uses them: identity, left-right, up-down, both, then the same after a transpose.
SYMMETRIES = tuple((t, fv, fh) for t in (False, True) for fv, fh in ((False, False), (False, True), (True, False), (True, True)))


def check_ensemble(value: Any) -> int:
    """``value`` as an int of :data:`ENSEMBLE_SIZES`, or a :class:`ValueError`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value not in ENSEMBLE_SIZES:
        raise ValueError(f"ensemble must be one of {ENSEMBLE_SIZES}, got {value!r}")
    return int(value)


def to_symmetry(a: np.ndarray, sym: tuple[bool, bool, bool]) -> np.ndarray:
    """``a`` (``(..., H, W)``: the last two axes are rows and columns) under the symmetry ``sym``."""
    transpose, flip_rows, flip_cols = sym
    if transpose:
        a = np.swapaxes(a, -1, -2)
    if flip_rows:
        a = a[..., ::-1, :]
    if flip_cols:
        a = a[..., ::-1]
    return np.ascontiguousarray(a)


def flow_from_symmetry(flow: np.ndarray, sym: tuple[bool, bool, bool]) -> np.ndarray:
    """A flow ``(H', W', 2)`` (u right, v down) estimated on inputs under ``sym``, in the original frame."""
    transpose, flip_rows, flip_cols = sym
    u, v = flow[..., 0], flow[..., 1]
    if flip_cols:
        u, v = -u[:, ::-1], v[:, ::-1]
    if flip_rows:
        u, v = u[::-1], -v[::-1]
    if transpose:
        u, v = v.T, u.T
    return np.ascontiguousarray(np.stack([u, v], -1), dtype=np.float32)
