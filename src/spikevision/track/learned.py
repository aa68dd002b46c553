"""Learned moving-object detector: a small CNN on multi-window cell rates, CenterNet-style outputs.

**Inputs.** The stream is counted in *blocks* of ``block`` frames (20) and
cells of ``cell = (4, 8)`` pixels (:func:`~spikevision.track.detect.cell_rates`,
straight from packed ``.dat`` bytes). For a detection window starting at frame
``s0`` the network sees ``1 + len(offsets)`` channels at cell resolution
(:func:`window_features`):

* the *context* rate, the mean of the blocks ``s0 + k block`` for ``|k| <=
  context`` (a long exposure, in which moving objects are smeared out);
* for each ``k`` in ``offsets``: the rate of block ``s0 + k block`` minus the
  context rate (where things changed, before, now and after);

all divided by the mean context rate plus 0.02 (dim and bright scenes look
alike) and clipped to ``FEATURE_LIMIT`` (2; the training scenes stay within it). Blocks before the start or past the end are clamped to the first /
last whole block.

**Outputs** (:class:`TrackNet`), at cell resolution: an object-centre heatmap
(logit), the box size ``log(w / cell_w), log(h / cell_h)`` and the centre's
offset inside its cell. :func:`decode` keeps the local maxima of the heatmap
above ``threshold`` (3 x 3 cells) and turns each into a box: two objects that
touch stay two detections as long as their centres are a cell apart.

Training: :mod:`spikevision.learned.tasks.track`. The shipped weights are
``track_centernet`` (:data:`WEIGHTS`).

>>> cfg = TrackNetConfig()
>>> cfg.in_channels()
12
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._checks import check_positive_float, check_positive_int

__all__ = ["TrackNetConfig", "LearnedSettings", "WEIGHTS", "block_starts", "window_features", "decode",
           "build_tracknet", "load_tracknet", "LearnedDetector"]

#: Inputs are clipped to +-this (the long-exposure channel to [0, this]): the training scenes' features
#: stay within it (largest in a sample of them: 2.0 long exposure, 1.8 differences).
FEATURE_LIMIT = 2.0

#: Registry name of the shipped detector weights.
WEIGHTS = "track_centernet"


@dataclass(frozen=True)
class TrackNetConfig:
    """Architecture and input layout of :class:`TrackNet` (stored with its weights as ``model_args``)."""

    width: int = 24
    block: int = 20
    cell: tuple[int, int] = (4, 8)
    offsets: tuple[int, ...] = (-8, -5, -3, -2, -1, 0, 1, 2, 3, 5, 8)
    context: int = 12

    def __post_init__(self) -> None:
        check_positive_int(self.width, "width")
        check_positive_int(self.block, "block")
        check_positive_int(self.context, "context", allow_zero=True)
        if len(self.cell) != 2:
            raise ValueError(f"cell must be (rows, cols), got {self.cell!r}")
        object.__setattr__(self, "cell", (check_positive_int(self.cell[0], "cell rows"),
                                          check_positive_int(self.cell[1], "cell cols")))
        if not self.offsets or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) for k in self.offsets):
            raise ValueError(f"offsets must be a non-empty list of integers, got {self.offsets!r}")
        object.__setattr__(self, "offsets", tuple(int(k) for k in self.offsets))

    def in_channels(self) -> int:
        return 1 + len(self.offsets)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class LearnedSettings:
    """Settings of the learned detector at inference (immutable).

    ``weights``: a registry name or a checkpoint file (``None``: :data:`WEIGHTS`);
    ``threshold``: smallest heatmap peak reported (0-1); ``step``: frames between
    detection windows; ``batch``: windows per network call; ``max_objects``:
    most detections per window.
    """

    weights: str | None = None
    threshold: float = 0.5
    step: int = 20
    batch: int = 16
    max_objects: int = 16

    def __post_init__(self) -> None:
        if self.weights is not None and not isinstance(self.weights, (str, Path)):
            raise TypeError(f"weights must be a registry name or a file path, got {type(self.weights).__name__}")
        v = check_positive_float(self.threshold, "threshold")
        if v >= 1:
            raise ValueError(f"threshold must be in (0, 1), got {v}")
        check_positive_int(self.step, "step")
        check_positive_int(self.batch, "batch")
        check_positive_int(self.max_objects, "max_objects")


# ------------------------------------------------------------------ inputs
def block_starts(s0: int, n_frames: int, ks: Any, block: int) -> np.ndarray:
    """First frames of the blocks ``s0 + k block`` (``k`` in ``ks``), clamped to ``[0, n_frames - block]``."""
    return np.clip(int(s0) + block * np.asarray(list(ks), np.int64), 0, max(int(n_frames) - block, 0))


def window_features(rate: Callable[[int], np.ndarray], s0: int, n_frames: int, cfg: TrackNetConfig) -> np.ndarray:
    """The network's input ``(C, Hc, Wc)`` float32 for the window starting at ``s0`` (see the module notes).

    ``rate(start)`` gives the cell rates of frames ``[start, start + block)``.
    """
    ctx = block_starts(s0, n_frames, range(-cfg.context, cfg.context + 1), cfg.block)
    own = block_starts(s0, n_frames, cfg.offsets, cfg.block)
    long = np.mean([rate(int(s)) for s in ctx], axis=0, dtype=np.float32)
    scale = np.float32(1.0 / (float(long.mean()) + 0.02))
    out = np.empty((1 + len(own), *long.shape), np.float32)
    out[0] = long * scale
    for i, s in enumerate(own, start=1):
        out[i] = (rate(int(s)) - long) * scale
    # saturate at the range of the training scenes: a far stronger contrast (a bright object over a
    # very dark background) then looks like the strongest one the network has seen
    np.clip(out[0], 0, FEATURE_LIMIT, out=out[0])
    np.clip(out[1:], -FEATURE_LIMIT, FEATURE_LIMIT, out=out[1:])
    return out


# ------------------------------------------------------------------ network
def build_tracknet(args: dict | TrackNetConfig | None = None) -> Any:
    """A fresh :class:`TrackNet` (torch) from a :class:`TrackNetConfig` or its dict."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    cfg = args if isinstance(args, TrackNetConfig) else TrackNetConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in (args or {}).items()})

    def conv(i: int, o: int, *, stride: int = 1, dilation: int = 1) -> nn.Module:
        return nn.Sequential(nn.Conv2d(i, o, 3, stride=stride, padding=dilation, dilation=dilation), nn.ReLU(inplace=True))

    class TrackNet(nn.Module):
        """Cell-resolution U-Net (one level down, dilated middle): heatmap logit, log size, offset (5 channels)."""

        def __init__(self) -> None:
            super().__init__()
            w = cfg.width
            self.cfg = cfg
            self.enc = nn.Sequential(conv(cfg.in_channels(), w), conv(w, w))
            self.mid = nn.Sequential(conv(w, 2 * w, stride=2), conv(2 * w, 2 * w, dilation=2),
                                     conv(2 * w, 2 * w, dilation=4), conv(2 * w, 2 * w))
            self.dec = nn.Sequential(conv(3 * w, w), conv(w, w))
            self.head = nn.Conv2d(w, 5, 1)
            with torch.no_grad():
                self.head.bias.zero_()
                self.head.bias[0] = -2.2  # CenterNet's prior: few cells are object centres

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            e = self.enc(x)
            m = F.interpolate(self.mid(e), size=e.shape[-2:], mode="nearest")
            return self.head(self.dec(torch.cat([e, m], 1)))

    return TrackNet()


@functools.lru_cache(maxsize=4)
def _cached(source: str, stamp: tuple) -> Any:  # stamp: a file's (size, mtime), so a rewritten file is reloaded
    from ..learned.checkpoint import CheckpointError, load_checkpoint

    ck = load_checkpoint(source, task="track", models=("tracknet",))
    net = build_tracknet(dict(ck.model_args))
    try:
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck.state.items()})
    except RuntimeError as exc:
        raise CheckpointError(f"{ck.path}: the weights do not fit the network its model_args describe ({exc})") from exc
    net.eval()
    return net


def load_tracknet(weights: str | Path | None = None) -> Any:
    """The detector network in eval mode, from the shipped weights (checked by size and SHA-256) or a checkpoint."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("the learned tracking method needs torch: pip install 'spikevision[torch]'") from exc
    source = str(WEIGHTS if weights is None else weights)
    p = Path(source)
    stamp = (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else ()
    return _cached(source, stamp)


# ------------------------------------------------------------------ outputs
def decode(out: np.ndarray, *, cfg: TrackNetConfig, shape: tuple[int, int], threshold: float,
           max_objects: int = 16) -> np.ndarray:
    """Boxes ``(N, 5)`` float32 ``x, y, w, h, score`` (pixels) from one network output ``(5, Hc, Wc)``.

    A box is made at every cell whose heatmap probability is the largest of its
    3 x 3 neighbourhood and at least ``threshold``; the strongest ``max_objects`` are kept.
    """
    from .detect import _box_max

    heat = 1.0 / (1.0 + np.exp(-out[0].astype(np.float64)))
    peak = (heat >= threshold) & (heat >= _box_max(heat, 1, 1))
    rows, cols = np.nonzero(peak)
    if not len(rows):
        return np.zeros((0, 5), np.float32)
    order = np.argsort(-heat[rows, cols], kind="stable")[:max_objects]
    rows, cols = rows[order], cols[order]
    ch, cw = cfg.cell
    h, w = shape
    bw = np.exp(np.clip(out[1, rows, cols], -3, 5)) * cw
    bh = np.exp(np.clip(out[2, rows, cols], -3, 5)) * ch
    cx = (cols + 0.5 + np.clip(out[3, rows, cols], -0.5, 0.5)) * cw
    cy = (rows + 0.5 + np.clip(out[4, rows, cols], -0.5, 0.5)) * ch
    x0, y0 = np.clip(cx - bw / 2, 0, w), np.clip(cy - bh / 2, 0, h)
    x1, y1 = np.clip(cx + bw / 2, 0, w), np.clip(cy + bh / 2, 0, h)
    box = np.column_stack([x0, y0, x1 - x0, y1 - y0, heat[rows, cols]]).astype(np.float32)
    return box[(box[:, 2] >= 1) & (box[:, 3] >= 1)]


class LearnedDetector:
    """Runs the network over a stream: :meth:`windows` yields ``(centre time, boxes (N, 5))`` per window."""

    def __init__(self, settings: LearnedSettings) -> None:
        self.settings = settings
        self.net = load_tracknet(settings.weights)
        self.cfg: TrackNetConfig = self.net.cfg

    def starts(self, n_frames: int) -> list[int]:
        b = self.cfg.block
        return list(range(0, n_frames - b + 1, self.settings.step)) if n_frames >= b else []

    def windows(self, stream: Any, *, progress: Callable[[int], None] | None = None):
        import torch

        from .detect import cell_rates

        cfg, s = self.cfg, self.settings
        n, shape = stream.n_frames, (stream.height, stream.width)
        cache: dict[int, np.ndarray] = {}
        reach = cfg.block * max(cfg.context, *(abs(k) for k in cfg.offsets))

        def rate(start: int) -> np.ndarray:
            if start not in cache:
                cache[start] = cell_rates(stream, start, start + cfg.block, cell=cfg.cell)
            return cache[start]

        starts = self.starts(n)
        for i in range(0, len(starts), s.batch):
            chunk = starts[i:i + s.batch]
            x = np.stack([window_features(rate, s0, n, cfg) for s0 in chunk])
            for k in [k for k in cache if k < chunk[-1] - reach]:
                del cache[k]
            with torch.inference_mode():
                out = self.net(torch.from_numpy(x)).numpy()
            for s0, o in zip(chunk, out):
                yield s0 + (cfg.block - 1) / 2.0, decode(o, cfg=cfg, shape=shape, threshold=s.threshold,
                                                         max_objects=s.max_objects)
            if progress is not None:
                progress(len(chunk))
