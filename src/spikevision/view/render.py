"""The pictures and numbers the viewer shows, as arrays: pure functions of a stream.

Everything here calls the library (:func:`spikevision.recon.reconstruct`,
:func:`spikevision.flow.estimate_flow`, :mod:`spikevision.viz`); the web app
only parses requests and encodes the results.

Kinds of gray panel (``method`` of :func:`frame_image`):

``raw``
    The binary spike frame ``t`` (0 or 1).
``mean``
    The temporal mean of the ``window`` frames centred on ``t``
    (``[t - window // 2, t - window // 2 + window)``, the rule of
    :meth:`SpikeStream.window`), spikes per frame in [0, 1].
any name of :func:`spikevision.recon.list_methods`
    ``reconstruct(stream, method=name, at=t, window=window)`` (``window``
    passed only when given).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_positive_int
from ..stream import SpikeStream

__all__ = ["VIEW_KINDS", "panel_methods", "frame_image", "window_mean", "hot_pixels", "rate_map_rgb",
           "pixel_trace", "flow_image", "png_bytes", "HotPixels", "check_frame_range"]

#: Panel kinds the viewer adds to the reconstruction methods.
VIEW_KINDS = ("raw", "mean")

#: Frames decoded at a time when summing long windows (bounds memory to ``_CHUNK * H * W`` bytes).
_CHUNK = 256


def panel_methods() -> list[str]:
    """``raw``, ``mean`` and the registered reconstruction methods, in that order."""
    from ..recon import list_methods

    return [*VIEW_KINDS, *[m for m in list_methods() if m not in VIEW_KINDS]]


def check_frame_range(stream: SpikeStream, start: int, stop: int, what: str) -> None:
    """``[start, stop)`` must be a non-empty range inside the stream (a :class:`ValueError` says what is needed)."""
    if start < 0 or stop > stream.n_frames or stop <= start:
        raise ValueError(f"{what} needs frames [{start}, {stop}), but the recording has frames [0, {stream.n_frames})")


def window_mean(stream: SpikeStream, start: int, stop: int) -> np.ndarray:
    """Mean of frames ``[start, stop)`` per pixel, ``(H, W)`` float32 in [0, 1] (spikes per frame).

    Decodes :data:`_CHUNK` frames at a time, so long windows cost little memory.

    >>> s = SpikeStream(np.ones((10, 2, 3), np.uint8))
    >>> float(window_mean(s, 0, 10).max())
    1.0
    """
    check_frame_range(stream, start, stop, "the mean")
    total = np.zeros((stream.height, stream.width), np.uint32)
    for _, frames in stream.chunks(_CHUNK, start=start, stop=stop):
        total += frames.sum(axis=0, dtype=np.uint32)
    return (total / np.float32(stop - start)).astype(np.float32)


def frame_image(stream: SpikeStream, t: int, *, method: str, window: int | None = None) -> np.ndarray:
    """The gray panel ``method`` at frame ``t``: ``(H, W)`` float32 in [0, 1] (see the module docstring).

    Raises :class:`ValueError` (frame outside the stream, window without
    enough context) and :class:`spikevision.recon.UnknownMethodError`.
    """
    t = check_positive_int(t, "t", allow_zero=True)
    if t >= stream.n_frames:
        raise ValueError(f"t={t} is outside the recording, which has frames [0, {stream.n_frames})")
    if window is not None:
        window = check_positive_int(window, "window")
    if method == "raw":
        return stream[t].astype(np.float32)
    if method == "mean":
        w = 41 if window is None else window
        lo = t - w // 2
        return window_mean(stream, lo, lo + w) if w > 1 else stream[t].astype(np.float32)
    from ..recon import reconstruct

    opts = {} if window is None else {"window": window}
    return reconstruct(stream, method=method, at=t, **opts)


@dataclass(frozen=True)
class HotPixels:
    """Pixels that fire far above their neighbours: ``rows``/``cols`` ``int64 (n,)`` and ``rates`` (spikes/frame)."""

    rows: np.ndarray
    cols: np.ndarray
    rates: np.ndarray
    threshold: float

    def as_dict(self, limit: int = 500) -> dict[str, Any]:
        order = np.argsort(-self.rates)[:limit]
        return {"count": int(len(self.rates)), "threshold": self.threshold,
                "pixels": [[int(self.rows[i]), int(self.cols[i]), round(float(self.rates[i]), 5)] for i in order]}


def hot_pixels(rate: Any, *, excess: float = 0.15, sigmas: float = 8.0) -> HotPixels:
    """Hot pixels of a per-pixel rate map ``(H, W)`` (spikes per frame).

    A pixel is hot when its rate exceeds the median of its 3 x 3 neighbourhood
    by more than ``max(excess, sigmas * s)``, where ``s`` is the robust spread
    (1.4826 x median absolute deviation) of that excess over the whole image:
    bright regions fire fast everywhere and are not flagged; a lone pixel that
    fires far faster than the scene around it is.

    >>> r = np.full((5, 5), 0.1); r[2, 3] = 0.9
    >>> h = hot_pixels(r); (h.rows.tolist(), h.cols.tolist())
    ([2], [3])
    """
    from scipy.ndimage import median_filter

    r = np.asarray(rate, dtype=np.float32)
    if r.ndim != 2 or r.size == 0:
        raise ValueError(f"rate must be a non-empty (H, W) array, got shape {r.shape}")
    diff = r - median_filter(r, size=3, mode="nearest")
    mad = float(np.median(np.abs(diff - np.median(diff))))
    threshold = max(float(excess), sigmas * 1.4826 * mad)
    rows, cols = np.nonzero(diff > threshold)
    return HotPixels(rows=rows.astype(np.int64), cols=cols.astype(np.int64), rates=r[rows, cols].astype(np.float64),
                     threshold=threshold)


def rate_map_rgb(rate: Any, hot: HotPixels | None = None) -> np.ndarray:
    """Rate map for display: gray scaled so the 99.5th percentile is white, hot pixels red; ``(H, W, 3)`` uint8."""
    from ..viz.export import to_uint8

    r = np.asarray(rate, dtype=np.float32)
    top = float(np.percentile(r, 99.5)) if r.size else 0.0
    g = to_uint8(np.clip(r / top, 0, 1) if top > 0 else np.zeros_like(r))
    out = np.repeat(g[..., None], 3, axis=2)
    if hot is not None and len(hot.rows):
        out[hot.rows, hot.cols] = (255, 0, 0)
    return out


def pixel_trace(stream: SpikeStream, y: int, x: int, start: int, stop: int) -> dict[str, Any]:
    """Spike train of pixel ``(y, x)`` over frames ``[start, stop)``.

    Returns ``{"y", "x", "start", "stop", "spikes": [frame indices], "intervals":
    [frames between consecutive spikes], "rate": spikes per frame, "mean_interval"}``
    (``mean_interval`` is ``None`` with fewer than two spikes).
    """
    y = check_positive_int(y, "y", allow_zero=True)
    x = check_positive_int(x, "x", allow_zero=True)
    if y >= stream.height or x >= stream.width:
        raise ValueError(f"pixel (y={y}, x={x}) is outside the {stream.height} x {stream.width} frame")
    check_frame_range(stream, start, stop, "the pixel inspector")
    parts = [frames[:, y, x].copy() for _, frames in stream.chunks(_CHUNK, start=start, stop=stop)]
    train = np.concatenate(parts)
    spikes = np.flatnonzero(train) + start
    intervals = np.diff(spikes)
    return {"y": y, "x": x, "start": start, "stop": stop, "spikes": spikes.tolist(), "intervals": intervals.tolist(),
            "rate": float(len(spikes) / (stop - start)),
            "mean_interval": float(intervals.mean()) if len(intervals) else None}


def flow_image(stream: SpikeStream, t0: int, dt: int, *, method: str, arrows: bool = False,
               max_flow: float | None = None) -> np.ndarray:
    """Flow from ``t0`` to ``t0 + dt`` (:func:`spikevision.flow.estimate_flow`) as an ``(H, W, 3)`` uint8 picture.

    Colour wheel with its legend in the top-right corner
    (:func:`spikevision.viz.flow.flow_with_legend`), or with ``arrows`` the
    vectors drawn over the TFP image at ``t0``
    (:func:`spikevision.viz.flow.flow_arrows`). ``max_flow=None`` scales by the
    image's own largest vector.
    """
    from ..flow import estimate_flow
    from ..viz.flow import flow_arrows, flow_with_legend

    t0 = check_positive_int(t0, "t0", allow_zero=True)
    dt = check_positive_int(dt, "dt")
    flow = estimate_flow(stream, t0, dt, method=method)
    if not arrows:
        return flow_with_legend(flow, max_flow=max_flow)
    from ..recon import reconstruct

    try:
        background = reconstruct(stream, method="tfp", at=t0)
    except ValueError:  # not enough context for the default window: the raw frame
        background = stream[t0].astype(np.float32)
    step = max(8, min(stream.height, stream.width) // 16)
    return flow_arrows(background, flow, step=step)


def png_bytes(image: Any, *, fast: bool = True) -> bytes:
    """Encode a gray ``(H, W)`` (float in [0, 1] or uint8) or RGB ``(H, W, 3)`` uint8 image as PNG bytes.

    Float images become ``round(255 * value)`` clipped to [0, 255]
    (:func:`spikevision.viz.export.to_uint8`). ``fast`` (for answers): zlib
    level 1 with Huffman coding only, about 1.5 ms for 250 x 400 and smaller
    than level 1's default strategy on spike images; otherwise level 6 (for files).
    """
    import cv2

    from ..viz.export import to_uint8

    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] == 3:
        if a.dtype != np.uint8:
            raise TypeError(f"an RGB image must be uint8, got {a.dtype}")
        a = a[..., ::-1]                                   # OpenCV writes BGR
    else:
        a = to_uint8(a)
        if a.ndim != 2:
            raise ValueError(f"expected a gray (H, W) or RGB (H, W, 3) image, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"cannot encode an empty image (shape {a.shape})")
    params = ([cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
              if fast else [cv2.IMWRITE_PNG_COMPRESSION, 6])
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(a), params)
    if not ok:  # pragma: no cover - OpenCV reports no reason
        raise ValueError(f"PNG encoding failed for an image of shape {a.shape}")
    return buf.tobytes()
