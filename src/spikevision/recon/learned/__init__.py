"""Learned reconstructors (torch): a motion-aligned CNN and a spiking U-Net.

Import is cheap; torch is imported when a model is built or run.
"""

from .api import MODELS, build_model, load_model, reconstruct_learned, unavailable_reason

__all__ = ["MODELS", "build_model", "load_model", "reconstruct_learned", "unavailable_reason"]
