"""The one training loop: every learned model of the package is trained by :func:`fit`.

What it does for every task (the task supplies only models, samples, loss and validation):

* **Seeding**: torch is seeded with ``seed`` before the models are built; sample ``i``
  is drawn from ``(seed, i)`` (:mod:`.data`), so a resumed run and a run on more
  processes see the same data as an uninterrupted single-process run.
* **Devices and processes**: ``device`` as in :func:`.device.resolve_device`; under
  ``torchrun`` each rank wraps the models in ``DistributedDataParallel`` (gloo on
  the CPU, nccl on CUDA), takes its slice of every global batch, and only rank 0
  validates, logs and writes files. Optional mixed precision (``amp``, CUDA) and
  ``torch.compile`` (``compile``).
* **Schedule**: linear warm-up, cosine decay (:func:`.schedule.warmup_cosine`), annealed
  by wall time too with ``anneal_by_time``; gradients clipped to ``clip_grad``.
* **Files** in ``out`` (default ``runs/<config name>``): ``last.pt`` (everything needed to
  resume: models, optimisers, iteration, best scores, weight average), ``best.pt``
  (``best_<key>.pt`` for tasks with several models) by validation score,
  ``average.pt`` with ``average_from``, ``log.jsonl`` (one JSON line per logged
  step), ``config.json`` (the resolved config). All checkpoints go through
  :func:`.checkpoint.save_checkpoint`.
* **Budget**: stops after ``max_minutes`` of wall time (checkpointing first); a progress
  bar shows the loss and the time left.

>>> summary = fit(load_config("configs/recon/cnn.json"), device="cpu")   # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .average import WeightAverage
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .config import RunConfig, config_dict
from .schedule import warmup_cosine

__all__ = ["fit", "resolve_init", "default_out"]


def default_out(cfg: RunConfig) -> Path:
    """``runs/<config name>`` (relative to the working directory)."""
    return Path("runs") / cfg.name


def _stage_file(spec: str, cfg: RunConfig, key: str, several: bool) -> Path | None:
    """The checkpoint a previous stage's config names (``NAME.json`` or ``NAME.json#last``), or None."""
    base, _, which = spec.partition("#")
    if Path(base).suffix.lower() not in (".json", ".toml"):
        return None
    which = which or "best"
    if which not in ("best", "last", "average"):
        raise CheckpointError(f"init_from {spec!r}: after '#' expected best, last or average")
    stage = Path(cfg.config_dir or ".") / base
    if not stage.is_file():
        raise FileNotFoundError(f"init_from {spec!r}: no config {stage} (a previous stage names its config file, "
                                "relative to this config's folder)")
    suffix = f"_{key}" if several and which != "last" else ""
    path = Path("runs") / Path(base).stem / f"{which}{suffix}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"init_from {spec!r}: {path} not found; run that stage first "
                                f"(spikevision train {cfg.task} --config {stage})")
    return path


def resolve_init(cfg: RunConfig, task: Any, keys: list[str]) -> dict[str, Checkpoint]:
    """The checkpoints ``cfg.init_from`` names, one per model key (see :mod:`.config`)."""
    spec = cfg.init_from
    if spec is None:
        return {}
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(keys))
        if unknown:
            raise CheckpointError(f"init_from names models {unknown}; this run trains {keys}")
        specs = {k: str(v) for k, v in spec.items()}
    else:
        specs = {k: str(spec) for k in keys}
    out = {}
    for k, s in specs.items():
        path = _stage_file(s, cfg, k, len(keys) > 1 or task.named_files)
        out[k] = load_checkpoint(path if path is not None else s, task=task.name, models=task.model_names)
    return out


def _all_mean(values: list[float], procs: Any) -> list[float]:
    """``values`` averaged over the processes (no-op for one)."""
    if procs.world == 1:
        return values
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=procs.device if procs.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return (t / procs.world).tolist()


def _any(flag: bool, procs: Any) -> bool:
    """True if ``flag`` is true on any process (every process then stops together)."""
    return bool(_all_mean([float(flag)], procs)[0] > 0)


class _Log:
    """``log.jsonl`` (and TensorBoard when asked), written by rank 0 only."""

    def __init__(self, out: Path, enabled: bool, tensorboard: bool) -> None:
        self.fh = open(out / "log.jsonl", "a") if enabled else None
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise ImportError("tensorboard logging needs the tensorboard package: "
                                  "pip install 'spikevision[tensorboard]'") from exc
            self.tb = SummaryWriter(str(out / "tensorboard"))

    def write(self, rec: dict) -> None:
        if self.fh is None:
            return
        self.fh.write(json.dumps(rec) + "\n")
        self.fh.flush()
        if self.tb is not None:
            for k, v in rec.items():
                if isinstance(v, (int, float)) and k != "iteration":
                    self.tb.add_scalar(k, v, rec.get("iteration", 0))

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
        if self.tb is not None:
            self.tb.close()


def fit(cfg: RunConfig, *, out: str | Path | None = None, device: str = "auto", resume: bool = True,
        progress: bool = True) -> dict[str, Any]:
    """Train (or resume) the run ``cfg``; returns a summary dict (iterations, best scores, files).

    ``out``: the run's folder (default ``runs/<config name>``). ``resume``: continue from
    ``out/last.pt`` when there is one (else start afresh, from ``init_from`` if set).
    """
    import numpy as np
    import torch

    from ..progress import progress_bar
    from .data import MixedSamples, make_loader
    from .device import autocast, start_processes, stop_processes
    from .tasks import get_task

    task = get_task(cfg.task)
    procs = start_processes(device)
    try:
        if cfg.amp != "off" and procs.device.type != "cuda":
            from .device import DeviceError

            raise DeviceError(f"mixed precision (amp={cfg.amp!r}) needs a CUDA device, the run is on {procs.device}")
        out_dir = Path(out) if out is not None else default_out(cfg)
        out_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        dev = procs.device
        models = {k: m.to(dev) for k, m in task.build_models(cfg).items()}
        keys = list(models)
        several = len(keys) > 1 or task.named_files

        def make_opt(m: Any) -> Any:
            cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
            return cls(m.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

        opts = {k: make_opt(m) for k, m in models.items()}
        avgs = {k: WeightAverage() for k in keys}
        start, best, minutes0 = 0, {k: -float("inf") for k in keys}, 0.0
        last = out_dir / "last.pt"
        if resume and last.exists():
            ck = load_checkpoint(last, task=task.name)
            r = ck.resume or {}
            try:
                for k in keys:
                    models[k].load_state_dict(r["models"][k])
                    opts[k].load_state_dict(r["optimizers"][k])
                    avgs[k].load(r.get("average", {}).get(k))
            except (KeyError, RuntimeError, ValueError) as exc:
                raise CheckpointError(f"{last} was left by a run of a different model or config ({exc}); use "
                                      "another --out, delete it, or start afresh with --no-resume") from exc
            start, best, minutes0 = int(r["iteration"]), {k: float(v) for k, v in r["best"].items()}, float(r["minutes"])
        elif cfg.init_from is not None:
            task.init_weights(models, resolve_init(cfg, task, keys), cfg)
        raw = models
        if procs.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [dev.index] if dev.type == "cuda" else None
            unused = task.ddp_find_unused(cfg)
            models = {k: DDP(m, device_ids=ids, find_unused_parameters=unused) for k, m in models.items()}
        if cfg.compile:
            models = {k: torch.compile(m) for k, m in models.items()}
        main = procs.main
        if main:
            from ..io.atomic import atomic_path

            with atomic_path(out_dir / "config.json") as tmp:
                tmp.write_text(json.dumps({**config_dict(cfg), "settings": config_dict(cfg.settings)}, indent=2))
        val = task.validation_data(cfg) if main else None
        sources = [task.source(s, cfg) for s in cfg.sources]
        data = MixedSamples(sources, [s.weight for s in cfg.sources], cfg.seed)
        loader = make_loader(data, task.collate, start=start, stop=cfg.iterations, batch=cfg.batch,
                             rank=procs.rank, world=procs.world, workers=cfg.workers)
        scaler = torch.amp.GradScaler("cuda") if cfg.amp == "fp16" else None
        log = _Log(out_dir, main, cfg.tensorboard)
        bar = progress_bar(total=cfg.iterations, desc=f"train {cfg.task} {cfg.name}", enabled=progress and main)
        bar.update(start)
        t0 = time.time()

        def minutes() -> float:
            return minutes0 + (time.time() - t0) / 60

        def meta(done: int, metrics: dict | None = None) -> dict:
            return {**task.export_meta(cfg), "iteration": done, "config": cfg.name, "metrics": metrics or {}}

        def weights(k: str, state: dict, done: int, metrics: dict | None = None, resume_state: dict | None = None) -> Checkpoint:
            name, args = task.model_record(cfg, k, raw[k])
            return Checkpoint(task.name, name, args, state, meta(done, metrics), resume_state)

        def file(kind: str, k: str) -> Path:
            return out_dir / (f"{kind}_{k}.pt" if several else f"{kind}.pt")

        def checkpoint(done: int) -> None:
            if cfg.average_from is not None and done >= cfg.average_from:
                for k in keys:
                    avgs[k].add(raw[k], done)
            if main:
                state = {"iteration": done, "best": best, "minutes": minutes(),
                         "models": {k: raw[k].state_dict() for k in keys},
                         "optimizers": {k: opts[k].state_dict() for k in keys},
                         "average": {k: avgs[k].state() for k in keys}}
                save_checkpoint(last, weights(keys[0], raw[keys[0]].state_dict(), done, None, state))

        def validate() -> dict:
            for m in raw.values():
                m.eval()
            with torch.inference_mode():
                metrics = task.validate(raw, val, device=dev, cfg=cfg)
            for m in raw.values():
                m.train()
            return metrics

        for m in raw.values():
            m.train()
        running: dict[str, list[float]] = {k: [] for k in keys}
        done = start
        for it, batch in zip(range(start, cfg.iterations), loader):
            lr = warmup_cosine(it, lr=cfg.lr, lr_min=cfg.lr_min, warmup=cfg.warmup, iterations=cfg.iterations,
                               min_progress=minutes() / cfg.max_minutes if cfg.anneal_by_time else 0.0)
            for o in opts.values():
                for g in o.param_groups:
                    g["lr"] = lr
            with autocast(dev, cfg.amp):
                losses = task.loss(models, batch, device=dev, cfg=cfg, iteration=it, rank=procs.rank)
            total = sum(losses.values())
            for o in opts.values():
                o.zero_grad(set_to_none=True)
            (scaler.scale(total) if scaler else total).backward()
            for k in keys:
                if scaler:
                    scaler.unscale_(opts[k])
                if cfg.clip_grad:
                    torch.nn.utils.clip_grad_norm_(raw[k].parameters(), cfg.clip_grad)
                if scaler:
                    scaler.step(opts[k])
                else:
                    opts[k].step()
            if scaler:
                scaler.update()
            for k, v in zip(keys, _all_mean([float(losses[k].detach()) for k in keys], procs)):
                running[k].append(v)
            bar.update(1)
            done = it + 1
            if done % cfg.log_every == 0 or done == cfg.iterations:
                rec: dict[str, Any] = {"iteration": done, "loss": float(sum(np.mean(v) for v in running.values())),
                                       "lr": lr, "minutes": round(minutes(), 3)}
                if several:
                    rec.update({f"loss_{k}": float(np.mean(v)) for k, v in running.items()})
                running = {k: [] for k in keys}
                if main and (done % cfg.val_every == 0 or done == cfg.iterations):
                    metrics = validate()
                    rec.update(metrics)
                    for k, s in task.scores(metrics).items():
                        if s > best[k]:
                            best[k] = s
                            save_checkpoint(file("best", k), weights(k, raw[k].state_dict(), done, metrics))
                log.write(rec)
                bar.set_postfix({"loss": f"{rec['loss']:.4f}"})
            stop = _any(main and minutes() > cfg.max_minutes, procs)
            if done % cfg.checkpoint_every == 0 or done == cfg.iterations or stop:
                checkpoint(done)
            if stop:
                break
        bar.close()
        summary: dict[str, Any] = {"iterations": done, "best": best, "out": str(out_dir), "minutes": round(minutes(), 3),
                                   "checkpoints": {k: {w: str(file(w, k)) for w in ("best", "average")} for k in keys}}
        for k in keys:
            summary["checkpoints"][k]["last"] = str(last)
        if main and any(a.count for a in avgs.values()):
            for k in keys:
                raw[k].load_state_dict(avgs[k].average())
            metrics = validate()
            for k in keys:
                a = avgs[k]
                save_checkpoint(file("average", k), weights(k, a.average(), a.iterations[-1],
                                                            {**metrics, "averaged_iterations": a.iterations}))
            rec = {"average_of": avgs[keys[0]].count, "first": avgs[keys[0]].iterations[0], **metrics}
            log.write(rec)
            summary["average"] = rec
        if main:
            for k in keys:  # a run too short to validate still leaves weights to load
                if not file("best", k).exists():
                    save_checkpoint(file("best", k), weights(k, raw[k].state_dict(), done))
        log.close()
        return summary
    finally:
        stop_processes(procs)
