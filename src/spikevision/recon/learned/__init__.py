"""Learned reconstructors (torch): a motion-aligned CNN and a spiking U-Net.

Import is cheap; torch is imported when a model is built or run.
"""

from .api import MODELS, export_weights, load_model, reconstruct_learned, unavailable

__all__ = ["MODELS", "load_model", "reconstruct_learned", "export_weights", "unavailable"]
