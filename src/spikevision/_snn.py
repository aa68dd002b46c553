"""The one place spikingjelly (the SNN library) is imported, lazily."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["spikingjelly"]


def spikingjelly() -> tuple[Any, Any, Any, Any]:
    """``(functional, layer, neuron, surrogate)`` from ``spikingjelly.activation_based``.

    Raises :class:`ImportError` with the install command when it is missing.
    """
    # spikingjelly probes for Triton (a GPU compiler) on import; its absence on a CPU is expected.
    logging.getLogger("torch._library.triton").setLevel(logging.ERROR)
    try:
        from spikingjelly.activation_based import functional, layer, neuron, surrogate
    except ImportError as exc:
        raise ImportError("spiking models need spikingjelly: pip install --no-deps spikingjelly==2.0.0") from exc
    return functional, layer, neuron, surrogate
