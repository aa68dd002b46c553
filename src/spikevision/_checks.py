"""Small input checks used at the public boundary.

Every error says what was expected and what was given. All errors subclass
:class:`ValueError` or :class:`TypeError` so callers can catch them normally.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "SpikeFormatError",
    "FrameIndexError",
    "check_positive_int",
    "check_positive_float",
    "check_binary_array",
    "check_image",
    "check_existing_file",
    "check_memory",
    "memory_budget",
]

#: Environment variable that sets the memory budget of readers and decoders in bytes
#: (suffixes K, M, G, T accepted, e.g. ``8G``); default: the machine's physical memory.
MEMORY_BUDGET_ENV = "SPIKEVISION_MEMORY_BUDGET"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class SpikeFormatError(ValueError):
    """A spike file or array does not have the layout it claims to have."""


class FrameIndexError(IndexError, ValueError):
    """A frame index outside a stream (an ``IndexError`` for the sequence protocol, and a ``ValueError``)."""


def check_positive_int(value: Any, name: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an ``int`` after checking it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    lo = 0 if allow_zero else 1
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value}")
    return int(value)


def check_positive_float(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite positive ``float``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {v}")
    return v


def check_binary_array(arr: Any, name: str = "spikes", *, ndim: int = 3) -> np.ndarray:
    """Check ``arr`` is an ``ndim``-D array of 0/1 values (bool or integer dtype).

    Returns the array as ``uint8`` (a view when the input is already
    ``uint8`` or ``bool``). Floats are refused even when they hold 0.0/1.0:
    silently truncating 0.7 to 0 would be garbage.
    """
    a = np.asarray(arr)
    if a.ndim != ndim:
        raise SpikeFormatError(f"{name} must have {ndim} dimensions (T, H, W), got shape {a.shape}")
    if a.dtype == np.bool_:
        return a.view(np.uint8)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must have a bool or integer dtype holding 0/1, got {a.dtype}")
    if a.size:
        lo, hi = a.min(), a.max()
        if lo < 0 or hi > 1:
            raise SpikeFormatError(f"{name} must hold only 0 and 1, found values in [{lo}, {hi}]")
    return a.astype(np.uint8, copy=False)


def check_image(img: Any, name: str = "image", *, ndim: tuple[int, ...] = (2,)) -> np.ndarray:
    """Check ``img`` is a finite real array with one of the allowed ``ndim``."""
    a = np.asarray(img)
    if a.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimensions, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def memory_budget() -> int:
    """Largest single allocation (bytes) a reader or decoder may make.

    ``$SPIKEVISION_MEMORY_BUDGET`` (e.g. ``8G``) when set, else the physical
    memory of the machine. A file or size that claims more is refused with a
    clear error instead of a ``MemoryError`` half-way through.
    """
    raw = os.environ.get(MEMORY_BUDGET_ENV, "").strip().upper().removesuffix("B").removesuffix("I")
    if raw:
        num, unit = (raw[:-1], raw[-1]) if raw[-1] in _UNITS else (raw, "")
        try:
            value = float(num) * _UNITS[unit]
        except ValueError:
            raise ValueError(f"${MEMORY_BUDGET_ENV} must be a size like 8G or 500M, got {raw!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"${MEMORY_BUDGET_ENV} must be a positive size, got {raw!r}")
        return int(value)
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 34


def check_memory(nbytes: int, what: str) -> int:
    """Raise :class:`SpikeFormatError` when ``what`` needs more than :func:`memory_budget` bytes."""
    budget = memory_budget()
    if nbytes > budget:
        raise SpikeFormatError(
            f"{what} needs {nbytes / 2**30:.3g} GiB, more than the memory budget of {budget / 2**30:.3g} GiB "
            f"(set ${MEMORY_BUDGET_ENV} to change it, or read a shorter window)"
        )
    return int(nbytes)


def check_existing_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Return ``path`` as a :class:`Path` after checking it is an existing regular file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what} not found: {p}")
    if not p.is_file():
        raise ValueError(f"{what} is not a regular file: {p}")
    return p
