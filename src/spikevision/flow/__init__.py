"""Optical flow from spike streams: a classical baseline and a learned spike-flow network.

>>> from spikevision.flow import estimate_flow
>>> flow = estimate_flow(stream, t0=100, dt=20, method="spikeflow")   # doctest: +SKIP  (H, W, 2) float32 px

* :func:`estimate_flow` / :func:`flow_between` — one entry point, methods
  ``"spikeflow"`` (learned), ``"classical"`` (TFP + DIS baseline), ``"farneback"``.
* :mod:`.classical` — the baseline; :mod:`.net`, :mod:`.representation`,
  :mod:`.corr`, :mod:`.update` — the network (torch, imported lazily);
  :mod:`.synthetic` — training scenes (trained by :mod:`spikevision.learned.tasks.flow`).
* :mod:`.losses` — self-supervised losses (photometric census consistency, edge-aware smoothness,
  forward-backward occlusion), used by ``spikevision train flow --unsupervised``.
* :mod:`.still` — the static-background gate the learned method applies
  (zero flow where the firing rates do not change).
* SPIFT / PHM and synthetic-layout readers (from :mod:`spikevision.datasets.flow`);
  :func:`evaluate_synthetic` — AEE / PO% per scene and mean.

Metrics live in :mod:`spikevision.metrics.flow`, pictures in
:mod:`spikevision.viz.flow`, ``.flo`` files in :mod:`spikevision.io.flo`.
Importing this package does not import torch.
"""

from .api import (
    LEARNED_WEIGHTS,
    FlowMethod,
    UnknownFlowMethodError,
    compose_flows,
    estimate_flow,
    flow_between,
    get_flow_method,
    list_flow_methods,
    load_flow_model,
)
from .classical import ClassicalFlow, classical_flow_images, classical_flow_windows
from ..datasets.flow import (
    SPIFT_SIZE,
    FlowPair,
    SyntheticFlowItem,
    find_spift_pairs,
    iter_spift_pairs,
    read_spift_pair,
    read_synthetic_item,
    synthetic_flow_items,
)
from .evaluate import evaluate_synthetic
from .losses import UnsupervisedLoss, unsupervised_flow_loss
from .still import StillGate, apply_still_gate, firing_rates, rate_change, still_gate_weight

__all__ = [
    "estimate_flow",
    "flow_between",
    "compose_flows",
    "list_flow_methods",
    "get_flow_method",
    "FlowMethod",
    "UnknownFlowMethodError",
    "load_flow_model",
    "LEARNED_WEIGHTS",
    "ClassicalFlow",
    "classical_flow_images",
    "classical_flow_windows",
    "SPIFT_SIZE",
    "FlowPair",
    "find_spift_pairs",
    "read_spift_pair",
    "iter_spift_pairs",
    "SyntheticFlowItem",
    "synthetic_flow_items",
    "read_synthetic_item",
    "evaluate_synthetic",
    "StillGate",
    "apply_still_gate",
    "still_gate_weight",
    "firing_rates",
    "rate_change",
    "UnsupervisedLoss",
    "unsupervised_flow_loss",
]
