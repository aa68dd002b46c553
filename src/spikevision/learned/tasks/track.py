"""Training task of the learned moving-object detector (:mod:`spikevision.track.learned`).

Samples: one detection window of a tracking sequence with boxes — the
network's multi-window input (:func:`~spikevision.track.learned.window_features`)
at a ground-truth frame and CenterNet targets made from that frame's boxes:
a Gaussian bump at each object's centre cell (spread a fifth of its size), its
log size and its centre's offset inside the cell. Boxes seen less than the
ground truth's visibility limit (``consider = 0``) are neither objects nor
background (their cells are left out of the loss). Sources: folders of
sequences (``SEQ/spikes.dat`` + ``gt/gt.txt``, as ``spikevision synth-track``
or ``scripts/make_track_eval_set.py`` write them) and/or ``synthetic``
(a small :func:`~spikevision.sim.objects.track_scene` simulated per sample;
slow, for tests and smoke runs). Random left-right and up-down flips.

Loss: CenterNet's penalty-reduced focal loss on the heatmap plus L1 on the
size and offset at the centre cells. Validation: detection F1 at IoU >= 0.5
(boxes decoded at ``val_threshold``) on windows of ``val_dir`` sequences or,
without it, of generated scenes; it picks ``best.pt``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..task import Task

__all__ = ["TrackTaskSettings", "TrackSynthConfig", "TrackTask", "centre_targets"]


@dataclass(frozen=True)
class TrackSynthConfig:
    """Size of the scenes the ``synthetic`` source simulates per sample (and the generated validation scenes)."""

    height: int = 96
    width: int = 160
    frames: int = 120

    def __post_init__(self) -> None:
        from ..._checks import check_positive_int

        for n in ("height", "width", "frames"):
            check_positive_int(getattr(self, n), n)


@dataclass(frozen=True)
class TrackTaskSettings:
    """Config keys of the ``track`` task."""

    model_args: dict = field(default_factory=dict)
    size_weight: float = 1.0
    offset_weight: float = 1.0
    flip: bool = True
    val_threshold: float = 0.35
    #: a folder of tracking sequences (relative path) used to validate and pick ``best.pt``, never to train
    val_dir: str | None = None
    val_sequences: int = 2
    val_every_frames: int = 20
    synthetic: TrackSynthConfig = field(default_factory=TrackSynthConfig)

    def __post_init__(self) -> None:
        if not 0 < self.val_threshold < 1:
            raise ValueError(f"val_threshold must be in (0, 1), got {self.val_threshold}")
        if self.val_sequences < 1 or self.val_every_frames < 1:
            raise ValueError("val_sequences and val_every_frames must be >= 1")
        if self.size_weight < 0 or self.offset_weight < 0:
            raise ValueError("size_weight and offset_weight must be >= 0")


def centre_targets(boxes: np.ndarray, consider: np.ndarray, cells: tuple[int, int],
                   cell: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """CenterNet targets at cell resolution for boxes ``(N, 4)`` ``x, y, w, h`` (pixels).

    Returns ``heat (1, Hc, Wc)`` (1 at each considered box's centre cell, a
    Gaussian around it), ``size (2, Hc, Wc)`` (log of the box size in cells),
    ``offset (2, Hc, Wc)`` (centre inside its cell, -0.5..0.5), ``mask (1, Hc, Wc)``
    (1 at the centre cells) and ``ignore (1, Hc, Wc)`` (1 inside boxes not
    considered), all float32.
    """
    hc, wc = cells
    ch, cw = cell
    heat = np.zeros((hc, wc), np.float32)
    size = np.zeros((2, hc, wc), np.float32)
    off = np.zeros((2, hc, wc), np.float32)
    mask = np.zeros((hc, wc), np.float32)
    ignore = np.zeros((hc, wc), np.float32)
    yy, xx = np.mgrid[0:hc, 0:wc].astype(np.float32)
    for (x, y, w, h), ok in zip(np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(consider).reshape(-1)):
        if w < 1 or h < 1:
            continue
        if not ok:
            r0, r1 = int(y // ch), int(np.ceil((y + h) / ch))
            c0, c1 = int(x // cw), int(np.ceil((x + w) / cw))
            ignore[max(r0, 0):r1, max(c0, 0):c1] = 1
            continue
        cx, cy = (x + w / 2) / cw, (y + h / 2) / ch
        j, i = min(int(cx), wc - 1), min(int(cy), hc - 1)
        sx, sy = max(0.5, w / cw / 5), max(0.5, h / ch / 5)
        g = np.exp(-((xx - j) ** 2 / (2 * sx * sx) + (yy - i) ** 2 / (2 * sy * sy)))
        np.maximum(heat, g, out=heat)
        heat[i, j] = 1.0
        size[:, i, j] = np.log(w / cw), np.log(h / ch)
        off[:, i, j] = cx - (j + 0.5), cy - (i + 0.5)
        mask[i, j] = 1.0
    ignore[heat >= 0.5] = 0
    return heat[None], size, off, mask[None], ignore[None]


class _Sequence:
    """One sequence: its stream (opened per use), length, size and GT rows by 0-based frame."""

    def __init__(self, spikes: Any, gt: np.ndarray, n_frames: int, height: int, width: int) -> None:
        self.spikes, self.gt, self.n, self.h, self.w = spikes, gt, int(n_frames), int(height), int(width)
        self.frames = np.unique(gt[:, 0].astype(np.int64) - 1) if len(gt) else np.zeros(0, np.int64)

    def boxes(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        r = self.gt[self.gt[:, 0].astype(np.int64) - 1 == frame]
        return r[:, 2:6], r[:, 6] > 0


def _window_sample(seq: _Sequence, stream: Any, frame: int, net: Any, cache: dict, rng: np.random.Generator | None,
                   flip: bool) -> tuple[np.ndarray, ...]:
    """(features, heat, size, offset, mask, ignore) of the window centred on ``frame``."""
    from ...track.detect import cell_rates
    from ...track.learned import window_features

    def rate(start: int) -> np.ndarray:
        if start not in cache:
            cache[start] = cell_rates(stream, start, start + net.block, cell=net.cell)
        return cache[start]

    s0 = int(np.clip(frame - net.block // 2, 0, seq.n - net.block))
    x = window_features(rate, s0, seq.n, net)
    boxes, consider = seq.boxes(frame)
    boxes = boxes.copy()
    hc, wc = x.shape[1:]
    if rng is not None and flip:
        if rng.random() < 0.5:
            x = x[:, :, ::-1]
            boxes[:, 0] = wc * net.cell[1] - boxes[:, 0] - boxes[:, 2]
        if rng.random() < 0.5:
            x = x[:, ::-1]
            boxes[:, 1] = hc * net.cell[0] - boxes[:, 1] - boxes[:, 3]
    return (np.ascontiguousarray(x), *centre_targets(boxes, consider, (hc, wc), net.cell))


def _usable(seq: _Sequence, block: int) -> np.ndarray:
    return seq.frames[(seq.frames >= block // 2) & (seq.frames + block - block // 2 <= seq.n)]


class TrackFolder:
    """Windows of the sequences of a tracking folder (``SEQ/spikes.dat`` + ``spikes.json`` + ``gt/gt.txt``)."""

    def __init__(self, path: str, net: Any, *, flip: bool) -> None:
        import json

        from ...datasets import DatasetError
        from ...io.mot import read_mot
        from ...sim.objects import find_track_sequences

        self.net, self.flip = net, flip
        self.seqs: list[_Sequence] = []
        try:
            found = find_track_sequences(path)
        except FileNotFoundError as exc:
            raise DatasetError(str(exc)) from exc
        for p in found:
            meta = json.loads((p / "spikes.json").read_text())
            try:
                h, w, n = int(meta["height"]), int(meta["width"]), int(meta["n_frames"])
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetError(f"{p / 'spikes.json'}: needs integer height, width and n_frames") from exc
            seq = _Sequence(p / "spikes.dat", read_mot(p / "gt" / "gt.txt"), n, h, w)
            if n < net.block or not len(_usable(seq, net.block)):
                raise DatasetError(f"{p}: no ground-truth frame with a whole {net.block}-frame window around it")
            self.seqs.append(seq)
        shapes = {(s.h, s.w) for s in self.seqs}
        if len(shapes) > 1:
            raise DatasetError(f"{path}: sequences of different sizes {sorted(shapes)} cannot share a batch")
        self._cache: dict[int, dict] = {}

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        from ...io.dat import read_dat

        k = int(rng.integers(len(self.seqs)))
        seq = self.seqs[k]
        frames = _usable(seq, self.net.block)
        f = int(frames[int(rng.integers(len(frames)))])
        with read_dat(seq.spikes, height=seq.h, width=seq.w) as stream:
            return _window_sample(seq, stream, f, self.net, self._cache.setdefault(k, {}), rng, self.flip)


def _generated(seed: int, synth: TrackSynthConfig) -> tuple[_Sequence, Any]:
    from ...sim import REDS_PRESET, simulate
    from ...sim.objects import gt_rows, track_scene

    sc = track_scene(seed, synth.height, synth.width, duration=float(synth.frames), size=(16.0, 40.0))
    stream = simulate(sc, n_frames=synth.frames, settings=REDS_PRESET, seed=seed)
    gt = gt_rows(sc, range(0, synth.frames, 10))
    return _Sequence(None, gt, synth.frames, synth.height, synth.width), stream


class SyntheticTrack:
    """A small generated scene per sample (:func:`~spikevision.sim.objects.track_scene`), one window of it."""

    def __init__(self, net: Any, synth: TrackSynthConfig, *, flip: bool) -> None:
        self.net, self.synth, self.flip = net, synth, flip

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        seq, stream = _generated(int(rng.integers(2**31)), self.synth)
        frames = _usable(seq, self.net.block)
        f = int(frames[int(rng.integers(len(frames)))])
        return _window_sample(seq, stream, f, self.net, {}, rng, self.flip)


def _match_f1(dets: list[np.ndarray], gts: list[np.ndarray]) -> dict[str, float]:
    """Detection precision, recall and F1 at IoU >= 0.5 (greedy by score) over windows; mean IoU of matches."""
    from ...metrics.track import box_iou

    tp = fp = fn = 0
    ious = []
    for d, g in zip(dets, gts):
        d = d[np.argsort(-d[:, 4], kind="stable")] if len(d) else d
        used = np.zeros(len(g), bool)
        iou = box_iou(d[:, :4], g) if len(d) and len(g) else np.zeros((len(d), len(g)))
        for i in range(len(d)):
            cand = np.where(~used, iou[i], -1.0) if len(g) else np.zeros(0)
            j = int(np.argmax(cand)) if len(cand) else -1
            if j >= 0 and cand[j] >= 0.5:
                used[j] = True
                tp += 1
                ious.append(float(cand[j]))
            else:
                fp += 1
        fn += int((~used).sum())
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-9),
            "mean_iou": float(np.mean(ious)) if ious else 0.0, "boxes": tp + fn}


class TrackTask(Task):
    """The ``track`` task (model key ``"net"``, model name ``"tracknet"``)."""

    name = "track"
    settings_type = TrackTaskSettings
    model_names = ("tracknet",)
    folder_kinds = ("track",)

    def _net_cfg(self, cfg: Any) -> Any:
        from ...track.learned import TrackNetConfig

        args = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.settings.model_args.items()}
        try:
            return TrackNetConfig(**args)
        except TypeError as exc:
            from ..config import ConfigError

            raise ConfigError(f"model_args: {exc}") from exc

    def build_models(self, cfg: Any) -> dict[str, Any]:
        from ...track.learned import build_tracknet

        return {"net": build_tracknet(self._net_cfg(cfg))}

    def model_record(self, cfg: Any, key: str, model: Any) -> tuple[str, dict]:
        return "tracknet", model.cfg.to_dict()

    def ddp_find_unused(self, cfg: Any) -> bool:
        return False

    def source(self, spec: Any, cfg: Any) -> Any:
        s = cfg.settings
        net = self._net_cfg(cfg)
        if spec.kind == "synthetic":
            return SyntheticTrack(net, s.synthetic, flip=s.flip)
        if spec.kind not in ("auto", "track"):
            from ...datasets import DatasetError

            raise DatasetError(f"{spec.path}: a {spec.kind!r} source; track trains from tracking folders or 'synthetic'")
        return TrackFolder(spec.path, net, flip=s.flip)

    def loss(self, models: dict[str, Any], batch: Any, *, device: Any, cfg: Any, iteration: int,
             rank: int) -> dict[str, Any]:
        import torch
        from torch.nn import functional as F

        x, heat, size, off, mask, ignore = (t.to(device, non_blocking=True) for t in batch)
        out = models["net"](x).float()
        logit = out[:, :1]
        pos = (heat >= 1.0).float()
        neg = (1 - pos) * (1 - ignore) * (1 - heat) ** 4
        p = torch.sigmoid(logit)
        focal = -(pos * (1 - p) ** 2 * F.logsigmoid(logit) + neg * p ** 2 * F.logsigmoid(-logit))
        n = pos.sum().clamp(min=1.0)
        s = cfg.settings
        l_size = ((out[:, 1:3] - size).abs() * mask).sum() / n
        l_off = ((out[:, 3:5] - off).abs() * mask).sum() / n
        return {"net": focal.sum() / n + s.size_weight * l_size + s.offset_weight * l_off}

    def validation_data(self, cfg: Any) -> list[tuple[np.ndarray, np.ndarray, tuple[int, int]]]:
        from ...io.dat import read_dat

        s = cfg.settings
        net = self._net_cfg(cfg)
        items = []

        def add(seq: _Sequence, stream: Any) -> None:
            cache: dict = {}
            for f in _usable(seq, net.block)[:: max(1, s.val_every_frames // 10)]:
                x = _window_sample(seq, stream, int(f), net, cache, None, False)[0]
                b, ok = seq.boxes(int(f))
                items.append((x, b[ok], (seq.h, seq.w)))

        if s.val_dir:
            for seq in TrackFolder(s.val_dir, net, flip=False).seqs:
                with read_dat(seq.spikes, height=seq.h, width=seq.w) as stream:
                    add(seq, stream)
        else:
            for k in range(s.val_sequences):
                add(*_generated(int(np.random.default_rng([cfg.seed, 999_999, k]).integers(2**31)), s.synthetic))
        return items

    def validate(self, models: dict[str, Any], data: Any, *, device: Any, cfg: Any) -> dict[str, Any]:
        import torch

        from ...track.learned import decode

        net = models["net"]
        dets, gts = [], []
        for x, g, shape in data:
            out = net(torch.from_numpy(x[None]).to(device)).float().cpu().numpy()[0]
            dets.append(decode(out, cfg=net.cfg, shape=shape, threshold=cfg.settings.val_threshold))
            gts.append(g)
        return {f"val_{k}": v for k, v in _match_f1(dets, gts).items()}

    def scores(self, metrics: dict[str, Any]) -> dict[str, float]:
        return {"net": float(metrics["val_f1"])}
