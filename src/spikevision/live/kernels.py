"""Kernels on packed frames: per-frame popcount and per-pixel window counts.

The bit layout of a packed frame is owned by :mod:`spikevision.io.dat`; this
module learns it from :func:`~spikevision.io.dat.unpack_frames` instead of
restating it. A frame of ``nb`` bytes decodes into ``8 * nb`` *lanes*, in the
order ``unpack_frames(frame, 1, 8 * nb, upright=True)`` yields its bits; the
first ``H * W`` lanes are pixels, the rest padding. :class:`LaneLayout` holds:

* ``bits``: ``(256, 8)`` uint8, the lanes a byte value decodes to;
* ``index``: where each upright pixel ``(r, c)`` sits among the lanes, probed
  once from ``unpack_frames`` (a fast path replaces the gather by a reshape
  and a row flip when the probe shows the lanes are rows in order or reversed).

Window counts are kept per lane as ``uint8`` (one byte per pixel, so windows up
to 255 frames), updated by adding or subtracting packed frames. Two
implementations give the same bytes: a compiled one (``numba``, optional, the
``live`` extra) adds a byte's 8 lanes as one 64-bit word of eight counters per
byte (computed with a multiply and masks, or looked up in ``LUT[byte]`` if the
bit order were other than the ``.dat`` one), and a
NumPy one unpacks (small frames) or adds bit-sliced counters in the packed
domain (large frames). :data:`BACKEND` names the one in use;
``SPIKEVISION_LIVE_BACKEND=numpy`` forces the fallback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from ..io.dat import PackedSource, frame_bytes, unpack_frames

__all__ = ["BACKEND", "LaneLayout", "lane_layout", "warm_up", "frame_counts", "add_frames", "subtract_frames", "lanes_to_image",
           "lanes_to_intensity"]

#: Largest window the ``uint8`` lane counters hold exactly.
MAX_LANE_WINDOW = 255
#: Frames of at least this many bytes use bit-sliced counters in the NumPy fallback (measured crossover).
_BITSLICE_MIN_BYTES = 32_768


# --------------------------------------------------------------------------- the layout, probed
@lru_cache(maxsize=1)
def _byte_lanes() -> np.ndarray:
    """``(256, 8)`` uint8: the lanes each byte value decodes to."""
    return unpack_frames(np.arange(256, dtype=np.uint8).reshape(256, 1), 1, 8, upright=True).reshape(256, 8)


@lru_cache(maxsize=1)
def _lane_lut64() -> np.ndarray:
    """``(256,)`` uint64: each byte's 8 lanes as one word of eight uint8 counters."""
    return np.ascontiguousarray(_byte_lanes()).view(np.uint64).reshape(256)


def _pack_lanes(lanes: np.ndarray) -> np.ndarray:
    """Bytes whose decoded lanes equal ``lanes`` (0/1, length a multiple of 8)."""
    bits = _byte_lanes()
    weights = np.zeros(8, np.int64)
    for v in range(256):  # the byte value that lights exactly one lane
        if bits[v].sum() == 1:
            weights[int(np.argmax(bits[v]))] = v
    return (lanes.reshape(-1, 8).astype(np.int64) @ weights).astype(np.uint8)


@dataclass(frozen=True)
class LaneLayout:
    """Where the pixels of a ``height x width`` frame sit among its lanes (see the module docstring)."""

    height: int
    width: int
    upright: bool
    frame_bytes: int
    #: ``"rows"`` (lanes are rows top to bottom), ``"flipped"`` (bottom to top) or ``"gather"``.
    kind: str
    #: ``(H, W)`` int64 lane index of each upright pixel (only used when ``kind == "gather"``).
    index: np.ndarray
    #: Byte mask of the last byte's lanes that hold pixels (0xFF when there is no padding).
    last_byte_mask: int


@lru_cache(maxsize=16)
def lane_layout(height: int, width: int, *, upright: bool) -> LaneLayout:
    """Probe :func:`~spikevision.io.dat.unpack_frames` once for the lane of every pixel."""
    nb = frame_bytes(height, width)
    n_lanes = 8 * nb
    lanes = np.arange(n_lanes, dtype=np.int64)
    index = np.zeros((height, width), np.int64)
    for k in range(max(1, int(n_lanes - 1).bit_length())):
        probe = _pack_lanes(((lanes >> k) & 1).astype(np.uint8))
        index |= unpack_frames(probe[None], height, width, upright=upright)[0].astype(np.int64) << k
    grid = np.arange(height * width, dtype=np.int64).reshape(height, width)
    kind = "rows" if np.array_equal(index, grid) else "flipped" if np.array_equal(index, grid[::-1]) else "gather"
    pixel_lanes = np.zeros(n_lanes, np.uint8)
    pixel_lanes[index.reshape(-1)] = 1
    last = int(_pack_lanes(pixel_lanes[-8:])[0])
    return LaneLayout(height, width, upright, nb, kind, index, last)


def lanes_to_intensity(counts: np.ndarray, layout: LaneLayout, scale: np.float32, out: np.ndarray, *,
                       backend: str | None = None) -> None:
    """``out = min(float32(count) * scale, 1)`` per upright pixel, ``out`` ``(H, W)`` float32.

    The same float32 operations, in the same order, as TFP's intensity mapping in
    :mod:`spikevision.recon.classical`, so the images are bit-identical.
    """
    if (backend or BACKEND) == "numba" and _KERNELS is not None and layout.kind != "gather":
        _KERNELS["scale_rows"](counts, layout.kind == "flipped", np.float32(scale), out)
        return
    from ..recon.classical import _to_intensity_into

    plane = out.shape
    _to_intensity_into(lanes_to_image(counts, layout), np.full(plane, scale, np.float32),
                       np.ones(plane, np.float32), out)


def lanes_to_image(lanes: np.ndarray, layout: LaneLayout) -> np.ndarray:
    """View (or gather) ``(8 * frame_bytes,)`` per-lane values as the upright ``(H, W)`` image."""
    h, w = layout.height, layout.width
    if layout.kind == "rows":
        return lanes[: h * w].reshape(h, w)
    if layout.kind == "flipped":
        return lanes[: h * w].reshape(h, w)[::-1]
    return lanes[layout.index]


# --------------------------------------------------------------------------- compiled kernels (optional)
def _compile() -> dict[str, Callable[..., Any]] | None:
    if os.environ.get("SPIKEVISION_LIVE_BACKEND", "").lower() == "numpy":
        return None
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(nogil=True, cache=True)
    def popcount_rows(words: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
        m1 = np.uint64(0x5555555555555555)
        m2 = np.uint64(0x3333333333333333)
        m4 = np.uint64(0x0F0F0F0F0F0F0F0F)
        h01 = np.uint64(0x0101010101010101)
        for i in range(words.shape[0]):
            s = np.uint64(0)
            for j in range(words.shape[1]):
                x = np.uint64(words[i, j])
                x = x - ((x >> np.uint64(1)) & m1)
                x = (x & m2) + ((x >> np.uint64(2)) & m2)
                x = (x + (x >> np.uint64(4))) & m4
                s += (x * h01) >> np.uint64(56)
            out[i] = np.int64(s)

    @numba.njit(nogil=True, cache=True)
    def add_lanes(counts: np.ndarray, packed: np.ndarray, lut: np.ndarray, sign: int) -> None:  # pragma: no cover
        for i in range(packed.shape[0]):
            row = packed[i]
            if sign > 0:
                for j in range(row.shape[0]):
                    counts[j] += lut[row[j]]
            else:
                for j in range(row.shape[0]):
                    counts[j] -= lut[row[j]]

    @numba.njit(nogil=True, cache=True)
    def add_spread(counts: np.ndarray, packed: np.ndarray, sign: int) -> None:  # pragma: no cover - compiled
        # The 8 lanes of a byte as 8 one-byte counters, computed instead of looked up (no gather: the
        # loop vectorises): replicate the byte, keep bit k in byte k, carry it to the byte's top bit.
        rep = np.uint64(0x0101010101010101)
        keep = np.uint64(0x8040201008040201)
        top = np.uint64(0x7F7F7F7F7F7F7F7F)
        seven = np.uint64(7)
        for i in range(packed.shape[0]):
            row = packed[i]
            if sign > 0:
                for j in range(row.shape[0]):
                    counts[j] += (((np.uint64(row[j]) * rep) & keep) + top >> seven) & rep
            else:
                for j in range(row.shape[0]):
                    counts[j] -= (((np.uint64(row[j]) * rep) & keep) + top >> seven) & rep

    @numba.njit(nogil=True, cache=True)
    def scale_rows(counts: np.ndarray, flipped: bool, scale: np.float32, out: np.ndarray) -> None:  # pragma: no cover
        h, w = out.shape
        one = np.float32(1.0)
        for r in range(h):
            src = (h - 1 - r) * w if flipped else r * w
            for c in range(w):
                v = np.float32(counts[src + c]) * scale
                out[r, c] = v if v < one else one

    return {"popcount_rows": popcount_rows, "add_lanes": add_lanes, "add_spread": add_spread, "scale_rows": scale_rows}


@lru_cache(maxsize=1)
def _spread_is_lanes() -> bool:
    """Whether bit ``k`` of a byte is its lane ``k`` (the ``.dat`` order), so ``add_spread`` may replace the LUT."""
    lut = _lane_lut64()
    v = np.arange(256, dtype=np.uint64) * np.uint64(0x0101010101010101)
    spread = (((v & np.uint64(0x8040201008040201)) + np.uint64(0x7F7F7F7F7F7F7F7F)) >> np.uint64(7)) \
        & np.uint64(0x0101010101010101)
    return bool(np.array_equal(spread, lut))


_KERNELS = _compile()
#: ``"numba"`` when the compiled kernels are in use, else ``"numpy"``.
BACKEND = "numba" if _KERNELS is not None else "numpy"


def warm_up(layout: LaneLayout) -> None:
    """Compile (or load from numba's cache) the kernels for this frame size, so the first chunk is not slow."""
    if _KERNELS is None:
        return
    for writeable in (True, False):  # read-only views (memory-mapped files) compile separately
        one = np.zeros((1, layout.frame_bytes), np.uint8)
        one.flags.writeable = writeable
        frame_counts(one, layout)
        add_frames(new_counts(layout), one, layout)
        subtract_frames(new_counts(layout), one, layout)
    if layout.kind != "gather":
        lanes_to_intensity(new_counts(layout), layout, np.float32(1.0),
                           np.empty((layout.height, layout.width), np.float32))


# --------------------------------------------------------------------------- per-frame counts
def frame_counts(packed: np.ndarray, layout: LaneLayout, *, backend: str | None = None) -> np.ndarray:
    """Spikes per frame of packed frames ``(n, frame_bytes)`` uint8, ``int64`` ``(n,)``.

    Population count of the bytes (padding bits ignored), without unpacking;
    equal to :meth:`spikevision.SpikeStream.spike_counts` of the same frames.

    >>> import numpy as np
    >>> from spikevision.io import pack_frames
    >>> f = np.zeros((2, 3, 5), np.uint8); f[1, 0, :4] = 1
    >>> frame_counts(pack_frames(f), lane_layout(3, 5, upright=False)).tolist()
    [0, 4]
    """
    backend = backend or BACKEND
    p = _check_packed(packed, layout)
    if backend == "numpy" or _KERNELS is None or len(p) == 0:
        return PackedSource(p, layout.height, layout.width, upright=layout.upright).counts(0, len(p))
    p = np.ascontiguousarray(p)
    out = np.empty(len(p), np.int64)
    nb = p.shape[1]
    dt = next(d for d in (np.uint64, np.uint32, np.uint16, np.uint8) if nb % np.dtype(d).itemsize == 0)
    _KERNELS["popcount_rows"](p.view(dt), out)
    if layout.last_byte_mask != 0xFF:
        out -= np.bitwise_count(p[:, -1] & np.uint8(~layout.last_byte_mask & 0xFF)).astype(np.int64)
    return out


def _check_packed(packed: Any, layout: LaneLayout) -> np.ndarray:
    p = np.asarray(packed)
    if p.dtype != np.uint8 or p.ndim != 2 or p.shape[1] != layout.frame_bytes:
        raise ValueError(
            f"packed frames must be uint8 (n, {layout.frame_bytes}) for {layout.height}x{layout.width}, "
            f"got {p.dtype} {p.shape}"
        )
    return p


# --------------------------------------------------------------------------- per-pixel window counts
def new_counts(layout: LaneLayout) -> np.ndarray:
    """Zeroed per-lane counters: ``(8 * frame_bytes,)`` uint8, 64-byte aligned words."""
    return np.zeros(8 * layout.frame_bytes, np.uint8)


def add_frames(counts: np.ndarray, packed: np.ndarray, layout: LaneLayout, *, backend: str | None = None) -> None:
    """``counts[lane] += bit`` for every frame of ``packed`` (in place; counts stay below 256)."""
    _accumulate(counts, packed, layout, +1, backend or BACKEND)


def subtract_frames(counts: np.ndarray, packed: np.ndarray, layout: LaneLayout, *, backend: str | None = None) -> None:
    """``counts[lane] -= bit`` for every frame of ``packed`` (frames that were added before)."""
    _accumulate(counts, packed, layout, -1, backend or BACKEND)


def _accumulate(counts: np.ndarray, packed: np.ndarray, layout: LaneLayout, sign: int, backend: str) -> None:
    p = _check_packed(packed, layout)
    if len(p) == 0:
        return
    if backend == "numba" and _KERNELS is not None:
        if _spread_is_lanes():
            _KERNELS["add_spread"](counts.view(np.uint64), np.ascontiguousarray(p), sign)
        else:
            _KERNELS["add_lanes"](counts.view(np.uint64), np.ascontiguousarray(p), _lane_lut64(), sign)
        return
    op = np.add if sign > 0 else np.subtract
    if layout.frame_bytes >= _BITSLICE_MIN_BYTES and len(p) > 2:
        op(counts, _bitsliced_sum(p), out=counts)
        return
    for i in range(0, len(p), 64):
        lanes = unpack_frames(p[i : i + 64], 1, 8 * layout.frame_bytes, upright=True)[:, 0, :]
        op(counts, lanes.sum(axis=0, dtype=np.uint8), out=counts)


def _bitsliced_sum(p: np.ndarray) -> np.ndarray:
    """Per-lane sum of the frames ``p`` (``n < 256``) with ripple-carry counters on packed words."""
    n, nb = p.shape
    dt = next(d for d in (np.uint64, np.uint32, np.uint16, np.uint8) if nb % np.dtype(d).itemsize == 0)
    words = np.ascontiguousarray(p).view(dt)
    n_planes = int(n).bit_length()
    planes = np.zeros((n_planes, words.shape[1]), dt)
    carry = np.empty(words.shape[1], dt)
    tmp = np.empty_like(carry)
    for k in range(n):
        np.copyto(carry, words[k])
        for b in range(n_planes):
            np.bitwise_and(planes[b], carry, out=tmp)
            np.bitwise_xor(planes[b], carry, out=planes[b])
            carry, tmp = tmp, carry
    out = np.zeros(8 * nb, np.uint8)
    for b in range(n_planes):
        lanes = unpack_frames(planes[b].view(np.uint8)[None], 1, 8 * nb, upright=True)[0, 0]
        np.left_shift(lanes, b, out=lanes)
        np.add(out, lanes, out=out)
    return out
