"""Classical baseline: reconstruct two images from spikes, then a dense image-flow method (OpenCV).

The baseline the spike-flow papers compare against: reconstruct the scene at
``t0`` and at ``t0 + dt`` with a classical reconstructor
(:func:`spikevision.recon.reconstruct`), then run a well-kept dense optical
flow method on the two images:

* ``algorithm="dis"`` — DIS (Kroeger et al., ECCV 2016), OpenCV's
  ``DISOpticalFlow`` with a preset: OpenCV's own ``"ultrafast"``, ``"fast"``,
  ``"medium"``, or ``"smooth"``: the medium preset down to the finest scale
  with 16 x 16 patches every 4 pixels and a stronger variational refinement
  (20 iterations, smoothness weight 80 instead of 20). Spike reconstructions
  keep some per-pixel noise; the stronger smoothness stops DIS from
  matching it. Chosen on a validation set of synthetic scenes (seed 8008,
  not the evaluation set; ``docs/flow.md``); ``"smooth-fast"``, the same with
  patches every 6 pixels (about 0.6x the time): the shipped spike-flow network's
  warm start at inference, where it is as good (the network corrects the rest);
  on its own it is worse than ``"smooth"``;
* ``algorithm="farneback"`` — Farnebäck's polynomial expansion (SCIA 2003),
  ``cv2.calcOpticalFlowFarneback``.

Both images are scaled to 8 bits with one common gain (the 99.5th percentile
of the first image maps to 255), so dim scenes keep their contrast and the
brightness-constancy assumption of the flow methods holds between the two.

The reconstruction defaults to ``"tfp"`` (41-frame spike count), which gave the lowest
baseline AEE on the held-out synthetic set among the classical reconstructors
tried (see ``docs/flow.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ClassicalFlow", "classical_flow_images", "classical_flow_windows", "init_flow", "init_image",
           "DIS_PRESETS"]

DIS_PRESETS = ("ultrafast", "fast", "medium", "smooth", "smooth-fast")
#: DIS settings of the ``"smooth"`` preset (on top of OpenCV's medium preset)
SMOOTH_DIS = {"FinestScale": 0, "PatchSize": 16, "PatchStride": 4, "VariationalRefinementIterations": 20,
              "VariationalRefinementAlpha": 80.0}
#: ``"smooth-fast"``: ``"smooth"`` with patches every 6 pixels instead of 4 (about 0.6x the time)
SMOOTH_FAST_DIS = {"PatchStride": 6}
ALGORITHMS = ("dis", "farneback")


def _to_u8_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = float(np.percentile(a, 99.5))
    gain = 255.0 / hi if hi > 1e-6 else 255.0
    return (np.clip(a * gain, 0, 255).astype(np.uint8), np.clip(b * gain, 0, 255).astype(np.uint8))


def classical_flow_images(img0: Any, img1: Any, *, algorithm: str = "dis", preset: str = "medium") -> np.ndarray:
    """Dense flow from ``img0`` to ``img1`` (``(H, W)`` float in [0, 1]): ``(H, W, 2)`` float32 px, u right, v down."""
    import cv2

    from .._checks import check_image

    a = check_image(img0, "img0").astype(np.float32)
    b = check_image(img1, "img1").astype(np.float32)
    if a.shape != b.shape:
        raise ValueError(f"img0 and img1 must have the same shape, got {a.shape} and {b.shape}")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {ALGORITHMS}")
    u0, u1 = _to_u8_pair(a, b)
    if algorithm == "dis":
        if preset not in DIS_PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}; expected one of {DIS_PRESETS}")
        code = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST}.get(preset, cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        dis = cv2.DISOpticalFlow_create(code)
        extra = {"smooth": SMOOTH_DIS, "smooth-fast": {**SMOOTH_DIS, **SMOOTH_FAST_DIS}}.get(preset, {})
        for key, value in extra.items():  # the two smooth presets: settings on top of OpenCV's medium
            getattr(dis, f"set{key}")(value)
        if min(a.shape) < 32:  # DIS's default patches need room; shrink them on tiny images
            dis.setPatchSize(4)
            dis.setPatchStride(2)
        flow = dis.calc(u0, u1, None)
    else:
        flow = cv2.calcOpticalFlowFarneback(u0, u1, None, 0.5, 4, 15, 5, 5, 1.2, 0)
    return np.nan_to_num(np.asarray(flow, np.float32), nan=0.0, posinf=0.0, neginf=0.0)


def classical_flow_windows(w0: Any, w1: Any, *, recon: str = "tfp", algorithm: str = "dis", preset: str = "medium",
                           recon_options: dict | None = None) -> np.ndarray:
    """Baseline flow between the centres of two spike windows ``(L, H, W)`` (0/1): ``(H, W, 2)`` float32."""
    from ..recon import reconstruct

    opts = dict(recon_options or {})
    a, b = np.asarray(w0), np.asarray(w1)
    imgs = []
    for w in (a, b):
        centre = w.shape[0] // 2
        opts_w = dict(opts)
        opts_w.setdefault("window", w.shape[0] if w.shape[0] % 2 else w.shape[0] - 1)
        imgs.append(reconstruct(w, method=recon, at=centre, **opts_w))
    return classical_flow_images(imgs[0], imgs[1], algorithm=algorithm, preset=preset)


@dataclass(frozen=True)
class ClassicalFlow:
    """Settings of the baseline; calling it runs :func:`classical_flow_windows`."""

    recon: str = "tfp"
    algorithm: str = "dis"
    preset: str = "medium"

    def __call__(self, w0: Any, w1: Any) -> np.ndarray:
        return classical_flow_windows(w0, w1, recon=self.recon, algorithm=self.algorithm, preset=self.preset)


def init_image(w: Any, *, recon: str = "tfp") -> np.ndarray:
    """The image a warm start matches: ``recon`` (a classical reconstructor) over the whole window
    ``(L, H, W)`` (0/1) at its centre (``L`` odd; an even length drops the last frame)."""
    a = np.asarray(w)
    length = a.shape[0] - (1 - a.shape[0] % 2)
    if recon == "tfp":  # the plain count, without the registry's checks (it runs once per training sample)
        from ..recon.classical import tfp

        return tfp(a[:length], at=length // 2, window=length)
    from ..recon import reconstruct

    return reconstruct(a[:length], method=recon, at=length // 2, window=length)


def init_flow(w0: Any, w1: Any, *, recon: str = "tfp", preset: str = "medium") -> np.ndarray:
    """The spike-flow network's warm start: :func:`init_image` of the two windows + DIS with ``preset``.

    ``w0, w1``: ``(L, H, W)`` 0/1 windows. Returns ``(H, W, 2)`` float32 px.
    The default (TFP, medium) is the baseline; the shipped network starts from ATFI images and the
    ``"smooth"`` preset (stored with its weights).
    """
    return classical_flow_images(init_image(w0, recon=recon), init_image(w1, recon=recon), algorithm="dis",
                                 preset=preset)
