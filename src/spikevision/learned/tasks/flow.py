"""Training task of the spike-flow network.

Samples: generated moving scenes (:mod:`spikevision.flow.synthetic`: random scenes
and layered sprites fired through the camera model, ``size x size`` pixels, ``dt``
drawn from ``dts``), SPIFT / PHM folders and ``synth`` folders (random ``size``
crops of their GT flows); each with a random flip / transpose (the flow
transformed alike) and the classical warm start the network config names.

Loss: the RAFT sequence loss, ``sum_i gamma**(N-1-i) * mean |f_i - f_gt|_1`` over
valid pixels; with ``still_gate`` each estimate is first multiplied by the sample's
static-background gate (:data:`spikevision.flow.still.TRAINING_GATE`), as at
inference, and the validation AEE is measured the same way. Validation: AEE on a
fixed generated set per ``dt`` (``val_aee_dt<dt>``, mean ``val_aee`` picks ``best.pt``).

Self-supervised (``unsupervised``, ``spikevision train flow --unsupervised --data FOLDER``): samples
are pairs of windows ``dt`` apart (``dt`` from ``dts``) cut from the recordings of any folder
(:func:`spikevision.datasets.find_recordings`, random ``size`` crops, flipped / transposed alike),
with the intensity images the photometric term compares (``photo_recon`` of each window, Gaussian
``photo_blur``) and the warm starts of both directions. The network estimates the forward and
the backward flow of each pair; the loss is :func:`spikevision.flow.losses.unsupervised_flow_loss`
(census photometric consistency without occluded pixels, edge-aware smoothness) of every
iteration, weighted like the sequence loss. No ground truth is read. Validation: the same loss on
``val_samples`` fixed pairs of the folders (``val_unsup``, picks ``best.pt``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...flow.losses import UnsupervisedLoss
from ...flow.synthetic import SceneConfig
from ..task import Task

__all__ = ["FlowSettings", "FlowTask", "sequence_loss", "sample_gate", "RecordingPairs", "unsupervised_sequence_loss"]


@dataclass(frozen=True)
class FlowSettings:
    """Config keys of the ``flow`` task."""

    size: int = 96
    dts: tuple[int, ...] = (10, 20)
    gamma: float = 0.8
    #: train and validate on the flow after the static-background gate (pixels it zeroes do not count)
    still_gate: bool = False
    #: with ``still_gate``, gate the photo scenes whose camera moves too (the training gate takes every
    #: camera as still; false: their loss sees the network's flow as it is, as the default gate at
    #: inference leaves a moving camera's flow to the camera fit, not to zero)
    gate_moving_cameras: bool = True
    val_samples: int = 24
    model_args: dict = field(default_factory=dict)
    scene: SceneConfig = field(default_factory=SceneConfig)
    #: self-supervised fine-tuning on unlabeled recordings (see the module notes)
    unsupervised: bool = False
    #: weights of the self-supervised loss
    unsupervised_loss: UnsupervisedLoss = field(default_factory=UnsupervisedLoss)
    #: reconstruction method of the images the photometric term compares, and their Gaussian blur (px)
    photo_recon: str = "atfi"
    photo_blur: float = 1.0

    def __post_init__(self) -> None:
        from ...recon import list_methods

        if self.photo_recon not in list_methods():
            raise ValueError(f"photo_recon must be a reconstruction method ({sorted(list_methods())}), "
                             f"got {self.photo_recon!r}")
        if self.photo_blur < 0:
            raise ValueError(f"photo_blur must be >= 0, got {self.photo_blur}")
        if not self.dts or min(self.dts) < 1:
            raise ValueError(f"dts must be positive frame intervals, got {list(self.dts)}")


def sequence_loss(preds: list[Any], gt: Any, valid: Any, gamma: float = 0.8, gate: Any = None) -> Any:
    """RAFT sequence loss: exponentially weighted mean L1 flow error of every iteration (torch).

    ``preds``: ``(B, 2, H, W)`` estimates, first to last; ``gt`` ``(B, 2, H, W)`` px;
    ``valid`` ``(B, H, W)``; ``gate`` ``(B, H, W)`` (optional) multiplies every prediction
    first, as the static-background gate does at inference.
    """
    if gate is not None:
        preds = [p * gate.unsqueeze(1) for p in preds]
    n = len(preds)
    v = valid.unsqueeze(1).float()
    denom = v.sum().clamp(min=1.0) * 2
    loss = 0.0
    for i, p in enumerate(preds):
        loss = loss + gamma ** (n - 1 - i) * ((p.float() - gt).abs() * v).sum() / denom
    return loss


def sample_gate(settings: FlowSettings, w1: np.ndarray, w2: np.ndarray, dt: int) -> np.ndarray:
    """``(H, W)`` float32 static-background gate of one sample (ones when ``still_gate`` is off)."""
    if not settings.still_gate:
        return np.ones(w1.shape[1:], np.float32)
    from ...flow.still import TRAINING_GATE, still_gate_weight

    return still_gate_weight(w1, w2, dt=dt, gate=TRAINING_GATE)


def _net_cfg(settings: FlowSettings) -> Any:
    from ...flow.net import FlowNetConfig

    return FlowNetConfig.from_dict(settings.model_args)


def _init(settings: FlowSettings, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """Warm-start flow ``(2, H, W)`` of one sample, as the network config names it."""
    from ...flow.classical import init_flow

    net = _net_cfg(settings)
    return np.ascontiguousarray(init_flow(w1, w2, recon=net.init_recon, preset=net.init_preset).transpose(2, 0, 1))


def _augment(rng: np.random.Generator, w1: np.ndarray, w2: np.ndarray, fl: np.ndarray, va: np.ndarray):
    """Random horizontal / vertical flip and transpose of spikes, flow ``(2, H, W)`` and mask alike."""
    lr, ud = np.array([-1, 1], np.float32)[:, None, None], np.array([1, -1], np.float32)[:, None, None]
    if rng.random() < 0.5:  # left-right: u changes sign
        w1, w2, va, fl = w1[..., ::-1], w2[..., ::-1], va[..., ::-1], fl[..., ::-1] * lr
    if rng.random() < 0.5:  # up-down: v changes sign
        w1, w2, va, fl = w1[:, ::-1], w2[:, ::-1], va[::-1], fl[:, ::-1] * ud
    if rng.random() < 0.5 and w1.shape[1] == w1.shape[2]:  # transpose: u and v swap
        w1, w2, va, fl = w1.transpose(0, 2, 1), w2.transpose(0, 2, 1), va.T, fl[::-1].transpose(0, 2, 1)
    c = np.ascontiguousarray
    return c(w1), c(w2), c(fl, dtype=np.float32), c(va)


def _finish(settings: FlowSettings, rng: np.random.Generator, w1, w2, fl, va, dt: int,
            camera_moving: bool = False) -> tuple[np.ndarray, ...]:
    """Augment one sample, then add its warm start and gate: ``(w1, w2, flow, valid, init, gate)``."""
    w1, w2, fl, va = _augment(rng, w1, w2, fl, va)
    if camera_moving and not settings.gate_moving_cameras:
        gate = np.ones(w1.shape[1:], np.float32)
    else:
        gate = sample_gate(settings, w1, w2, dt)
    return w1, w2, fl, va, _init(settings, w1, w2), gate


class SyntheticFlow:
    """Generated samples (:func:`spikevision.flow.synthetic.make_sample`)."""

    def __init__(self, settings: FlowSettings) -> None:
        self.settings = settings
        if settings.scene.photo_fraction > 0:  # a missing or empty photo folder fails here, not in a worker
            from ...flow.synthetic import photo_files

            photo_files(settings.scene.photo_dir)

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        from ...flow.synthetic import make_sample

        s = self.settings
        dt = int(rng.choice(np.asarray(s.dts)))
        info: dict = {}
        w1, w2, fl, va = make_sample(rng, height=s.size, width=s.size, dt=dt, window=_net_cfg(s).frames, cfg=s.scene,
                                     info=info)
        return _finish(s, rng, w1, w2, np.ascontiguousarray(fl.transpose(2, 0, 1)), va, dt,
                       camera_moving=info["camera_moving"])


class FolderFlow:
    """Random ``size`` crops of the GT flows of a SPIFT / PHM folder or a ``synth`` folder, for every ``dt`` it has."""

    def __init__(self, path: str, kind: str, settings: FlowSettings) -> None:
        from ...datasets import DatasetError, find_spift_pairs, synthetic_flow_items

        self.path, self.kind, self.settings = path, kind, settings
        self.items: list[tuple[Any, int]] = []
        for dt in settings.dts:
            try:
                found = find_spift_pairs(path, dt=dt) if kind == "spift" else synthetic_flow_items(path, dt=dt)
            except ValueError:
                continue
            self.items += [(x, dt) for x in found]
        if not self.items:
            raise DatasetError(f"{path}: no {kind} flows for dt in {list(settings.dts)}")

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        from ...datasets import read_spift_pair, read_synthetic_item

        s = self.settings
        item, dt = self.items[int(rng.integers(len(self.items)))]
        frames = _net_cfg(s).frames
        if self.kind == "spift":
            a, b, fl = read_spift_pair(item)
            w1, w2 = (x[x.shape[0] // 2 - frames // 2:][:frames] for x in (a, b))
            va = np.ones(fl.shape[:2], bool)
        else:
            stream, fl, va = read_synthetic_item(self.path, item)
            w1, w2 = (np.asarray(stream.window(t, frames), np.uint8) for t in (item.t0, item.t0 + dt))
        h, w = fl.shape[:2]
        p = min(s.size, h, w)
        y, x = int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1))
        crop = (slice(None), slice(y, y + p), slice(x, x + p))
        fl = np.ascontiguousarray(fl[y:y + p, x:x + p].transpose(2, 0, 1))
        return _finish(s, rng, w1[crop], w2[crop], fl, va[y:y + p, x:x + p], dt)


def _photo_image(settings: FlowSettings, w: np.ndarray) -> np.ndarray:
    """The intensity image of a window the photometric term compares, ``(H, W)`` float32."""
    import cv2

    from ...flow.classical import init_image

    img = np.asarray(init_image(w, recon=settings.photo_recon), np.float32)
    return cv2.GaussianBlur(img, (0, 0), settings.photo_blur) if settings.photo_blur > 0 else img


class RecordingPairs:
    """Unlabeled samples for the self-supervised loss: two windows ``dt`` apart from a random recording of a folder,
    as ``(w1, w2, init_forward, init_backward, image1, image2)`` (see the module notes)."""

    def __init__(self, path: str, settings: FlowSettings, *, sensor: str | None = None, upright: bool = False) -> None:
        from ...datasets import DatasetError
        from ..sources import RecordingWindows

        self.settings = settings
        self.frames = _net_cfg(settings).frames
        span = self.frames + max(settings.dts)
        try:
            self.windows = RecordingWindows(path, patch=settings.size, window=span, sensor=sensor, upright=upright)
        except DatasetError as exc:
            raise DatasetError(f"{exc} (self-supervised flow: two {self.frames}-frame windows up to "
                               f"{max(settings.dts)} frames apart, {settings.size} x {settings.size} crops)") from None

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        from ...flow.classical import classical_flow_images, init_image

        s, n = self.settings, self.frames
        dt = int(rng.choice(np.asarray(s.dts)))
        span = self.windows.sample(rng)
        w1, w2 = np.ascontiguousarray(span[:n]), np.ascontiguousarray(span[dt:dt + n])
        net = _net_cfg(s)
        a, b = (init_image(w, recon=net.init_recon) for w in (w1, w2))
        inits = [np.ascontiguousarray(classical_flow_images(x, y, algorithm="dis", preset=net.init_preset)
                                      .transpose(2, 0, 1)) for x, y in ((a, b), (b, a))]
        im1, im2 = (_photo_image(s, w)[None] for w in (w1, w2))
        return w1, w2, inits[0], inits[1], im1, im2


def unsupervised_sequence_loss(net: Any, batch: Any, *, settings: FlowSettings) -> Any:
    """The self-supervised loss of a batch of :class:`RecordingPairs` samples: forward and backward flows of each
    pair, :func:`~spikevision.flow.losses.unsupervised_flow_loss` of every iteration weighted by ``gamma``."""
    import torch

    from ...flow.losses import unsupervised_flow_loss

    w1, w2, init_f, init_b, im1, im2 = batch
    b = w1.shape[0]
    init = torch.cat([init_f, init_b]) if _net_cfg(settings).classical_init else None
    if hasattr(net, "forward_pairs"):  # each window through the trunk once
        pairs = [(i, b + i) for i in range(b)] + [(b + i, i) for i in range(b)]
        preds = net.forward_pairs(torch.cat([w1, w2]).float(), pairs, flow_init=init, all_iters=True)
    else:  # wrapped (DistributedDataParallel): through forward
        preds = net(torch.cat([w1, w2]).float(), torch.cat([w2, w1]).float(), flow_init=init, all_iters=True)
    n = len(preds)
    return sum(settings.gamma ** (n - 1 - i) * unsupervised_flow_loss(p[:b].float(), p[b:].float(), im1, im2,
                                                                      settings.unsupervised_loss)
               for i, p in enumerate(preds))


class FlowTask(Task):
    """The ``flow`` task (model key ``"net"``, model name ``"spikeflow"``)."""

    name = "flow"
    settings_type = FlowSettings
    model_names = ("spikeflow",)
    folder_kinds = ("spift", "synth")

    def build_models(self, cfg: Any) -> dict[str, Any]:
        from ...flow.net import SpikeFlowNet

        return {"net": SpikeFlowNet(_net_cfg(cfg.settings))}

    def model_record(self, cfg: Any, key: str, model: Any) -> tuple[str, dict]:
        return "spikeflow", model.cfg.to_dict()

    def export_meta(self, cfg: Any) -> dict:
        return {"dts": [int(d) for d in cfg.settings.dts]}

    def source(self, spec: Any, cfg: Any) -> Any:
        from ...datasets import DatasetError, folder_kind

        if cfg.settings.unsupervised:
            if spec.kind == "synthetic" or spec.path is None:
                raise DatasetError("self-supervised flow training reads folders of recordings: give --data FOLDER "
                                   "(the generated scenes have ground truth; train them without --unsupervised)")
            return RecordingPairs(spec.path, cfg.settings, sensor=spec.sensor, upright=spec.upright)
        if spec.kind == "synthetic":
            return SyntheticFlow(cfg.settings)
        kind = folder_kind(spec.path) if spec.kind == "auto" else spec.kind
        if kind not in self.folder_kinds:
            raise DatasetError(f"{spec.path}: a {kind!r} folder; flow trains from {list(self.folder_kinds)} folders")
        return FolderFlow(spec.path, kind, cfg.settings)

    def loss(self, models: dict[str, Any], batch: Any, *, device: Any, cfg: Any, iteration: int,
             rank: int) -> dict[str, Any]:
        s = cfg.settings
        net = models["net"]
        if s.unsupervised:
            return {"net": unsupervised_sequence_loss(net, [t.to(device, non_blocking=True) for t in batch], settings=s)}
        w1, w2, fl, va, init, gate = (t.to(device, non_blocking=True) for t in batch)
        classical = _net_cfg(s).classical_init
        preds = net(w1.float(), w2.float(), flow_init=init if classical else None, all_iters=True)
        return {"net": sequence_loss(preds, fl, va, s.gamma, gate=gate if s.still_gate else None)}

    def validation_data(self, cfg: Any) -> list[tuple[int, tuple[np.ndarray, ...]]]:
        from ...flow.synthetic import make_batch

        s = cfg.settings
        if s.unsupervised:  # fixed pairs of the training folders, round robin
            sources = [self.source(spec, cfg) for spec in cfg.sources]
            items = [sources[k % len(sources)].sample(np.random.default_rng([cfg.seed, 777_777, k]))
                     for k in range(s.val_samples)]
            return [("unsup", self.collate(items))]
        out = []
        for dt in s.dts:
            rng = np.random.default_rng([cfg.seed, 777_777, dt])
            infos: list = []
            w1, w2, fl, va = make_batch(rng, s.val_samples, size=s.size, dts=(dt,), window=_net_cfg(s).frames, cfg=s.scene,
                                        infos=infos)
            init = np.stack([_init(s, a, b) for a, b in zip(w1, w2)])
            gate = np.stack([np.ones(a.shape[1:], np.float32) if i["camera_moving"] and not s.gate_moving_cameras
                             else sample_gate(s, a, b, dt) for a, b, i in zip(w1, w2, infos)])
            out.append((dt, (w1, w2, fl, va, init, gate)))
        return out

    def validate(self, models: dict[str, Any], data: Any, *, device: Any, cfg: Any) -> dict[str, Any]:
        import torch

        net, chunk = models["net"], 8
        if cfg.settings.unsupervised:
            (_, batch), = data
            total = 0.0
            for i in range(0, len(batch[0]), chunk):
                part = [t[i:i + chunk].to(device) for t in batch]
                one = dataclasses.replace(cfg.settings, gamma=0.0)  # the last iteration only
                total += float(unsupervised_sequence_loss(net, part, settings=one)) * len(part[0])
            return {"val_unsup": total / len(batch[0])}
        res: dict[str, Any] = {}
        for dt, (w1, w2, fl, va, init, gate) in data:
            errs, n = 0.0, 0
            for i in range(0, len(w1), chunk):
                part = slice(i, i + chunk)

                def t(a: np.ndarray) -> Any:
                    return torch.from_numpy(np.ascontiguousarray(a[part])).to(device)

                p = net(t(w1).float(), t(w2).float(), flow_init=t(init) if net.cfg.classical_init else None)[-1]
                e = torch.linalg.vector_norm(p.float() * t(gate).unsqueeze(1) - t(fl), dim=1).cpu().numpy()
                m = va[part]
                errs += float(e[m].sum())
                n += int(m.sum())
            res[f"val_aee_dt{dt}"] = errs / max(n, 1)
        res["val_aee"] = float(np.mean([res[f"val_aee_dt{dt}"] for dt, _ in data]))
        return res

    def scores(self, metrics: dict[str, Any]) -> dict[str, float]:
        return {"net": -metrics["val_unsup"] if "val_unsup" in metrics else -metrics["val_aee"]}

    def init_weights(self, models: dict[str, Any], checkpoints: dict[str, Any], cfg: Any) -> None:
        from ..checkpoint import CheckpointError

        ck, net = checkpoints["net"], models["net"]
        missing, unexpected = net.load_state_dict(ck.state, strict=False)
        missing = [k for k in missing if "change." not in k]  # a change branch added since starts at zero
        if missing or unexpected:
            raise CheckpointError(f"init weights {ck.path} do not fit the model (missing {missing[:4]}, "
                                  f"unexpected {list(unexpected)[:4]})")
