"""Reading a camera's ``.dat`` files without knowing their size: detection, sidecars, headers, layouts.

A ``.dat`` file (:mod:`spikevision.io.dat`) does not store its frame size. This
module finds it, in this order (:func:`open_dat`):

1. an explicit size (``height``/``width``, or ``sensor`` = a name of
   :data:`~spikevision.io.dat.SENSORS` or ``"HxW"``); if the data clearly
   disagree with it (see below), a :class:`SizeWarning` says so and names the
   size the data suggest;
2. the JSON sidecar ``clip.json`` next to ``clip.dat`` that ``spikevision
   simulate`` writes (keys ``height``, ``width``; optional ``rate_hz``,
   ``upright``, ``header_bytes``, ``layout``);
3. detection from the data (``sensor="auto"``, also the default when nothing
   else is known): :func:`detect_size`.

Detection: frames of the right length align, rows of the right width correlate
------------------------------------------------------------------------------
:func:`detect_size` reads at most the first :data:`DETECT_BITS` bits (4 MiB)
and tries every frame length ``L`` (in bytes) that divides the data into whole
frames (at least three in the sample; the first MiB or 24 frames are used):

* **frame length**: cut the sample into frames of ``L`` and average the first
  third of the frames and the last third separately. When ``L`` is right, both
  means show the same scene and their covariance over the positions (the
  *frame score*) is the scene's contrast; when it is wrong, every position
  mixes unrelated pixels and the covariance drops. The middle third is left out so that the two means'
  noise is independent (no noise model needed). Multiples of the true length
  score as high: the smallest length within 10 % of the best wins, and a
  winner whose mean frame is ``k`` copies of one scene (every ``1/k`` part
  correlates with the first at >= 0.8) is cut to one copy.
* **width**: in the mean frame, rows of the right width ``W`` are neighbours,
  so the frame correlates with itself at lag ``W`` (the *row score*, a
  correlation coefficient, ~0.5-1 for camera data); ``W`` is the divisor of
  the frame length with the highest row score, ``H = L / W``.

A recording with no scene (all dark, or random bits) gives two thirds that
correlate below 0.2: detection then fails with a clear error instead of guessing. An explicit
size whose row score is below 0.3 is compared with the detected size and
*warned about* when its row score or frame score is below half of the detected
size's (camera data give row scores of 0.5-1 at the right size, ~0 at a wrong
width).

Headers
-------
Some recorders write a header before the first frame: ``header_bytes=N``
skips ``N`` bytes (``--header-bytes N`` on the command line). The frames
must then fill the rest of the file.

The 1000 x 1000 camera's padded layout (``layout="sps1000"``)
------------------------------------------------------------
The 1000 x 1000 camera's recordings (as read by SpikeCV's PCIe reader) are
stored at a decode width of **1024** bits per row: each row holds two halves of
500 pixels, each followed by 12 header/padding columns, i.e. stored columns
``[0, 500)`` and ``[512, 1012)`` are pixels and ``[500, 512)``, ``[1012,
1024)`` are not. A frame is ``1000 * 1024 / 8 = 128,000`` bytes; bit order and
row order are those of the plain ``.dat`` layout. :data:`LAYOUTS` describes it;
detection that finds a ``1000 x 1024`` frame reads it in this layout.

>>> import numpy as np, tempfile, pathlib
>>> from spikevision.io.dat import write_dat
>>> yy, xx = np.mgrid[:40, :48]
>>> scene = (np.sin(xx / 5.0) * np.cos(yy / 7.0) + 1) / 2 * 0.8
>>> spikes = (np.random.default_rng(0).random((60, 40, 48)) < scene).astype(np.uint8)
>>> p = pathlib.Path(tempfile.mkdtemp()) / "clip.dat"
>>> _ = write_dat(p, spikes)
>>> g = detect_size(p)
>>> (g.height, g.width)
(40, 48)
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import SpikeFormatError, check_existing_file, check_positive_int
from ..stream import DEFAULT_RATE_HZ, SpikeStream
from .dat import FileRows, PackedSource, _sidecar_path, frame_bytes, read_sidecar, resolve_size

__all__ = [
    "AUTO",
    "DETECT_BITS",
    "LAYOUTS",
    "Layout",
    "SizeGuess",
    "SizeWarning",
    "detect_size",
    "size_scores",
    "open_dat",
]

#: ``sensor`` value that asks for detection.
AUTO = "auto"
#: Bits (from the start of the frames) that detection reads at most: 4 MiB.
DETECT_BITS = 1 << 25
#: Frames of a candidate size that detection averages at most.
_DETECT_FRAMES = 48
_MIN_SIDE = 8
_MIN_PEAK = 0.05
#: Correlation of the two thirds' mean frames below which the data show no scene to detect.
_MIN_FRAME = 0.2
#: Row score above which an explicit size is accepted without running detection.
_PLAUSIBLE_ROW = 0.3


class SizeWarning(UserWarning):
    """An explicit frame size that the data do not support."""


@dataclass(frozen=True)
class Layout:
    """How a frame of ``height x width`` pixels is stored: ``stored_width`` bits per row, of which the
    column ranges ``keep`` (half-open, stored coordinates) are pixels, concatenated left to right."""

    name: str
    height: int
    width: int
    stored_width: int
    keep: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if sum(b - a for a, b in self.keep) != self.width:
            raise ValueError(f"layout {self.name}: kept columns {self.keep} do not add up to width {self.width}")


#: Named stored layouts (``layout=`` / ``--layout``). ``plain`` is the ``.dat`` layout itself.
LAYOUTS: dict[str, Layout] = {
    "sps1000": Layout("sps1000", 1000, 1000, 1024, ((0, 500), (512, 1012))),
}


@dataclass(frozen=True)
class SizeGuess:
    """The result of :func:`detect_size`: the stored frame size, the scores, and the layout to read it with."""

    height: int
    width: int
    row_score: float
    frame_score: float
    layout: str = "plain"
    header_bytes: int = 0

    @property
    def pixels(self) -> tuple[int, int]:
        """``(height, width)`` of the image after the layout's padding columns are dropped."""
        if self.layout in LAYOUTS:
            lay = LAYOUTS[self.layout]
            return lay.height, lay.width
        return self.height, self.width


def _sample(path: Path, header_bytes: int, n_bytes: int) -> np.ndarray:
    with open(path, "rb") as fh:
        fh.seek(header_bytes)
        return np.frombuffer(fh.read(n_bytes), np.uint8)


def _autocorr(x: np.ndarray) -> np.ndarray:
    """Correlation coefficient of ``x`` with itself at every lag ``< len(x) // 2`` (zeros where ``x`` is flat)."""
    x = np.asarray(x, np.float64) - float(np.mean(x))
    n = len(x)
    var = float(x @ x) / max(n, 1)
    if n < 4 or var <= 0:
        return np.zeros(max(n // 2, 1))
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(x, size)
    ac = np.fft.irfft(f * np.conj(f), size)[: n // 2]
    return ac / (n - np.arange(n // 2)) / var


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def _payload(path: Path, header_bytes: int) -> int:
    size = path.stat().st_size
    if header_bytes >= size:
        raise SpikeFormatError(f"{path}: header_bytes={header_bytes} leaves no data (the file has {size} bytes)")
    return size - header_bytes


def _frame_score(raw: np.ndarray, nb: int) -> tuple[float, np.ndarray, float]:
    """Contrast shared by the first and the last third of the sample when cut into frames of ``nb`` bytes.

    The covariance, over the positions of a frame, of the mean of the first third of the frames with
    the mean of the last third: the scene's contrast when the frames align (both show the same
    scene), lower when they do not (each position mixes unrelated pixels). Also returns the mean
    frame and the correlation coefficient (near 0 when the data have no scene, e.g. random bits). The middle third is left out so
    that the two means' noise is independent (an integrate-and-fire pixel that fired early in one
    block fires late in the next). Returns the score and the mean frame of the sample.
    """
    n = len(raw) // nb
    k = n // 3 if n >= 3 else n // 2
    if k == 0:
        return float("nan"), np.unpackbits(raw[:nb], bitorder="little").astype(np.float64), float("nan")
    bits = np.unpackbits(raw[: n * nb], bitorder="little").reshape(n, nb * 8)
    first = bits[:k].sum(0, dtype=np.int32) / float(k)
    last = bits[n - k :].sum(0, dtype=np.int32) / float(k)
    a, b = first - first.mean(), last - last.mean()
    den = float(np.sqrt((a @ a) * (b @ b)))
    rho = float(a @ b) / den if den > 0 else 0.0
    return float(a @ b) / len(a), (first + last) / 2, rho


def _row_score(mean_frame: np.ndarray, width: int) -> float:
    """Correlation of the mean frame with itself ``width`` positions on (vertical neighbours)."""
    x = mean_frame - mean_frame.mean()
    var = float(x @ x)
    if var <= 0 or width >= len(x):
        return float("nan")
    return float(x[:-width] @ x[width:]) / var * len(x) / (len(x) - width)


def size_scores(path: str | os.PathLike, height: int, width: int, *, header_bytes: int = 0) -> tuple[float, float]:
    """``(row_score, frame_score)`` of a size: the correlation of the mean frame's vertical neighbours,
    and the correlation of the first and last thirds' mean frames (see the module docstring)."""
    p = check_existing_file(path, ".dat file")
    nb = frame_bytes(height, width)
    raw = _sample(p, header_bytes, min(_payload(p, header_bytes), max(DETECT_BITS // 8, 2 * nb)))
    fs, m, _ = _frame_score(raw, nb)
    return _row_score(m[: height * width], width), fs


def detect_size(path: str | os.PathLike, *, header_bytes: int = 0) -> SizeGuess:
    """Find the frame size of a ``.dat`` file from its bits (the rule of the module docstring).

    Raises :class:`~spikevision.SpikeFormatError` when no size fits: the data are
    not a whole number of frames of any size, or have no structure to detect.
    """
    p = check_existing_file(path, ".dat file")
    header_bytes = check_positive_int(header_bytes, "header_bytes", allow_zero=True)
    payload = _payload(p, header_bytes)
    raw = _sample(p, header_bytes, min(payload, DETECT_BITS // 8))
    cands = [d for d in _divisors(payload) if d * 8 >= _MIN_SIDE * _MIN_SIDE and len(raw) // d >= 3]
    if not cands:
        return _single_frame(p, payload, header_bytes)
    scored = [(d, *_frame_score(raw[: max(1 << 20, 24 * d)], d)) for d in cands]
    scored = [t for t in scored if np.isfinite(t[1])]  # a constant sample scores NaN
    best = max((t[1] for t in scored), default=float("nan"))
    if not best > 0:
        raise SpikeFormatError(
            f"{p}: cannot detect the frame size: no frame length shows a scene (no frame score above 0; "
            f"a dark, saturated or structureless recording); pass it with --sensor HxW or --height and --width")
    nb, fscore, _, rho = next(t for t in scored if t[1] >= 0.9 * best)  # the shortest of the near-best
    if not rho >= _MIN_FRAME:
        raise SpikeFormatError(
            f"{p}: cannot detect the frame size: no frame length shows a scene (the best one's two thirds "
            f"correlate at {rho:.3f} < {_MIN_FRAME}; a dark or structureless recording); pass it with --sensor HxW or --height and --width")
    n = len(raw) // nb
    m = np.unpackbits(raw[: n * nb].reshape(n, nb), axis=1, bitorder="little").mean(0, dtype=np.float64)
    nb, m = _fold_repeats(nb, m)
    return _width_of(p, m, nb * 8, fscore, header_bytes)


def _fold_repeats(nb: int, mean_frame: np.ndarray) -> tuple[int, np.ndarray]:
    """If the mean frame of ``nb`` bytes is ``k`` copies of one scene (``k`` frames taken as one), the
    length of one copy: every part must correlate with the first at >= 0.8 (far-apart rows of one
    frame do not; frames of a scene do). The smallest such part wins."""
    for nbk in _divisors(nb):
        k = nb // nbk
        if not 2 <= k <= _DETECT_FRAMES or nbk * 8 < _MIN_SIDE * _MIN_SIDE:
            continue
        parts = mean_frame.reshape(k, -1)
        x = parts - parts.mean(1, keepdims=True)
        norm = np.sqrt((x * x).sum(1))
        if not np.all(norm > 0):
            continue
        c = (x[1:] @ x[0]) / (norm[1:] * norm[0])
        if float(c.min()) >= 0.8:
            return nbk, parts.mean(0)
    return nb, mean_frame


def _width_of(p: Path, mean_frame: np.ndarray, length: int, fscore: float, header_bytes: int) -> SizeGuess:
    r = _autocorr(mean_frame)
    widths = [w for w in _divisors(length) if w >= _MIN_SIDE and length // w >= _MIN_SIDE and w < len(r)]
    if not widths:
        raise SpikeFormatError(f"{p}: a frame of {length} bits has no plausible width; pass --sensor HxW or --height and --width")
    wscores = np.array([r[w] for w in widths])
    w = widths[int(np.argmax(wscores))]
    h = length // w
    layout = "sps1000" if (h, w) == (1000, 1024) else "plain"
    return SizeGuess(height=h, width=w, row_score=float(wscores.max()), frame_score=fscore, layout=layout,
                     header_bytes=header_bytes)


def _single_frame(p: Path, payload: int, header_bytes: int) -> SizeGuess:
    raw = _sample(p, header_bytes, payload)
    m = np.unpackbits(raw, bitorder="little").astype(np.float64)
    if payload * 8 < _MIN_SIDE * _MIN_SIDE:
        raise SpikeFormatError(f"{p}: {payload} bytes are too few to detect a frame size; pass --sensor HxW or --height and --width")
    g = _width_of(p, m, payload * 8, float("nan"), header_bytes)
    if not g.row_score >= _MIN_PEAK:
        raise SpikeFormatError(f"{p}: cannot detect the frame size of one frame (rows do not correlate); pass --sensor HxW or --height and --width")
    return g


class PaddedSource:
    """Frames stored in a padded :class:`Layout`: decoded at the stored width, padding columns dropped."""

    def __init__(self, inner: PackedSource, layout: Layout) -> None:
        self.inner = inner
        self.layout = layout
        self.height = layout.height
        self.width = layout.width
        self._cols = np.concatenate([np.arange(a, b) for a, b in layout.keep])

    def __len__(self) -> int:
        return len(self.inner)

    def decode(self, start: int, stop: int) -> np.ndarray:
        return np.ascontiguousarray(self.inner.decode(start, stop)[:, :, self._cols])

    def counts(self, start: int, stop: int) -> np.ndarray:
        out = np.empty(stop - start, np.int64)
        for i in range(start, stop, 64):
            j = min(stop, i + 64)
            out[i - start : j - start] = self.decode(i, j).reshape(j - i, -1).sum(1)
        return out

    def close(self) -> None:
        self.inner.close()


def open_dat(
    path: str | os.PathLike,
    *,
    height: int | None = None,
    width: int | None = None,
    sensor: str | None = None,
    header_bytes: int | None = None,
    layout: str | None = None,
    rate_hz: float | None = None,
    upright: bool | None = None,
    drop_partial: bool = False,
) -> SpikeStream:
    """Open a ``.dat`` file whatever is known about it: explicit size, sidecar, or detection.

    Parameters
    ----------
    height, width / sensor:
        The frame size, or a sensor name / ``"HxW"``, or ``sensor="auto"`` to detect it
        (:func:`detect_size`). With none given: the sidecar's size, else detection.
    header_bytes:
        Bytes before the first frame (default: the sidecar's, else 0).
    layout:
        ``"plain"`` (the ``.dat`` layout) or a name of :data:`LAYOUTS` (``"sps1000"``: the
        1000 x 1000 camera's 1024-wide padded rows); ``sensor`` and ``height``/``width`` then
        default to the layout's image size.
    rate_hz, upright, drop_partial:
        As :func:`~spikevision.io.dat.read_dat` (``rate_hz`` and ``upright`` default to the sidecar's).

    Returns
    -------
    SpikeStream
        ``(T, H, W)``; ``attrs`` record ``size_from`` (``"explicit"``, ``"sidecar"`` or
        ``"detected"``), and for detection the scores.

    Examples
    --------
    >>> s = open_dat("clip.dat")                    # doctest: +SKIP  sidecar or detection
    >>> s = open_dat("cam.dat", layout="sps1000")  # doctest: +SKIP  (T, 1000, 1000)
    """
    p = check_existing_file(path, ".dat file")
    if layout is not None and layout != "plain" and layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected 'plain' or one of {sorted(LAYOUTS)}")
    auto = isinstance(sensor, str) and sensor.lower() == AUTO
    explicit = not auto and (sensor is not None or height is not None or width is not None)
    meta = None if (explicit or auto or not _sidecar_path(p).is_file()) else read_sidecar(p)
    if header_bytes is None:
        header_bytes = int(meta.get("header_bytes", 0)) if meta else 0
    header_bytes = check_positive_int(header_bytes, "header_bytes", allow_zero=True)
    if meta:
        rate_hz = rate_hz if rate_hz is not None else meta.get("rate_hz")
        upright = upright if upright is not None else meta.get("upright")
        layout = layout or meta.get("layout_name")
    attrs: dict[str, Any] = {}
    if layout in LAYOUTS and not explicit:
        lay = LAYOUTS[layout]
        h, w = lay.height, lay.stored_width
        attrs["size_from"] = "layout"
    elif explicit:
        h, w = resolve_size(height, width, sensor)
        if layout in LAYOUTS:
            lay = LAYOUTS[layout]
            if (h, w) not in ((lay.height, lay.width), (lay.height, lay.stored_width)):
                raise ValueError(f"layout {layout!r} is {lay.height}x{lay.width} (stored {lay.height}x{lay.stored_width}), "
                                 f"but the size given is {h}x{w}")
            w = lay.stored_width
        attrs["size_from"] = "explicit"
        _warn_if_implausible(p, h, w, header_bytes)
    elif meta:
        h, w = int(meta["height"]), int(meta["width"])
        attrs["size_from"] = "sidecar"
    else:
        g = detect_size(p, header_bytes=header_bytes)
        h, w = g.height, g.width
        if layout is None and g.layout != "plain":
            layout = g.layout
        attrs.update(size_from="detected", row_score=g.row_score, frame_score=g.frame_score)
    stream = _read(p, h, w, header_bytes=header_bytes, upright=bool(upright), drop_partial=drop_partial,
                   rate_hz=float(rate_hz) if rate_hz is not None else DEFAULT_RATE_HZ,
                   layout=LAYOUTS.get(layout or "plain"))
    return stream.with_attrs(**attrs, header_bytes=header_bytes, layout=layout or "plain")


def _warn_if_implausible(p: Path, h: int, w: int, header_bytes: int) -> None:
    payload = _payload(p, header_bytes)
    if payload < 2 * frame_bytes(h, w) or h * w < 64:
        return
    row0, frame0 = size_scores(p, h, w, header_bytes=header_bytes)
    if row0 >= _PLAUSIBLE_ROW and frame0 > 0:
        return  # rows correlate as camera rows do: no need to look further
    try:
        g = detect_size(p, header_bytes=header_bytes)
    except SpikeFormatError:
        return  # nothing to compare with (no structure, or no whole-frame size)
    if (g.height, g.width) == (h, w):
        return
    row, frame = row0, frame0
    if not (row >= 0.5 * g.row_score and frame >= 0.5 * g.frame_score):
        hh, ww = g.pixels
        hint = f" (the {g.layout} layout)" if g.layout != "plain" else ""
        warnings.warn(
            f"{p.name}: the size {h}x{w} looks wrong: row score {row:.3f}, frame score {frame:.3f}, against "
            f"{g.row_score:.3f} and {g.frame_score:.3f} for "
            f"{hh}x{ww}{hint}, the size the data suggest (--sensor auto)", SizeWarning, stacklevel=3)


def _read(p: Path, h: int, w: int, *, header_bytes: int, upright: bool, drop_partial: bool, rate_hz: float,
          layout: Layout | None) -> SpikeStream:
    nb = frame_bytes(h, w)
    payload = _payload(p, header_bytes)
    n, rest = divmod(payload, nb)
    if rest and not drop_partial:
        extra = f" after a {header_bytes}-byte header" if header_bytes else ""
        raise SpikeFormatError(
            f"{p} has {payload} bytes{extra}, not a multiple of the {nb} bytes of a {h}x{w} frame "
            f"({n} whole frames + {rest} bytes). Check the size (try --sensor auto), pass --header-bytes "
            f"{rest} if the file starts with a {rest}-byte header, or --drop-partial to ignore a trailing partial frame.")
    if n == 0:
        raise SpikeFormatError(f"{p} has {payload} bytes, less than one {h}x{w} frame ({nb} bytes)")
    buf = FileRows(p, n, nb, offset=header_bytes)  # pread, not a memory map: a file truncated meanwhile is an error
    src: Any = PackedSource(buf, h, w, upright=upright, closer=buf.close)
    if layout is not None and layout.name != "plain":
        src = PaddedSource(src, layout)
    return SpikeStream(src, rate_hz=rate_hz, attrs={"source": str(p)})
