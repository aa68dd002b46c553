"""Training task of the learned codes of :mod:`spikevision.comm` (the spiking JSCC and the analog reference).

Every code listed in ``kinds`` is trained on the *same* batches, each by its own
optimiser, over AWGN at a per-sample SNR drawn uniformly from ``snr_range`` (dB).
Samples: still or slowly drifting crops of bundled photos and textures
(:mod:`spikevision.comm.data`) fired through the camera model, and/or random crops
of REDS-style / ``synth`` folders. Loss: mean squared error of the received image.
Validation: PSNR per code at each of ``val_snrs`` on a fixed generated set
(``val_<kind>``); each code's mean picks its ``best_<kind>.pt``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...comm.data import CommDataConfig
from ..task import Task

__all__ = ["CommSettings", "CommTask"]


@dataclass(frozen=True)
class CommSettings:
    """Config keys of the ``comm`` task."""

    kinds: tuple[str, ...] = ("snn", "analog")
    snr_range: tuple[float, float] = (-7.0, 22.0)
    val_snrs: tuple[float, ...] = (-5.0, 0.0, 10.0, 20.0)
    val_samples: int = 32
    code: dict = field(default_factory=lambda: {"symbols_per_position": 8})
    data: CommDataConfig = field(default_factory=CommDataConfig)

    def __post_init__(self) -> None:
        bad = sorted(set(self.kinds) - {"snn", "analog"})
        if bad or not self.kinds:
            raise ValueError(f"kinds must be drawn from ('snn', 'analog'), got {list(self.kinds)}")
        if self.snr_range[0] > self.snr_range[1]:
            raise ValueError(f"snr_range must be (low, high), got {self.snr_range}")


class SyntheticComm:
    """Generated samples: spikes ``(T, P, P)`` uint8, centre image ``(1, P, P)`` float32."""

    def __init__(self, data: CommDataConfig) -> None:
        self.data = data

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        from ...comm.data import draw_sample
        from ...sim import REDS_PRESET, fire

        inten = draw_sample(rng, self.data)
        spikes = fire(inten, settings=REDS_PRESET, seed=int(rng.integers(2**31)))
        return spikes, inten[self.data.window // 2][None].copy()


class _WithSNR:
    """A source whose samples get an SNR (dB) drawn uniformly from ``snr_range``."""

    def __init__(self, source: Any, snr_range: tuple[float, float]) -> None:
        self.source, self.snr_range = source, snr_range

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        spikes, gt = self.source.sample(rng)
        lo, hi = self.snr_range
        return spikes, gt, np.float32(lo + (hi - lo) * rng.random())



class CommTask(Task):
    """The ``comm`` task: one model per entry of ``kinds`` (keys ``"snn"``, ``"analog"``)."""

    name = "comm"
    settings_type = CommSettings
    model_names = ("snn", "analog")
    export_half = True
    folder_kinds = ("reds", "synth")
    named_files = True

    def _code_cfg(self, cfg: Any, kind: str) -> Any:
        from ...comm.nets import CodeConfig

        return CodeConfig(kind=kind, window=cfg.settings.data.window, **cfg.settings.code)

    def build_models(self, cfg: Any) -> dict[str, Any]:
        from ...comm.jscc import build_code

        return {k: build_code(self._code_cfg(cfg, k)) for k in cfg.settings.kinds}

    def model_record(self, cfg: Any, key: str, model: Any) -> tuple[str, dict]:
        return key, model.cfg.to_dict()

    def source(self, spec: Any, cfg: Any) -> Any:
        from ...datasets import DatasetError, folder_kind
        from ..sources import GTCrops

        s = cfg.settings
        if spec.kind == "synthetic":
            return _WithSNR(SyntheticComm(s.data), s.snr_range)
        kind = folder_kind(spec.path) if spec.kind == "auto" else spec.kind
        if kind not in self.folder_kinds:
            raise DatasetError(f"{spec.path}: a {kind!r} folder; comm trains from {list(self.folder_kinds)} folders")
        return _WithSNR(GTCrops(spec.path, patch=s.data.patch, window=s.data.window, upright=spec.upright), s.snr_range)

    def loss(self, models: dict[str, Any], batch: Any, *, device: Any, cfg: Any, iteration: int,
             rank: int) -> dict[str, Any]:
        import torch

        from ...comm.channels import AWGN

        spikes, gt, snr = (t.to(device) for t in batch)
        x = spikes.float()
        gen = torch.Generator(device=device).manual_seed((cfg.seed * 1_000_003 + iteration) * 1024 + rank)
        return {k: torch.mean((code(x, AWGN(), snr, generator=gen).float() - gt) ** 2) for k, code in models.items()}

    def validation_data(self, cfg: Any) -> tuple[np.ndarray, np.ndarray]:
        from ...comm.data import make_batch

        return make_batch(np.random.default_rng([cfg.seed, 999_999]), cfg.settings.val_samples, cfg.settings.data)

    def validate(self, models: dict[str, Any], data: Any, *, device: Any, cfg: Any) -> dict[str, Any]:
        import torch

        from ...comm.channels import AWGN

        spikes, gt = data
        x = torch.from_numpy(spikes).to(device).float()
        out: dict[str, Any] = {}
        for k, code in models.items():
            out[f"val_{k}"] = {}
            for s in cfg.settings.val_snrs:
                gen = torch.Generator(device=device).manual_seed(0)
                img = code(x, AWGN(), float(s), generator=gen).float().cpu().numpy()
                out[f"val_{k}"][f"{s:g}"] = float(np.mean([self.psnr(p[0], g[0]) for p, g in zip(img, gt)]))
        return out

    def scores(self, metrics: dict[str, Any]) -> dict[str, float]:
        return {k[4:]: float(np.mean(list(v.values()))) for k, v in metrics.items() if k.startswith("val_")}
