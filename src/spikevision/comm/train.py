"""Training of the learned codes: seeded, resumable, logged.

``spikevision comm train --config configs/comm_bw32.json`` runs :func:`train`,
which trains every code listed in ``kinds`` (the spiking JSCC and the analog
reference) on the *same* batches, each with its own optimiser, over AWGN at a
per-sample SNR drawn uniformly from ``snr_range`` (dB). Batch ``i`` is drawn
from a generator seeded by ``(seed, i)`` and the channel noise from a torch
generator seeded the same way, so a resumed run sees exactly the data and
noise an uninterrupted one would. Checkpoints (models, optimisers, iteration,
best scores) go atomically to ``out_dir/last.pt`` every ``checkpoint_every``
iterations; each code's best state by validation PSNR (a fixed synthetic set
from the training images, own seed stream, at ``val_snrs``) to
``out_dir/best_<kind>.pt``; one JSON line per logged step to ``out_dir/log.jsonl``.
``init_from`` (kind -> checkpoint path, e.g. a previous run's ``best_snn.pt``)
starts a new run's codes from other weights (fresh optimisers and schedule).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..training import load_init, resume_into
from ..training import save_torch as _save
from ..training import warmup_cosine
from .data import CommDataConfig, make_batch

__all__ = ["CommTrainConfig", "load_config", "train", "export_code"]


@dataclass(frozen=True)
class CommTrainConfig:
    """Settings of a training run (read from a JSON file; unknown keys are an error)."""

    out_dir: str = "/work/runs/comm/bw32"
    kinds: tuple[str, ...] = ("snn", "analog")
    seed: int = 0
    iterations: int = 3000
    batch: int = 16
    lr: float = 1e-3
    lr_min: float = 5e-5
    warmup: int = 100
    snr_range: tuple[float, float] = (-7.0, 22.0)
    val_snrs: tuple[float, ...] = (-5.0, 0.0, 10.0, 20.0)
    val_samples: int = 32
    threads: int = 1
    log_every: int = 25
    val_every: int = 250
    checkpoint_every: int = 100
    max_minutes: float = 120.0
    anneal_by_time: bool = False
    init_from: dict = field(default_factory=dict)
    code: dict = field(default_factory=lambda: {"symbols_per_position": 8})
    data: CommDataConfig = field(default_factory=CommDataConfig)


def load_config(path: str | Path | None, **overrides: Any) -> CommTrainConfig:
    """Read a JSON config (``None``: defaults), apply non-``None`` overrides."""
    raw: dict[str, Any] = json.loads(Path(path).read_text()) if path else {}
    if not isinstance(raw, dict):
        raise ValueError(f"config {path} must hold a JSON object, got {type(raw).__name__}")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(CommTrainConfig)}
    if set(raw) - known:
        raise ValueError(f"unknown config keys {sorted(set(raw) - known)}; expected some of {sorted(known)}")
    data = raw.pop("data", {}) or {}
    dknown = {f.name for f in fields(CommDataConfig)}
    if set(data) - dknown:
        raise ValueError(f"unknown data config keys {sorted(set(data) - dknown)}; expected some of {sorted(dknown)}")
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    for k in ("kinds", "snr_range", "val_snrs"):
        if k in raw:
            raw[k] = tuple(raw[k])
    bad = (set(raw.get("kinds", ())) | set(raw.get("init_from", {}) or {})) - {"snn", "analog"}
    if bad:
        raise ValueError(f"kinds (and init_from keys) must be drawn from ('snn', 'analog'), got {sorted(bad)}")
    return CommTrainConfig(**raw, data=CommDataConfig(**data))


def _lr(cfg: CommTrainConfig, it: int, minutes: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to ``lr_min`` by the last iteration (or by ``max_minutes``
    of wall time when ``anneal_by_time``, whichever comes first: on a shared machine the
    schedule then still ends annealed, at the price of depending on the machine's speed)."""
    return warmup_cosine(it, lr=cfg.lr, lr_min=cfg.lr_min, warmup=cfg.warmup, iterations=cfg.iterations,
                         min_progress=minutes / cfg.max_minutes if cfg.anneal_by_time else 0.0)


def _psnr(pred: np.ndarray, gt: np.ndarray) -> float:
    mse = float(np.mean((np.clip(pred, 0, 1) - gt) ** 2))
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def validate(code: Any, spikes: np.ndarray, gt: np.ndarray, snrs: tuple[float, ...], seed: int = 0) -> dict[str, float]:
    """Mean PSNR (data range 1) over AWGN at each SNR, fixed noise seed."""
    import torch

    from .channels import AWGN

    code.eval()
    out = {}
    with torch.inference_mode():
        x = torch.from_numpy(spikes).float()
        for s in snrs:
            img = code(x, AWGN(), float(s), generator=torch.Generator().manual_seed(seed)).numpy()
            out[f"{s:g}"] = float(np.mean([_psnr(p, g) for p, g in zip(img, gt)]))
    code.train()
    return out


def train(cfg: CommTrainConfig, *, resume: bool = True, progress: bool = True) -> dict[str, Any]:
    """Train the codes of ``cfg``; returns a summary dict (iterations, best validation PSNRs)."""
    import torch

    from ..progress import progress_bar
    from .channels import AWGN
    from .jscc import build_code
    from .nets import CodeConfig

    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from ..io.atomic import atomic_path

    with atomic_path(out / "config.json") as tmp:
        tmp.write_text(json.dumps(asdict(cfg), indent=2))
    torch.manual_seed(cfg.seed)
    codes = {k: build_code(CodeConfig(kind=k, window=cfg.data.window, **cfg.code)) for k in cfg.kinds}
    opts = {k: torch.optim.Adam(c.parameters(), lr=cfg.lr) for k, c in codes.items()}
    start, best, elapsed0 = 0, {k: -1.0 for k in codes}, 0.0
    last = out / "last.pt"
    if not (resume and last.exists()):  # a new run may start from other weights
        for k, path in (cfg.init_from or {}).items():
            if k in codes:
                load_init(codes[k], path, key="state")
    if resume and last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        try:
            pairs = [p for k in codes for p in ((codes[k], ck["models"][k]), (opts[k], ck["opts"][k]))]
        except KeyError as exc:
            raise ValueError(f"{last} was left by a run with other codes ({exc}); use another out_dir, "
                             "delete it, or start afresh with --no-resume") from exc
        resume_into(last, pairs)
        start, best, elapsed0 = int(ck["iteration"]), dict(ck["best"]), float(ck.get("minutes", 0.0))
    vs, vg = make_batch(np.random.default_rng([cfg.seed, 999_999]), cfg.val_samples, cfg.data)
    t0, it = time.time(), start
    lo, hi = cfg.snr_range
    bar = progress_bar(total=cfg.iterations, desc="comm train", enabled=progress)
    bar.update(start)
    running = {k: [] for k in codes}

    def checkpoint(iteration: int) -> None:
        _save(last, {"iteration": iteration, "best": best, "config": asdict(cfg),
                     "minutes": elapsed0 + (time.time() - t0) / 60,
                     "models": {k: c.state_dict() for k, c in codes.items()},
                     "opts": {k: o.state_dict() for k, o in opts.items()}})

    with open(out / "log.jsonl", "a") as log:
        for it in range(start, cfg.iterations):
            if elapsed0 + (time.time() - t0) / 60 > cfg.max_minutes:
                break
            spikes, gt = make_batch(np.random.default_rng([cfg.seed, it]), cfg.batch, cfg.data)
            x, y = torch.from_numpy(spikes).float(), torch.from_numpy(gt)
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + it)
            snr = lo + (hi - lo) * torch.rand(cfg.batch, generator=gen)
            lr = _lr(cfg, it, elapsed0 + (time.time() - t0) / 60)
            for k, code in codes.items():
                for g in opts[k].param_groups:
                    g["lr"] = lr
                loss = torch.mean((code(x, AWGN(), snr, generator=gen) - y) ** 2)
                opts[k].zero_grad(set_to_none=True)
                loss.backward()
                opts[k].step()
                running[k].append(float(loss.detach()))
            bar.update(1)
            done = it + 1
            if done % cfg.log_every == 0:
                rec = {"it": done, "lr": lr, "minutes": round(elapsed0 + (time.time() - t0) / 60, 2)}
                rec.update({f"psnr_{k}": round(10 * math.log10(1 / max(np.mean(v), 1e-12)), 3) for k, v in running.items()})
                running = {k: [] for k in codes}
                if done % cfg.val_every == 0 or done == cfg.iterations:
                    for k, code in codes.items():
                        v = validate(code, vs, vg, cfg.val_snrs)
                        rec[f"val_{k}"] = v
                        score = float(np.mean(list(v.values())))
                        if score > best[k]:
                            best[k] = score
                            _save(out / f"best_{k}.pt", {"config": CodeConfig(kind=k, window=cfg.data.window, **cfg.code).to_dict(),
                                                         "state": code.state_dict(), "iteration": done, "val": v})
                log.write(json.dumps(rec) + "\n")
                log.flush()
                bar.set_postfix({k: rec[f"psnr_{k}"] for k in codes})
            if done % cfg.checkpoint_every == 0:
                checkpoint(done)
        else:
            it = cfg.iterations
    bar.close()
    final = it
    checkpoint(final)
    for k, code in codes.items():  # the final state counts too
        if not (out / f"best_{k}.pt").exists():
            _save(out / f"best_{k}.pt", {"config": CodeConfig(kind=k, window=cfg.data.window, **cfg.code).to_dict(),
                                         "state": code.state_dict(), "iteration": final, "val": {}})
    return {"iterations": final, "best_val_psnr": best, "minutes": round(elapsed0 + (time.time() - t0) / 60, 2),
            "out_dir": str(out)}


def export_code(checkpoint: str | Path, name: str, *, description: str) -> dict[str, Any]:
    """Copy a ``best_<kind>.pt`` into the package weights as ``<name>.pt`` (float16) and register it."""
    import torch

    from ..weights import _DIR, register_weights

    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in ck["state"].items()}
    dst = Path(_DIR) / f"{name}.pt"
    _save(dst, {"config": ck["config"], "state": state, "iteration": ck.get("iteration"), "val": ck.get("val")})
    return register_weights(name, dst, description=description)
