"""Training loop for the learned reconstructors: seeded, resumable, logged.

``spikevision train recon --model cnn --config configs/recon_cnn.json`` runs
:func:`train`. Every batch is drawn from a generator seeded by ``(seed,
iteration)``, so a resumed run sees exactly the data an uninterrupted one would.
Checkpoints (model, optimiser, iteration, best validation score) are written
atomically to ``out_dir/last.pt`` every ``checkpoint_every`` iterations, the
best model by validation PSNR (on ``reds_val_dir`` when given — a
REDS-style folder used only for validation — else on a held-out synthetic
set) to ``out_dir/best.pt``, and one JSON line per
logged step to ``out_dir/log.jsonl``. ``init_from`` names a weights file to start
from (fine-tuning with a fresh optimiser and schedule) when there is no
``last.pt`` to resume. With ``average_from``, the weights at every checkpoint
from that iteration on are averaged (:class:`spikevision.training.WeightAverage`,
kept in ``last.pt`` across resumes) and written to ``out_dir/average.pt`` at the
end of the run, with its validation scores logged.
"""

from __future__ import annotations

import json
import math
import pickle
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ...training import WeightAverage, load_init, resume_into
from ...training import save_torch as _save
from ...training import warmup_cosine
from .data import ReconDataConfig, make_batch

__all__ = ["TrainConfig", "load_config", "train", "validation_set"]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run (read from a JSON file)."""

    model: str = "cnn"
    out_dir: str = "runs/recon_cnn"
    seed: int = 0
    iterations: int = 20000
    batch: int = 8
    lr: float = 1e-3
    lr_min: float = 2e-5
    warmup: int = 200
    velocity_weight: float = 0.1
    threads: int = 2
    log_every: int = 50
    val_every: int = 500
    checkpoint_every: int = 250
    val_samples: int = 64
    max_minutes: float = 120.0
    reds_val_dir: str | None = None
    init_from: str | None = None
    average_from: int | None = None
    model_args: dict = field(default_factory=dict)
    data: ReconDataConfig = field(default_factory=ReconDataConfig)


def load_config(path: str | Path | None, **overrides: Any) -> TrainConfig:
    """Read a JSON config; unknown keys are an error (typos must not pass silently)."""
    raw: dict[str, Any] = json.loads(Path(path).read_text()) if path else {}
    raw.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; expected some of {sorted(known)}")
    data = raw.pop("data", {}) or {}
    dknown = {f.name for f in fields(ReconDataConfig)}
    if set(data) - dknown:
        raise ValueError(f"unknown data config keys {sorted(set(data) - dknown)}; expected some of {sorted(dknown)}")
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return TrainConfig(**raw, data=ReconDataConfig(**data))


def build_model(name: str, model_args: dict) -> Any:
    if name == "cnn":
        from .cnn import AlignedReconNet, CNNConfig

        return AlignedReconNet(CNNConfig(**model_args))
    if name == "snn":
        from .snn import SNNConfig, SpikingReconNet

        return SpikingReconNet(SNNConfig(**model_args))
    raise ValueError(f"unknown model {name!r}; expected 'cnn' or 'snn'")


def _init_weights(model: Any, cfg: TrainConfig) -> None:
    """Start from ``cfg.init_from``; an SNN may start from the weights of a narrower SNN, one
    with fewer inputs per step and/or one without the fourth level (grown so that it computes the
    same function: :func:`.snn.widen_state`, :func:`.snn.add_inputs`, :func:`.snn.deepen_state`)."""
    import dataclasses

    import torch

    if cfg.model == "snn" and Path(cfg.init_from).is_file():  # a missing file: load_init's error below
        from .snn import SNNConfig, add_inputs, deepen_state, widen_state

        try:
            ck = torch.load(cfg.init_from, map_location="cpu", weights_only=False)
            args = ck.get("model_args") if isinstance(ck, dict) else None
            old = SNNConfig(**args) if args else None
        except (OSError, KeyError, TypeError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
            raise ValueError(f"init weights {cfg.init_from} are not a readable SNN checkpoint: {exc}") from exc
        new = model.cfg
        if old is not None and old != new:  # a grown network (else: loaded as any checkpoint)
            grown = dataclasses.replace(old, width=max(old.width, new.width), full_window=old.full_window or new.full_window,
                                        group_rates=old.group_rates or new.group_rates, deep=old.deep or new.deep)
            if grown != new:
                raise ValueError(f"init weights {cfg.init_from} ({old}) differ from the model ({new}) "
                                 "in more than the width, the inputs and the fourth level (which can only grow)")
            state, at = ck["model"], old
            if old.width < new.width:
                state = widen_state(state, at, new.width, seed=cfg.seed)
                at = dataclasses.replace(at, width=new.width)
            if old.inputs() != new.inputs():
                at_more = dataclasses.replace(at, full_window=new.full_window, group_rates=new.group_rates)
                state, at = add_inputs(state, at, at_more), at_more
            if new.deep and not old.deep:
                state = deepen_state(state, at, seed=cfg.seed)
            model.load_state_dict(state)
            return
    load_init(model, cfg.init_from, new=("kink_head", "deep."))  # CNN parts that start at zero


def validation_set(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """A fixed held-out synthetic set (its own seed stream, never used for training)."""
    rng = np.random.default_rng([cfg.seed, 999_999])
    spikes, gt, _ = make_batch(rng, cfg.val_samples, cfg.data)
    return spikes, gt


def _lr(cfg: TrainConfig, it: int) -> float:
    return warmup_cosine(it, lr=cfg.lr, lr_min=cfg.lr_min, warmup=cfg.warmup, iterations=cfg.iterations)


def _psnr(pred: np.ndarray, gt: np.ndarray) -> float:
    mse = float(np.mean((np.clip(pred, 0, 1) - gt) ** 2))
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def evaluate(model: Any, spikes: np.ndarray, gt: np.ndarray, batch: int = 16) -> float:
    """Mean PSNR (data range 1) of the model on a set of windows."""
    import torch

    model.eval()
    scores = []
    with torch.inference_mode():
        for i in range(0, len(spikes), batch):
            out = model(torch.from_numpy(spikes[i : i + batch]).float())
            img = out[0] if isinstance(out, tuple) else out
            for p, g in zip(img.numpy(), gt[i : i + batch]):
                scores.append(_psnr(p, g))
    model.train()
    return float(np.mean(scores))


def reds_validation(path: str | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Windows and GT of a REDS-style folder (``spike/*.dat`` + ``gt/*.png``; GT at the middle
    frame), used to monitor and select checkpoints only, never to train. Empty if absent."""
    if not path or not Path(path, "spike").is_dir():
        return []
    from PIL import Image

    from ...io.dat import read_dat

    out = []
    for dat in sorted(Path(path, "spike").glob("*.dat")):
        png = Path(path, "gt", dat.stem + ".png")
        if not png.exists():
            continue
        s = read_dat(dat, sensor="vidar")
        win = s.window(s.n_frames // 2, 41)
        out.append((win[None], np.asarray(Image.open(png).convert("L"), np.float32)[None, None] / 255.0))
    return out


def train(cfg: TrainConfig, *, resume: bool = True, progress: bool = True) -> dict:
    """Run (or resume) a training run; returns a summary dict."""
    import torch

    from ...progress import progress_bar

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = build_model(cfg.model, cfg.model_args)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    start, best = 0, -float("inf")
    last = out / "last.pt"
    meta = {"model_name": cfg.model, "model_args": cfg.model_args}  # stored with every checkpoint, so each loads alone
    avg = WeightAverage()
    if resume and last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        resume_into(last, [(model, ck["model"]), (opt, ck["optimizer"])])
        start, best = ck["iteration"], ck["best_psnr"]
        avg.load(ck.get("average"))
    elif cfg.init_from:  # fine-tune; a kink head added since starts at zero
        _init_weights(model, cfg)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2, default=list))
    val_spikes, val_gt = validation_set(cfg)
    reds = reds_validation(cfg.reds_val_dir)
    noisy = _noisy_settings()
    t_start = time.time()
    bar = progress_bar(total=cfg.iterations, desc=f"train {cfg.model}", enabled=progress, unit="it")
    bar.update(start)
    log = open(out / "log.jsonl", "a")
    model.train()
    running = 0.0
    it = start
    for it in range(start, cfg.iterations):
        rng = np.random.default_rng([cfg.seed, it])
        spikes, gt, vel = make_batch(rng, cfg.batch, cfg.data, noisy_settings=noisy)
        x = torch.from_numpy(spikes).float()
        y = torch.from_numpy(gt)
        for g in opt.param_groups:
            g["lr"] = _lr(cfg, it)
        out_ = model(x)
        if isinstance(out_, tuple):
            img, v = out_
            loss = torch.sqrt((img - y) ** 2 + 1e-6).mean()
            if cfg.velocity_weight:
                loss = loss + cfg.velocity_weight * (v - torch.from_numpy(vel)[:, : v.shape[1]]).abs().mean()
        else:
            img = out_
            loss = torch.sqrt((img - y) ** 2 + 1e-6).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running += loss.item()
        bar.update(1)
        done = it + 1
        if done % cfg.log_every == 0:
            rec = {"iteration": done, "loss": running / cfg.log_every, "lr": _lr(cfg, it), "minutes": (time.time() - t_start) / 60}
            running = 0.0
            if done % cfg.val_every == 0 or done == cfg.iterations:
                rec["val_psnr"] = evaluate(model, val_spikes, val_gt)
                score = rec["val_psnr"]
                if reds:
                    rec["reds_psnr"] = float(np.mean([evaluate(model, w, g) for w, g in reds]))
                    score = rec["reds_psnr"]
                if score > best:
                    best = score
                    _save(out / "best.pt", {"model": model.state_dict(), **meta, "iteration": done,
                                            "val_psnr": rec["val_psnr"], "reds_psnr": rec.get("reds_psnr")})
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar.set_postfix({k: f"{v:.4f}" for k, v in rec.items() if k in ("loss", "val_psnr", "reds_psnr")})
        out_of_time = (time.time() - t_start) / 60 > cfg.max_minutes
        if done % cfg.checkpoint_every == 0 or done == cfg.iterations or out_of_time:
            if cfg.average_from is not None and done >= cfg.average_from:
                avg.add(model, done)
            _save(last, {"model": model.state_dict(), **meta, "optimizer": opt.state_dict(), "iteration": done,
                         "best_psnr": best, "average": avg.state()})
        if out_of_time:
            break
    bar.close()
    summary = {"iterations": it + 1 if cfg.iterations > start else start, "best_val_psnr": best, "out_dir": str(out)}
    if avg.count:
        summary["average"] = _save_average(model, avg, meta, out / "average.pt", (val_spikes, val_gt), reds, log)
    log.close()
    return summary


def _save_average(model: Any, avg: WeightAverage, meta: dict, path: Path,
                  val: tuple[np.ndarray, np.ndarray], reds: list, log: Any) -> dict:
    """Write the weight average (``average.pt``, loadable like ``best.pt``) with its validation scores
    (``model`` is left holding the average)."""
    state = avg.average()
    model.load_state_dict(state)
    rec = {"average_of": avg.count, "first": avg.iterations[0], "last": avg.iterations[-1],
           "val_psnr": evaluate(model, *val)}
    if reds:
        rec["reds_psnr"] = float(np.mean([evaluate(model, w, g) for w, g in reds]))
    _save(path, {"model": state, **meta, "iteration": avg.iterations[-1], "val_psnr": rec["val_psnr"],
                 "reds_psnr": rec.get("reds_psnr"), "averaged_iterations": avg.iterations})
    log.write(json.dumps(rec) + "\n")
    log.flush()
    return rec


def _noisy_settings() -> Any:
    """The REDS calibration with realistic sensor noise (for noise augmentation)."""
    from ...sim import NOISY_PRESET

    return NOISY_PRESET
