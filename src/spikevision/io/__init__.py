"""Input/output: the ``.dat`` camera format, an HDF5 container, ``.npy``/``.npz``.

What each reader checks before it trusts a file: ``docs/robustness.md``.
"""

from .atomic import atomic_group, atomic_open, atomic_path
from .container import probe_h5, read_h5, write_h5
from .dat import (
    SENSORS,
    DatWriter,
    frame_bytes,
    pack_frames,
    read_dat,
    read_sidecar,
    resolve_size,
    unpack_frames,
    write_dat,
)
from .flo import read_flo, write_flo
from .formats import SUFFIXES, load, read_npy, read_npz, save
from .stats import stream_info

__all__ = [
    "SENSORS",
    "SUFFIXES",
    "DatWriter",
    "atomic_group",
    "atomic_open",
    "atomic_path",
    "frame_bytes",
    "load",
    "pack_frames",
    "probe_h5",
    "read_dat",
    "read_flo",
    "read_h5",
    "read_npy",
    "read_npz",
    "read_sidecar",
    "resolve_size",
    "save",
    "stream_info",
    "unpack_frames",
    "write_dat",
    "write_flo",
    "write_h5",
]
