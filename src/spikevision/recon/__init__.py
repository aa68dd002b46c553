"""Image reconstruction from spikes: classical methods and one registry.

>>> from spikevision.recon import reconstruct, list_methods
>>> img = reconstruct(stream, method="tfp", at=150)          # doctest: +SKIP  (H, W) float32 [0, 1]
>>> video = reconstruct(stream, method="tfi", every=1)      # doctest: +SKIP  (N, H, W)

Registered here: ``tfp``, ``tfi``, ``tfstp`` (:mod:`.classical`), ``atfi``
(:mod:`.adaptive`, the motion-adaptive multi-interval estimator), and the
learned ``cnn`` and ``snn`` (:mod:`.learned`), registered lazily by import
path so torch is imported only when they run (see :func:`register_method`).
"""

from __future__ import annotations

from .adaptive import ATFI, atfi
from .classical import DEFAULT_WINDOW, REDS_RATE_RATIO, TFI, TFP, TFSTP, STPParams, tfi, tfp, tfstp
from .registry import (
    Method,
    UnknownMethodError,
    frame_indices,
    get_method,
    list_methods,
    method_options,
    reconstruct,
    register_method,
    unregister_method,
)

__all__ = [
    "reconstruct",
    "register_method",
    "unregister_method",
    "list_methods",
    "get_method",
    "frame_indices",
    "method_options",
    "Method",
    "UnknownMethodError",
    "tfp",
    "tfi",
    "tfstp",
    "atfi",
    "TFP",
    "TFI",
    "TFSTP",
    "ATFI",
    "STPParams",
    "REDS_RATE_RATIO",
    "DEFAULT_WINDOW",
]

register_method("tfp", tfp, description="texture from playback: spike count in a window / (window * rate_ratio)")
register_method("tfi", tfi, description="texture from inter-spike interval: 1 / (interval around t) / rate_ratio")
register_method("tfstp", tfstp, description="short-term-plasticity model (Zheng et al., CVPR 2021)")
register_method("atfi", atfi, description="adaptive multi-interval: grows the support around t while the "
                                          "inter-spike intervals agree")
register_method("cnn", "spikevision.recon.learned.api:reconstruct_learned", kind="window", window=41,
                defaults={"model": "cnn"},
                description="motion-aligned multi-window CNN (learned; shipped weights, torch extra)")
register_method("snn", "spikevision.recon.learned.api:reconstruct_learned", kind="window", window=41,
                defaults={"model": "snn"},
                description="spiking U-Net with LIF neurons (learned; shipped weights, torch + spikingjelly)")
