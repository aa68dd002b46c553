"""MOTChallenge text files (``gt.txt``, tracker results): comma-separated rows of numbers.

Row layout (stated here and only here)
--------------------------------------
``frame, id, x, y, w, h, conf, a, b, c``

* ``frame``: 1-based frame number. For spike data, frame = spike frame index + 1.
* ``id``: object identity (>= 1).
* ``x, y, w, h``: box, top-left corner and size, pixels, row 0 at the top.
* Tracker results: ``conf`` is the confidence and ``a, b, c`` are ``-1``.
* Ground truth: ``conf`` is the *consider* flag (``0``: ignore this box in
  scoring, MOTChallenge's convention), ``a`` the class (``1``) and ``b`` the
  visibility in ``[0, 1]`` (fraction of the object seen: not occluded, inside
  the image); ``c`` is unused (``-1``).

Files may have 6 to 10 columns; missing ones read as ``-1`` (conf as 1).

>>> import numpy as np, tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "t.txt")
>>> _ = write_mot(p, np.array([[1, 1, 10, 20, 30, 40, 0.9, -1, -1, -1]]))
>>> read_mot(p)[0, :6].tolist()
[1.0, 1.0, 10.0, 20.0, 30.0, 40.0]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import SpikeFormatError, check_existing_file
from .atomic import atomic_open

__all__ = ["read_mot", "write_mot", "MOT_COLUMNS"]

#: Column names of a MOTChallenge row.
MOT_COLUMNS = ("frame", "id", "x", "y", "w", "h", "conf", "a", "b", "c")


def _check_rows(rows: Any, name: str) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float64)
    if a.size == 0:
        return np.zeros((0, 10))
    if a.ndim != 2 or not (6 <= a.shape[1] <= 10):
        raise ValueError(f"{name} must be (N, 6..10) MOTChallenge rows, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if a.shape[1] < 10:
        pad = np.full((len(a), 10 - a.shape[1]), -1.0)
        if a.shape[1] == 6:
            pad[:, 0] = 1.0
        a = np.hstack([a, pad])
    if (a[:, 0] < 1).any() or (a[:, 0] != np.round(a[:, 0])).any():
        raise ValueError(f"{name}: frame numbers must be integers >= 1 (1-based)")
    if (a[:, 1] != np.round(a[:, 1])).any():
        raise ValueError(f"{name}: ids must be integers")
    if (a[:, 4] < 0).any() or (a[:, 5] < 0).any():
        raise ValueError(f"{name}: box sizes w, h must be >= 0")
    return a


def write_mot(path: str | os.PathLike, rows: Any) -> Path:
    """Write MOTChallenge rows ``(N, 6..10)`` atomically; integers as integers, boxes with 2 decimals."""
    a = _check_rows(rows, "rows")
    with atomic_open(path, "w") as fh:
        for r in a:
            fh.write(f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},"
                     f"{r[6]:.4g},{r[7]:.4g},{r[8]:.4g},{r[9]:.4g}\n")
    return Path(path)


def read_mot(path: str | os.PathLike) -> np.ndarray:
    """Read a MOTChallenge file into ``(N, 10)`` float64 (an empty file gives ``(0, 10)``)."""
    p = check_existing_file(path, "MOTChallenge file")
    rows = []
    with open(p, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                vals = [float(v) for v in line.replace(" ", "").split(",") if v != ""]
            except ValueError as exc:
                raise SpikeFormatError(f"{p}, line {n}: not a row of numbers: {line[:60]!r}") from exc
            if not (6 <= len(vals) <= 10):
                raise SpikeFormatError(f"{p}, line {n}: expected 6 to 10 comma-separated numbers, got {len(vals)}")
            rows.append(vals + [-1.0] * (10 - len(vals)) if len(vals) > 6 else vals + [1.0] + [-1.0] * 3)
    try:
        return _check_rows(np.array(rows, np.float64).reshape(-1, 10), str(p))
    except ValueError as exc:
        raise SpikeFormatError(str(exc)) from exc
