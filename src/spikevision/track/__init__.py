"""Moving-object detection and multi-object tracking from spikes.

* :mod:`~spikevision.track.detect`: cell rates of short windows (straight from
  packed ``.dat`` bytes) and a running background model with camera-motion
  compensation (:class:`DetectorSettings`).
* :mod:`~spikevision.track.learned`: the learned detector, a small CNN on
  multi-window cell rates with CenterNet-style outputs (:class:`LearnedSettings`).
* :mod:`~spikevision.track.sort`: SORT-style tracker, Kalman filter + Hungarian
  matching, birth / death / re-identification (:class:`TrackerSettings`).
* :mod:`~spikevision.track.api`: :func:`track` → :class:`Tracks` (arrays,
  MOTChallenge rows).

>>> import numpy as np
>>> from spikevision.track import track
>>> track(np.zeros((100, 32, 48), np.uint8)).rows.shape
(0, 7)
"""

from __future__ import annotations

from .api import DEFAULT_EVERY, METHODS, Tracks, TrackSettings, method_settings, track
from .detect import BackgroundModel, DetectorSettings, cell_rates, detect_cells, grow_objects
from .learned import LearnedSettings
from .sort import KalmanBox, Tracker, TrackerSettings, match

__all__ = [
    "track", "Tracks", "TrackSettings", "METHODS", "DEFAULT_EVERY", "method_settings",
    "DetectorSettings", "BackgroundModel", "cell_rates", "detect_cells", "grow_objects",
    "TrackerSettings", "Tracker", "KalmanBox", "match", "LearnedSettings",
]
