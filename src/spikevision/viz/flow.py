"""Optical-flow pictures: the Baker et al. colour wheel, its legend, arrows, videos.

Colour code (Baker et al., "A Database and Evaluation Methodology for Optical
Flow", IJCV 2011): the flow direction picks a hue on a 55-colour wheel
(red → yellow → green → cyan → blue → magenta → red, with more steps where the
eye tells hues apart best) and the magnitude the saturation: white at zero,
the full colour at the normalisation radius, darkened beyond it. Direction
convention: u right, v down (image coordinates), so a flow pointing right is
red, down is yellow-green ... read the legend (:func:`color_wheel`).

Normalisation is always stated by the caller: ``max_flow=<px>`` is a fixed
scale (comparable across images and methods), ``max_flow=None`` scales each
image by its own largest magnitude (per-image). Everything returns ``uint8``
RGB arrays; saving is separate (:func:`write_flow_video`, or any image writer).
"""

from __future__ import annotations

import os
from typing import Any, Iterable

import numpy as np

from .._checks import check_image

__all__ = ["wheel_colors", "flow_to_color", "color_wheel", "flow_with_legend", "flow_arrows",
           "flow_video_frames", "write_flow_video"]

#: Hue steps between the six primary/secondary colours (Baker et al.).
_SEGMENTS = (("RY", 15), ("YG", 6), ("GC", 4), ("CB", 11), ("BM", 13), ("MR", 6))


def wheel_colors() -> np.ndarray:
    """The 55 wheel colours ``(55, 3)`` float in [0, 255], starting at red, in order of angle."""
    ry, yg, gc, cb, bm, mr = (n for _, n in _SEGMENTS)
    out = []
    out += [(255, 255 * i / ry, 0) for i in range(ry)]           # red -> yellow
    out += [(255 - 255 * i / yg, 255, 0) for i in range(yg)]     # yellow -> green
    out += [(0, 255, 255 * i / gc) for i in range(gc)]           # green -> cyan
    out += [(0, 255 - 255 * i / cb, 255) for i in range(cb)]     # cyan -> blue
    out += [(255 * i / bm, 0, 255) for i in range(bm)]           # blue -> magenta
    out += [(255, 0, 255 - 255 * i / mr) for i in range(mr)]     # magenta -> red
    return np.asarray(out, np.float64)


def _check_flow(flow: Any) -> np.ndarray:
    a = np.asarray(flow)
    if a.ndim != 3 or a.shape[-1] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"flow is empty (shape {a.shape})")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise TypeError(f"flow must be a real numeric array, got dtype {a.dtype}")
    return a.astype(np.float64, copy=False)


def _check_max_flow(max_flow: Any) -> float | None:
    if max_flow is None:
        return None
    if isinstance(max_flow, bool) or not isinstance(max_flow, (int, float, np.integer, np.floating)):
        raise TypeError(f"max_flow must be a number of pixels or None (per-image), got {type(max_flow).__name__}")
    v = float(max_flow)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"max_flow must be a finite number of pixels > 0, got {v}")
    return v


def _colorize(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unit-normalised ``u, v`` (radius 1 = full colour) -> RGB uint8 (NaN -> black)."""
    bad = ~(np.isfinite(u) & np.isfinite(v))
    u, v = np.where(bad, 0, u), np.where(bad, 0, v)
    wheel = wheel_colors()
    n = len(wheel)
    rad = np.sqrt(u**2 + v**2)
    angle = np.arctan2(-v, -u) / np.pi  # in [-1, 1]; 1 and -1 both mean "pointing left"
    fk = (angle + 1) / 2 * (n - 1)
    k0 = np.floor(fk).astype(np.int64)
    k1 = (k0 + 1) % n
    frac = (fk - k0)[..., None]
    col = ((1 - frac) * wheel[k0] + frac * wheel[k1]) / 255.0
    r = rad[..., None]
    inside = r <= 1
    col = np.where(inside, 1 - r * (1 - col), col * 0.75)  # saturate with radius; darken beyond the scale
    out = np.floor(255 * np.clip(col, 0, 1)).astype(np.uint8)
    out[bad] = 0
    return out


def flow_to_color(flow: Any, *, max_flow: float | None) -> np.ndarray:
    """Colour-code a flow field: ``(H, W, 2)`` px -> ``(H, W, 3)`` uint8 RGB.

    ``max_flow``: the magnitude (px) drawn at full saturation, fixed; ``None``
    uses the image's own largest finite magnitude (per-image normalisation).
    Non-finite flow is drawn black.

    >>> rgb = flow_to_color(np.zeros((2, 3, 2)), max_flow=5.0)
    >>> rgb.shape, rgb.dtype, int(rgb.min())
    ((2, 3, 3), dtype('uint8'), 255)
    """
    f = _check_flow(flow)
    scale = _check_max_flow(max_flow)
    if scale is None:
        mag = np.sqrt((f**2).sum(axis=-1))
        finite = mag[np.isfinite(mag)]
        scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    return _colorize(f[..., 0] / scale, f[..., 1] / scale)


def color_wheel(size: int = 151, *, max_flow: float | None = None, label: bool = True) -> np.ndarray:
    """Legend: the colour of every flow vector inside a disc, ``(size, size, 3)`` uint8.

    The disc's radius is the normalisation radius; with ``label`` and a
    ``max_flow``, the magnitude is written under the disc (``"r = 5 px"``).
    Outside the disc the legend is white.
    """
    from .._checks import check_positive_int

    size = check_positive_int(size, "size")
    scale = _check_max_flow(max_flow)
    c = (size - 1) / 2
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    u, v = (xs - c) / max(c, 1), (ys - c) / max(c, 1)
    out = _colorize(u, v)
    out[np.sqrt(u**2 + v**2) > 1] = 255
    if label and scale is not None and size >= 48:
        import cv2

        text = f"r = {scale:.3g} px"
        cv2.putText(out, text, (2, size - 4), cv2.FONT_HERSHEY_SIMPLEX, max(0.3, size / 400), (0, 0, 0), 1, cv2.LINE_AA)
    return out


def flow_with_legend(flow: Any, *, max_flow: float | None, legend_size: int | None = None) -> np.ndarray:
    """:func:`flow_to_color` with the colour-wheel legend pasted in the top-right corner."""
    f = _check_flow(flow)
    img = flow_to_color(f, max_flow=max_flow)
    h, w = img.shape[:2]
    scale = max_flow
    if scale is None:
        mag = np.sqrt((f**2).sum(axis=-1))
        mag = mag[np.isfinite(mag)]
        scale = float(mag.max()) if mag.size and mag.max() > 0 else 1.0
    size = legend_size or max(8, min(h, w) // 4)
    size = min(size, h, w)
    leg = color_wheel(size, max_flow=float(scale))
    img[:size, w - size :] = leg
    return img


def flow_arrows(image: Any, flow: Any, *, step: int = 16, scale: float = 1.0,
                color: tuple[int, int, int] = (255, 40, 40), min_px: float = 0.25) -> np.ndarray:
    """Arrows of the flow every ``step`` pixels over a gray image, ``(H, W, 3)`` uint8.

    ``image``: ``(H, W)`` float in [0, 1] (e.g. a reconstruction) or uint8.
    Each arrow starts at a grid point and ends at ``point + scale * flow``
    (``scale=1``: true length in pixels). Vectors shorter than ``min_px`` are
    drawn as a dot so static regions stay readable.
    """
    import cv2

    from .._checks import check_positive_float, check_positive_int

    img = check_image(image, "image", ndim=(2,))
    f = _check_flow(flow)
    if f.shape[:2] != img.shape:
        raise ValueError(f"flow has shape {f.shape[:2]}, image has {img.shape}: they must match")
    step = check_positive_int(step, "step")
    scale = check_positive_float(scale, "scale")
    g = img.astype(np.float64)
    if img.dtype != np.uint8:
        g = np.clip(g, 0, 1) * 255
    out = np.repeat(g.astype(np.uint8)[..., None], 3, axis=2).copy()
    h, w = img.shape
    for y in range(step // 2, h, step):
        for x in range(step // 2, w, step):
            du, dv = f[y, x]
            if not (np.isfinite(du) and np.isfinite(dv)):
                continue
            if np.hypot(du, dv) < min_px:
                cv2.circle(out, (x, y), 1, color, -1)
                continue
            end = (int(round(x + scale * du)), int(round(y + scale * dv)))
            cv2.arrowedLine(out, (x, y), end, color, 1, cv2.LINE_AA, tipLength=0.3)
    return out


def flow_video_frames(flows: Iterable[Any], *, max_flow: float | None, legend: bool = True) -> np.ndarray:
    """Colour-code a sequence of flows: ``(N, H, W, 2)`` -> ``(N, H, W, 3)`` uint8.

    Use a fixed ``max_flow`` for videos (per-image normalisation makes the
    colours flicker from frame to frame).
    """
    frames = [flow_with_legend(f, max_flow=max_flow) if legend else flow_to_color(f, max_flow=max_flow) for f in flows]
    if not frames:
        raise ValueError("no flow fields given")
    shapes = {fr.shape for fr in frames}
    if len(shapes) != 1:
        raise ValueError(f"all flows must have the same size, got {sorted(shapes)}")
    return np.stack(frames)


def write_flow_video(path: str | os.PathLike, frames: Any, *, fps: float = 10.0) -> None:
    """Write RGB frames ``(N, H, W, 3)`` uint8 (e.g. :func:`flow_video_frames`) to ``.mp4`` or ``.gif``, atomically."""
    from pathlib import Path

    from ..io.atomic import atomic_path

    a = np.asarray(frames)
    if a.ndim != 4 or a.shape[-1] != 3 or a.shape[0] == 0:
        raise ValueError(f"frames must have shape (N, H, W, 3) with N >= 1, got {a.shape}")
    if a.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, got {a.dtype}")
    suffix = Path(path).suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"video path must end in .mp4 or .gif, got {suffix!r}")
    try:
        import imageio.v3 as iio
    except ImportError as exc:  # pragma: no cover
        raise ImportError("writing videos needs imageio and imageio-ffmpeg: pip install 'spikevision[vision]'") from exc
    if suffix == ".mp4":  # H.264 wants even sizes
        a = a[:, : a.shape[1] // 2 * 2, : a.shape[2] // 2 * 2]
    with atomic_path(path) as tmp:
        if suffix == ".mp4":
            iio.imwrite(tmp, a, extension=".mp4", fps=fps, codec="libx264", macro_block_size=1)
        else:
            iio.imwrite(tmp, a, extension=".gif", duration=1000.0 / fps, loop=0)
