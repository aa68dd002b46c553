"""Draw tracked boxes and identities on images (arrays first; save with :func:`~spikevision.viz.write_video`).

>>> import numpy as np
>>> img = draw_tracks(np.zeros((40, 60)), np.array([[0, 3, 5, 5, 20, 10, 1.0]]))
>>> img.shape, img.dtype.name
((40, 60), 'uint8')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .export import to_uint8

__all__ = ["draw_tracks", "track_video_frames"]


def draw_tracks(image: Any, rows: Any) -> np.ndarray:
    """``image`` ``(H, W)`` (float in [0, 1] or uint8) with each box of ``rows`` drawn and labelled by its id.

    ``rows`` are ``(n, >= 6)``: ``frame, id, x, y, w, h, ...`` (as
    :attr:`spikevision.track.Tracks.rows`); boxes are white with a black
    outline, the id written above the box. Returns ``(H, W)`` uint8 (gray:
    the project's video writer takes gray frames).
    """
    from PIL import Image, ImageDraw

    base = to_uint8(image)
    if base.ndim != 2:
        raise ValueError(f"image must be (H, W), got shape {base.shape}")
    r = np.asarray(rows, np.float64)
    if r.size and (r.ndim != 2 or r.shape[1] < 6):
        raise ValueError(f"rows must be (n, >= 6): frame, id, x, y, w, h ..., got shape {r.shape}")
    im = Image.fromarray(base, mode="L")
    dr = ImageDraw.Draw(im)
    for row in r.reshape(-1, r.shape[1] if r.size else 6):
        tid, x, y, w, h = int(row[1]), *row[2:6]
        x0, y0, x1, y1 = float(x), float(y), float(x + w - 1), float(y + h - 1)
        if x1 < x0 or y1 < y0:
            continue
        dr.rectangle([x0 - 1, y0 - 1, x1 + 1, y1 + 1], outline=0)
        dr.rectangle([x0, y0, x1, y1], outline=255)
        ty = y0 - 11 if y0 >= 11 else y1 + 2
        dr.text((x0 + 1, ty + 1), str(tid), fill=0)
        dr.text((x0, ty), str(tid), fill=255)
    return np.asarray(im, np.uint8)


def track_video_frames(spikes: Any, tracks: Any, *, window: int = 41) -> np.ndarray:
    """Reconstructions (TFP over ``window`` frames) at the tracks' output frames, boxes drawn: ``(N, H, W)`` uint8.

    ``tracks`` is a :class:`spikevision.track.Tracks`; frames are ``0, every,
    2 every, ...`` whose window lies inside the stream. Each reconstruction is
    scaled by its 99.5th percentile so dim recordings stay visible.
    """
    from ..recon import classical
    from ..recon.registry import frame_indices

    n = tracks.n_frames
    idx = frame_indices(n, every=tracks.every, window=window)
    if len(idx) == 0:
        raise ValueError(f"no frame of the {n}-frame stream has a whole {window}-frame window for the video")
    imgs = classical.tfp(spikes, every=tracks.every, window=window, rate_ratio=1.0)
    out = np.empty(imgs.shape, np.uint8)
    for k, (t, img) in enumerate(zip(idx, imgs)):
        scale = max(float(np.percentile(img, 99.5)), 1e-6)
        out[k] = draw_tracks(np.clip(img / scale, 0, 1), tracks.at(int(t)))
    return out
