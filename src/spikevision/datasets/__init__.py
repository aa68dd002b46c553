"""Data folders, read the same way by ``eval`` and by training (the one place that knows folder layouts).

* :mod:`.recon` — REDS-spike style (``spike/NAME.dat`` + ``gt/NAME.png``) and ``synth`` folders.
* :mod:`.flow` — SPIFT / PHM flow folders and ``synth`` flows.
* :mod:`.recordings` — unlabeled recordings (``.dat`` / ``.h5`` / ``.npz``).
"""

from .flow import (
    SPIFT_SIZE,
    FlowPair,
    SyntheticFlowItem,
    find_spift_pairs,
    iter_spift_pairs,
    read_spift_pair,
    read_synthetic_item,
    synthetic_flow_items,
)
from .recon import DatasetError, ReconItem, find_recon_items, folder_kind, open_recon_item, read_gt, read_recon_item
from .recordings import RECORDING_SUFFIXES, find_recordings, open_recording, read_window

__all__ = ["DatasetError", "ReconItem", "find_recon_items", "folder_kind", "open_recon_item", "read_gt",
           "read_recon_item", "SPIFT_SIZE", "FlowPair", "find_spift_pairs", "read_spift_pair", "iter_spift_pairs",
           "SyntheticFlowItem", "synthetic_flow_items", "read_synthetic_item", "RECORDING_SUFFIXES",
           "find_recordings", "open_recording", "read_window"]
