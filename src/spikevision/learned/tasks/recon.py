"""Training task of the learned reconstructors (the motion-aligned CNN and the spiking U-Net).

Samples: generated moving crops (:mod:`spikevision.recon.learned.data`, fired through the
camera model one sample at a time, ``noisy_fraction`` of them with sensor noise) and/or
random crops of REDS-style / ``synth`` folders (GT at the centre frame). Loss: the
Charbonnier distance of the image to the GT, plus ``velocity_weight`` times the L1
error of the CNN's motion estimate on generated samples (whose exact motion is
known; a mean over the batch, folder samples adding zero). Validation: PSNR on a fixed generated set (``val_psnr``) and, with
``val_dir``, on that REDS-style folder (``reds_psnr``, which then picks ``best.pt``).

Fine-tuning (``init_from``): a CNN may gain the kink head or the fourth level (they
start at zero); an SNN may start from a narrower one, one with fewer inputs per step
or one without the fourth level (grown so it computes the same function:
:func:`~spikevision.recon.learned.snn.widen_state`, ``add_inputs``, ``deepen_state``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...recon.learned.data import ReconDataConfig
from ..task import Task

__all__ = ["ReconSettings", "ReconTask", "SyntheticRecon"]


@dataclass(frozen=True)
class ReconSettings:
    """Config keys of the ``recon`` task."""

    model: Literal["cnn", "snn"] = "cnn"
    model_args: dict = field(default_factory=dict)
    velocity_weight: float = 0.1
    val_samples: int = 64
    #: a REDS-style folder (relative path) used to validate and pick ``best.pt``, never to train
    val_dir: str | None = None
    data: ReconDataConfig = field(default_factory=ReconDataConfig)


class SyntheticRecon:
    """Generated samples: spikes ``(T, P, P)`` uint8, centre image ``(1, P, P)``, motion ``(4, P, P)``."""

    def __init__(self, data: ReconDataConfig) -> None:
        self.data = data

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        from ...recon.learned.data import make_sample
        from ...sim import NOISY_PRESET, REDS_PRESET, fire

        frames, vel = make_sample(rng, self.data)
        settings = NOISY_PRESET if rng.random() < self.data.noisy_fraction else REDS_PRESET
        spikes = fire(frames, settings=settings, seed=int(rng.integers(2**31)))
        return spikes, frames[self.data.window // 2][None].copy(), vel, np.float32(1.0)


class _Folder:
    """A folder source in the recon sample format (no motion target)."""

    def __init__(self, crops: Any) -> None:
        self.crops = crops

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        win, gt = self.crops.sample(rng)
        return win, gt, np.zeros((4, *gt.shape[1:]), np.float32), np.float32(0.0)



class ReconTask(Task):
    """The ``recon`` task (model key ``"net"``)."""

    name = "recon"
    settings_type = ReconSettings
    model_names = ("cnn", "snn")
    folder_kinds = ("reds", "synth")

    def build_models(self, cfg: Any) -> dict[str, Any]:
        from ...recon.learned.api import build_model

        s = cfg.settings
        return {"net": build_model(s.model, dict(s.model_args))}

    def model_record(self, cfg: Any, key: str, model: Any) -> tuple[str, dict]:
        return cfg.settings.model, model.cfg.to_dict()

    def ddp_find_unused(self, cfg: Any) -> bool:
        return cfg.settings.model != "cnn"  # every parameter of the CNN takes part in every step

    def source(self, spec: Any, cfg: Any) -> Any:
        from ...datasets import folder_kind
        from ..sources import GTCrops

        d = cfg.settings.data
        if spec.kind == "synthetic":
            return SyntheticRecon(d)
        kind = folder_kind(spec.path) if spec.kind == "auto" else spec.kind
        if kind not in self.folder_kinds:
            from ...datasets import DatasetError

            raise DatasetError(f"{spec.path}: a {kind!r} folder; recon trains from {list(self.folder_kinds)} folders")
        return _Folder(GTCrops(spec.path, patch=d.patch, window=d.window, upright=spec.upright))

    def loss(self, models: dict[str, Any], batch: Any, *, device: Any, cfg: Any, iteration: int,
             rank: int) -> dict[str, Any]:
        import torch

        spikes, gt, vel, has_vel = (t.to(device, non_blocking=True) for t in batch)
        out = models["net"](spikes.float())
        img = out[0] if isinstance(out, tuple) else out
        loss = torch.sqrt((img.float() - gt) ** 2 + 1e-6).mean()
        w = cfg.settings.velocity_weight
        if isinstance(out, tuple) and w:  # a mean of per-sample terms, so that shards average to the batch's
            v = out[1].float()
            err = (v - vel[:, : v.shape[1]]).abs().mean(dim=(1, 2, 3)) * has_vel
            loss = loss + w * err.mean()
        return {"net": loss}

    def validation_data(self, cfg: Any) -> dict[str, Any]:
        from ...datasets import find_recon_items, read_recon_item
        from ...recon.learned.data import make_batch

        s = cfg.settings
        spikes, gt, _ = make_batch(np.random.default_rng([cfg.seed, 999_999]), s.val_samples, s.data)
        reds = []
        if s.val_dir:
            reds = [read_recon_item(it, window=s.data.window) for it in find_recon_items(s.val_dir)]
        return {"synthetic": (spikes, gt), "reds": reds}

    def validate(self, models: dict[str, Any], data: Any, *, device: Any, cfg: Any) -> dict[str, Any]:
        net = models["net"]
        spikes, gt = data["synthetic"]
        out = {"val_psnr": float(np.mean([self.psnr(p, g[0]) for p, g in zip(_run(net, spikes, device), gt)]))}
        if data["reds"]:
            out["reds_psnr"] = float(np.mean([self.psnr(_run(net, w[None], device)[0], g) for w, g in data["reds"]]))
        return out

    def scores(self, metrics: dict[str, Any]) -> dict[str, float]:
        return {"net": metrics.get("reds_psnr", metrics["val_psnr"])}

    def init_weights(self, models: dict[str, Any], checkpoints: dict[str, Any], cfg: Any) -> None:
        from ..checkpoint import CheckpointError

        ck, net = checkpoints["net"], models["net"]
        if ck.model != cfg.settings.model:
            raise CheckpointError(f"init weights {ck.path} are of the {ck.model!r} model, this run trains "
                                  f"{cfg.settings.model!r}")
        state = ck.state
        if ck.model == "snn":
            state = _grown_snn(state, ck, net.cfg, cfg.seed)
            net.load_state_dict(state)
            return
        missing, unexpected = net.load_state_dict(state, strict=False)
        missing = [k for k in missing if not any(n in k for n in ("kink_head", "deep."))]  # parts that start at zero
        if missing or unexpected:
            raise CheckpointError(f"init weights {ck.path} do not fit the model (missing {missing[:4]}, "
                                  f"unexpected {list(unexpected)[:4]})")


def _run(net: Any, spikes: np.ndarray, device: Any, chunk: int = 16) -> np.ndarray:
    """Images ``(B, H, W)`` of ``net`` on windows ``(B, T, H, W)``."""
    import torch

    outs = []
    for i in range(0, len(spikes), chunk):
        out = net(torch.from_numpy(np.ascontiguousarray(spikes[i:i + chunk])).to(device).float())
        img = out[0] if isinstance(out, tuple) else out
        outs.append(img[:, 0].float().cpu().numpy())
    return np.concatenate(outs)


def _grown_snn(state: dict, ck: Any, new: Any, seed: int) -> dict:
    """``state`` of the SNN ``ck`` grown to the architecture ``new`` (width, inputs, fourth level)."""
    from ...recon.learned.snn import SNNConfig, add_inputs, deepen_state, widen_state
    from ..checkpoint import CheckpointError

    old = SNNConfig(**ck.model_args)
    if old == new:
        return state
    grown = dataclasses.replace(old, width=max(old.width, new.width), full_window=old.full_window or new.full_window,
                                group_rates=old.group_rates or new.group_rates, deep=old.deep or new.deep)
    if grown != new:
        raise CheckpointError(f"init weights {ck.path} ({old}) differ from the model ({new}) in more than the width, "
                              "the inputs and the fourth level (which can only grow)")
    at = old
    if old.width < new.width:
        state = widen_state(state, at, new.width, seed=seed)
        at = dataclasses.replace(at, width=new.width)
    if old.inputs() != new.inputs():
        more = dataclasses.replace(at, full_window=new.full_window, group_rates=new.group_rates)
        state, at = add_inputs(state, at, more), more
    if new.deep and not old.deep:
        state = deepen_state(state, at, seed=seed)
    return state
