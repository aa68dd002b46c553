"""Standard image codecs (Pillow: JPEG, WebP, JPEG 2000) squeezed into a byte budget.

:func:`fit_to_budget` is what a careful sender does with a fixed payload: for
each resolution in ``scales`` (a smaller image is often better than a coarser
quantiser at these rates) it finds the highest quality whose file fits in
``max_bytes`` (bisection on the codec's quality knob), decodes it as the
receiver would (bicubic upsampling back to the full size) and keeps the
candidate with the lowest error *against the sender's own image* (the sender
never sees the ground truth). Files are complete, standard files (JPEG/JFIF,
WebP/RIFF, raw JPEG 2000 codestream), headers included.

>>> import numpy as np
>>> img = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (48, 1))
>>> c = fit_to_budget(img, 600, codecs=("webp",))
>>> c.codec, c.nbytes <= 600, c.image.shape
('webp', True, (48, 64))
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CODECS", "DEFAULT_SCALES", "CodedImage", "encode_image", "decode_image", "fit_to_budget"]

#: Codecs known to :func:`encode_image`.
CODECS = ("jpeg", "webp", "jpeg2000")
#: Resolutions tried by :func:`fit_to_budget` (fraction of each side).
DEFAULT_SCALES = (1.0, 0.5, 0.35, 0.25, 0.125, 0.0625)

_QUALITY = {"jpeg": (1, 95), "webp": (0, 100), "jpeg2000": (1, 100)}


@dataclass(frozen=True)
class CodedImage:
    """One encoded image: the file bytes and what the receiver decodes from them."""

    codec: str
    data: bytes
    scale: float
    quality: int
    image: np.ndarray  # (H, W) float32 in [0, 1], full size

    @property
    def nbytes(self) -> int:
        return len(self.data)


def _check_img(img: Any) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim != 2 or 0 in a.shape:
        raise ValueError(f"image must be a non-empty (H, W) array, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"image must be float in [0, 1], got dtype {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError("image contains NaN or infinite values")
    return np.clip(a, 0, 1).astype(np.float32)


def _check_codec(codec: str) -> str:
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {CODECS}, got {codec!r}")
    return codec


def _small_size(shape: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(8, int(round(shape[0] * scale))), max(8, int(round(shape[1] * scale)))


def encode_image(img: Any, codec: str, *, quality: int, scale: float = 1.0) -> bytes:
    """Encode a ``(H, W)`` float image (downscaled by ``scale``, area filter) as a standard file.

    ``quality``: JPEG 1..95, WebP 0..100, JPEG 2000 1..100 (mapped to a
    target compression ratio ``2 ** ((100 - quality) / 8)``).
    """
    from PIL import Image

    a = _check_img(img)
    codec = _check_codec(codec)
    lo, hi = _QUALITY[codec]
    if not lo <= int(quality) <= hi:
        raise ValueError(f"{codec} quality must be in [{lo}, {hi}], got {quality}")
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    pim = Image.fromarray(np.round(a * 255).astype(np.uint8))
    if scale < 1:
        h, w = _small_size(a.shape, scale)
        pim = pim.resize((w, h), Image.Resampling.BOX if scale <= 0.5 else Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    if codec == "jpeg":
        pim.save(buf, "JPEG", quality=int(quality), optimize=True)
    elif codec == "webp":
        pim.save(buf, "WEBP", quality=int(quality), method=6)
    else:
        ratio = 2.0 ** ((100 - int(quality)) / 8.0)
        pim.save(buf, "JPEG2000", quality_mode="rates", quality_layers=[ratio], irreversible=True, no_jp2=True)
    return buf.getvalue()


def decode_image(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """Decode a file from :func:`encode_image` and upsample (bicubic) to ``size = (H, W)``; float32 [0, 1]."""
    from PIL import Image

    if not isinstance(data, (bytes, bytearray)) or not data:
        raise ValueError("data must be non-empty bytes")
    pim = Image.open(io.BytesIO(bytes(data)))
    pim.load()
    pim = pim.convert("L")
    h, w = int(size[0]), int(size[1])
    if pim.size != (w, h):
        pim = pim.resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(pim, np.float32) / 255.0


def _best_quality(a: np.ndarray, codec: str, scale: float, max_bytes: int) -> tuple[int, bytes] | None:
    lo, hi = _QUALITY[codec]
    data = encode_image(a, codec, quality=lo, scale=scale)
    if len(data) > max_bytes:
        return None
    best = (lo, data)
    lo += 1
    while lo <= hi:
        mid = (lo + hi) // 2
        d = encode_image(a, codec, quality=mid, scale=scale)
        if len(d) <= max_bytes:
            best, lo = (mid, d), mid + 1
        else:
            hi = mid - 1
    return best


def fit_to_budget(img: Any, max_bytes: int, *, codecs: tuple[str, ...] = CODECS,
                  scales: tuple[float, ...] = DEFAULT_SCALES) -> CodedImage | None:
    """The best file of at most ``max_bytes`` bytes over ``codecs`` x ``scales``, or ``None`` if none fits.

    "Best" is the lowest mean squared error of the decoded image against
    ``img`` (the sender's image).
    """
    a = _check_img(img)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)):
        raise TypeError(f"max_bytes must be an integer, got {type(max_bytes).__name__}")
    if not codecs:
        raise ValueError("codecs must name at least one codec")
    for c in codecs:
        _check_codec(c)
    best: CodedImage | None = None
    best_err = np.inf
    if max_bytes <= 0:
        return None
    for codec in codecs:
        for s in scales:
            r = _best_quality(a, codec, float(s), int(max_bytes))
            if r is None:
                continue
            q, data = r
            dec = decode_image(data, a.shape)
            err = float(np.mean((dec - a) ** 2))
            if err < best_err:
                best, best_err = CodedImage(codec, data, float(s), int(q), dec), err
    return best
