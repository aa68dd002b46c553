"""spikevision: spike cameras and spiking neural networks in Python.

The data type is :class:`SpikeStream` (``(T, H, W)`` binary frames, time
first, row 0 at the top). Files are read and written by :mod:`spikevision.io`.

>>> import spikevision as sv
>>> s = sv.read_dat("clip.dat", height=250, width=400)   # doctest: +SKIP
>>> frames = np.asarray(s[100:141])                     # doctest: +SKIP
"""

from __future__ import annotations

from ._checks import FrameIndexError, SpikeFormatError
from ._version import __version__
from .io import SENSORS, DatWriter, load, read_dat, read_h5, save, write_dat, write_h5
from .stream import DEFAULT_RATE_HZ, SpikeStream

__all__ = [
    "__version__",
    "SpikeStream",
    "SpikeFormatError",
    "FrameIndexError",
    "DEFAULT_RATE_HZ",
    "SENSORS",
    "read_dat",
    "write_dat",
    "DatWriter",
    "read_h5",
    "write_h5",
    "load",
    "save",
]
