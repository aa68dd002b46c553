"""The one place spikingjelly (the SNN library) is imported, lazily."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["spikingjelly", "missing_snn_message", "SNN_INSTALL"]

#: The commands that install the SNN backend (spikingjelly declares torchvision, hence --no-deps;
#: its own import then needs loguru, which the ``snn`` extra brings).
SNN_INSTALL = "pip install 'spikevision[snn]' && pip install --no-deps spikingjelly==2.0.0"


def missing_snn_message(exc: ImportError | None = None) -> str:
    """What to install when spikingjelly cannot be imported, naming the missing package and the extra."""
    name = getattr(exc, "name", None) or "spikingjelly"
    if name.split(".")[0] != "spikingjelly":
        return (f"spiking models need spikingjelly, whose import needs {name.split('.')[0]!r} (missing): "
                f"pip install {name.split('.')[0]} (part of the 'snn' extra: {SNN_INSTALL})")
    return f"spiking models need spikingjelly (missing): {SNN_INSTALL}"


def spikingjelly() -> tuple[Any, Any, Any, Any]:
    """``(functional, layer, neuron, surrogate)`` from ``spikingjelly.activation_based``.

    Raises :class:`ImportError` with the install command when it is missing.
    """
    # spikingjelly probes for Triton (a GPU compiler) on import; its absence on a CPU is expected.
    logging.getLogger("torch._library.triton").setLevel(logging.ERROR)
    try:
        from spikingjelly.activation_based import functional, layer, neuron, surrogate
    except ImportError as exc:
        raise ImportError(missing_snn_message(exc)) from exc
    return functional, layer, neuron, surrogate
