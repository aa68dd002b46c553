"""Pictures and videos: image/spike-stream export (:mod:`.export`); flow colouring lives in :mod:`.flow`."""

from __future__ import annotations

from .export import (IMAGE_SUFFIXES, export_spikes, is_folder_output, spike_frames, to_uint8, write_images, write_png,
                     write_png_sequence, write_video)
from .grid import labelled_grid

__all__ = ["to_uint8", "spike_frames", "write_images", "write_png", "write_png_sequence", "write_video", "export_spikes",
           "is_folder_output", "labelled_grid", "IMAGE_SUFFIXES"]
