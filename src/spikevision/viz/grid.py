"""A labelled grid of images (e.g. reconstructions next to their ground truth), as an RGB array.

>>> import numpy as np
>>> g = labelled_grid([(np.zeros((20, 30)), "GT"), (np.ones((20, 30)), "tfp 23.5 dB")], columns=2, marked=(0,))
>>> g.shape, g.dtype
((44, 76, 3), dtype('uint8'))
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["labelled_grid"]

_PAD = 4
_MARK = (40, 200, 80)


def labelled_grid(tiles: Sequence[tuple[Any, str]], *, columns: int = 3, marked: Sequence[int] = (),
                  caption_px: int = 12) -> np.ndarray:
    """Tiles ``(image, caption)`` in a grid, each with its caption above it, ``(H, W, 3)`` uint8.

    ``image``: ``(h, w)`` float in [0, 1] or uint8 (all the same size). ``marked``: indices of
    tiles drawn with a green frame and a green caption (e.g. the ground truth).
    ``caption_px``: text height in pixels.
    """
    from PIL import Image, ImageDraw, ImageFont

    from .._checks import check_positive_int
    from .export import to_uint8

    if not tiles:
        raise ValueError("labelled_grid needs at least one tile")
    columns = check_positive_int(columns, "columns")
    imgs = [to_uint8(np.asarray(t[0])) for t in tiles]
    shapes = {a.shape for a in imgs}
    if len(shapes) != 1 or imgs[0].ndim != 2:
        raise ValueError(f"tiles must be (h, w) images of one size, got shapes {sorted(shapes)}")
    h, w = imgs[0].shape
    cap = caption_px + 2 * _PAD
    cols = min(columns, len(imgs))
    rows = -(-len(imgs) // cols)
    cw, ch = w + 2 * _PAD, h + cap + _PAD
    canvas = Image.new("RGB", (cols * cw, rows * ch), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.load_default(size=caption_px)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    for i, (img, (_, caption)) in enumerate(zip(imgs, tiles)):
        x, y = (i % cols) * cw + _PAD, (i // cols) * ch
        canvas.paste(Image.fromarray(img, mode="L").convert("RGB"), (x, y + cap))
        on = i in set(marked)
        if on:
            draw.rectangle([x - _PAD + 1, y + cap - _PAD + 1, x + w + _PAD - 2, y + cap + h + _PAD - 2], outline=_MARK,
                           width=_PAD - 1)
        draw.text((x, y + _PAD), str(caption), fill=_MARK if on else (0, 0, 0), font=font)
    return np.asarray(canvas)
