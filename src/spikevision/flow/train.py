"""Training loop of the spike-flow network: seeded, resumable, logged.

``spikevision train flow --config configs/flow_small.json`` runs :func:`train`.
Samples are random moving scenes (:mod:`.synthetic`: :func:`spikevision.sim.random_scene`
and layered sprites) fired through the camera model, ``size x size`` pixels,
``dt`` drawn from ``dts``, random brightness down to low light, 20 % of them
with sensor noise. Rendering a sample costs more than a training step on a
CPU, so samples go through a replay pool of ``pool`` samples: sample ``k`` is
drawn from a generator seeded by ``(seed, k)``, the pool starts with samples
``0 .. pool-1`` and iteration ``i`` replaces the oldest with sample
``pool + i``; each batch picks ``batch`` pool entries (seeded by ``(seed, i)``)
with a random flip / transpose (the flow transformed alike). A resumed run
rebuilds the pool it had, so it sees exactly the data an uninterrupted one would.
``init_from`` (a checkpoint path) starts a new run from another run's weights,
with a fresh optimiser and schedule; a run's own ``last.pt`` takes precedence.

Loss: the RAFT sequence loss, ``sum_i gamma**(N-1-i) * mean |f_i - f_gt|_1``
over valid pixels; with ``still_gate`` each estimate is first multiplied by the
sample's static-background gate (:data:`.still.TRAINING_GATE`), as at inference, and the
validation AEE is measured the same way. Written to ``out_dir``: ``last.pt`` (model, optimiser,
iteration, best score; every ``checkpoint_every`` iterations, atomically),
``best.pt`` (lowest validation AEE on a fixed held-out synthetic set with its
own seed stream), ``log.jsonl`` (one JSON line per ``log_every`` iterations)
and ``config.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..training import load_init, resume_into
from ..training import save_torch as _save
from ..training import warmup_cosine
from .synthetic import SceneConfig, make_batch, make_sample

__all__ = ["TrainConfig", "load_config", "train", "sequence_loss", "validation_set", "evaluate_aee"]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run (read from a JSON file; unknown keys are an error)."""

    out_dir: str = "runs/flow"
    seed: int = 0
    iterations: int = 6000
    batch: int = 4
    size: int = 96
    dts: tuple[int, ...] = (10, 20)
    lr: float = 4e-4
    lr_min: float = 1e-5
    warmup: int = 100
    weight_decay: float = 1e-5
    gamma: float = 0.8
    threads: int = 1
    log_every: int = 25
    val_every: int = 250
    checkpoint_every: int = 50
    val_samples: int = 24
    max_minutes: float = 60.0
    pool: int = 160
    init_from: str = ""
    model_args: dict = field(default_factory=dict)
    scene: SceneConfig = field(default_factory=SceneConfig)
    #: train and validate on the flow after the static-background gate (:mod:`.still`), as the
    #: learned method returns it: pixels the gate sets to zero do not count in the loss
    still_gate: bool = False


def load_config(path: str | Path | None, **overrides: Any) -> TrainConfig:
    """Read a JSON config (``overrides`` that are not None win); unknown keys raise ``ValueError``."""
    raw: dict[str, Any] = json.loads(Path(path).read_text()) if path else {}
    raw.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    if set(raw) - known:
        raise ValueError(f"unknown config keys {sorted(set(raw) - known)}; expected some of {sorted(known)}")
    scene = raw.pop("scene", {}) or {}
    sknown = {f.name for f in fields(SceneConfig)}
    if set(scene) - sknown:
        raise ValueError(f"unknown scene config keys {sorted(set(scene) - sknown)}; expected some of {sorted(sknown)}")
    scene = {k: tuple(v) if isinstance(v, list) else v for k, v in scene.items()}
    if "dts" in raw:
        raw["dts"] = tuple(int(d) for d in raw["dts"])
    if not isinstance(raw.get("still_gate", False), bool):
        raise ValueError(f"still_gate must be true or false, got {raw['still_gate']!r}")
    return TrainConfig(**raw, scene=SceneConfig(**scene))


def sequence_loss(preds: list[Any], gt: Any, valid: Any, gamma: float = 0.8, gate: Any = None) -> Any:
    """RAFT sequence loss: exponentially weighted mean L1 flow error of every iteration (torch).

    ``gate`` ``(B, H, W)`` (optional) multiplies every prediction first, as the
    static-background gate does at inference.
    """
    if gate is not None:
        preds = [p * gate.unsqueeze(1) for p in preds]
    n = len(preds)
    v = valid.unsqueeze(1).float()
    denom = v.sum().clamp(min=1.0) * 2
    loss = 0.0
    for i, p in enumerate(preds):
        loss = loss + gamma ** (n - 1 - i) * ((p - gt).abs() * v).sum() / denom
    return loss


def validation_set(cfg: TrainConfig) -> list[tuple[np.ndarray, ...]]:
    """Fixed held-out batches ``(w1, w2, flow, valid, init, gate)`` (one per ``dt``), from a seed stream never used
    for training (``gate`` is all ones unless ``cfg.still_gate``)."""
    out = []
    for dt in cfg.dts:
        rng = np.random.default_rng([cfg.seed, 777_777, dt])
        w1, w2, fl, va = make_batch(rng, cfg.val_samples, size=cfg.size, dts=(dt,), window=_window(cfg), cfg=cfg.scene)
        out.append((w1, w2, fl, va, np.stack([_init(cfg, a, b) for a, b in zip(w1, w2)]),
                    np.stack([_gate(cfg, a, b, dt) for a, b in zip(w1, w2)])))
    return out


def _gate(cfg: TrainConfig, w1: np.ndarray, w2: np.ndarray, dt: int) -> np.ndarray:
    """``(H, W)`` float32 static-background gate of one sample (ones when ``cfg.still_gate`` is off)."""
    if not cfg.still_gate:
        return np.ones(w1.shape[1:], np.float32)
    from .still import TRAINING_GATE, still_gate_weight

    return still_gate_weight(w1, w2, dt=dt, gate=TRAINING_GATE)


def _window(cfg: TrainConfig) -> int:
    from .net import FlowNetConfig

    return FlowNetConfig.from_dict(cfg.model_args).frames


def evaluate_aee(model: Any, batches: list[tuple[np.ndarray, ...]], chunk: int = 8) -> list[float]:
    """Mean endpoint error (px) of ``model`` (times each sample's gate) on each validation batch."""
    import torch

    model.eval()
    res = []
    with torch.inference_mode():
        for w1, w2, fl, va, init, gate in batches:
            errs, n = 0.0, 0
            for i in range(0, len(w1), chunk):
                fi = torch.from_numpy(init[i : i + chunk]) if model.cfg.classical_init else None
                p = model(torch.from_numpy(w1[i : i + chunk]).float(), torch.from_numpy(w2[i : i + chunk]).float(),
                          flow_init=fi)[-1] * torch.from_numpy(gate[i : i + chunk]).unsqueeze(1)
                e = torch.linalg.vector_norm(p - torch.from_numpy(fl[i : i + chunk]), dim=1).numpy()
                m = va[i : i + chunk]
                errs += float(e[m].sum())
                n += int(m.sum())
            res.append(errs / max(n, 1))
    model.train()
    return res


def _pool_sample(cfg: TrainConfig, k: int, window: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng([cfg.seed, k])
    dt = int(rng.choice(np.asarray(cfg.dts)))
    w1, w2, fl, va = make_sample(rng, height=cfg.size, width=cfg.size, dt=dt, window=window, cfg=cfg.scene)
    init = _init(cfg, w1, w2)
    return w1, w2, np.ascontiguousarray(fl.transpose(2, 0, 1)), va, init, _gate(cfg, w1, w2, dt)


def _init(cfg: TrainConfig, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """Warm-start flow ``(2, H, W)`` of one sample, as the network config names it (``init_recon``, ``init_preset``)."""
    from .classical import init_flow
    from .net import FlowNetConfig

    net = FlowNetConfig.from_dict(cfg.model_args)
    return np.ascontiguousarray(init_flow(w1, w2, recon=net.init_recon, preset=net.init_preset).transpose(2, 0, 1))


def _augment(rng: np.random.Generator, w1: np.ndarray, w2: np.ndarray, fl: np.ndarray, va: np.ndarray,
             init: np.ndarray, gate: np.ndarray):
    """Random horizontal / vertical flip and transpose, applied to spikes, flows, mask and gate alike."""
    lr, ud = np.array([-1, 1], np.float32)[:, None, None], np.array([1, -1], np.float32)[:, None, None]
    if rng.random() < 0.5:  # left-right: u changes sign
        w1, w2, va, gate = w1[..., ::-1], w2[..., ::-1], va[..., ::-1], gate[..., ::-1]
        fl, init = fl[..., ::-1] * lr, init[..., ::-1] * lr
    if rng.random() < 0.5:  # up-down: v changes sign
        w1, w2, va, gate = w1[:, ::-1], w2[:, ::-1], va[::-1], gate[::-1]
        fl, init = fl[:, ::-1] * ud, init[:, ::-1] * ud
    if rng.random() < 0.5 and w1.shape[1] == w1.shape[2]:  # transpose: u and v swap
        w1, w2, va, gate = w1.transpose(0, 2, 1), w2.transpose(0, 2, 1), va.T, gate.T
        fl, init = fl[::-1].transpose(0, 2, 1), init[::-1].transpose(0, 2, 1)
    c = np.ascontiguousarray
    return c(w1), c(w2), c(fl, dtype=np.float32), c(va), c(init, dtype=np.float32), c(gate, dtype=np.float32)


def _lr(cfg: TrainConfig, it: int) -> float:
    return warmup_cosine(it, lr=cfg.lr, lr_min=cfg.lr_min, warmup=cfg.warmup, iterations=cfg.iterations)


def train(cfg: TrainConfig, *, resume: bool = True, progress: bool = True) -> dict:
    """Run (or resume) a training run; returns ``{"iterations", "best_val_aee", "out_dir"}``."""
    import torch

    from ..progress import progress_bar
    from .net import FlowNetConfig, SpikeFlowNet

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net_cfg = FlowNetConfig.from_dict(cfg.model_args)
    model = SpikeFlowNet(net_cfg)
    window = net_cfg.frames
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start, best = 0, float("inf")
    last = out / "last.pt"
    if cfg.init_from and not (resume and last.exists()):  # a new run starting from another run's weights
        load_init(model, cfg.init_from, new=("change.",))  # a change branch may be added (it starts at zero)
    if resume and last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        resume_into(last, [(model, ck["model"]), (opt, ck["optimizer"])])
        start, best = int(ck["iteration"]), float(ck["best_aee"])
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2, default=list))
    val = validation_set(cfg)
    t_start = time.time()
    # pool holds samples [start, start + pool) (see the module notes), sample k in slot k % pool
    pool: list[Any] = [None] * cfg.pool
    for k in range(start, start + cfg.pool):
        pool[k % cfg.pool] = _pool_sample(cfg, k, window)
    bar = progress_bar(total=cfg.iterations, desc="train flow", enabled=progress, unit="it")
    bar.update(start)
    model.train()
    running, count, done = 0.0, 0, start

    def checkpoint(done: int) -> None:
        _save(last, {"model": model.state_dict(), "model_args": net_cfg.to_dict(), "optimizer": opt.state_dict(),
                     "iteration": done, "best_aee": best})

    with open(out / "log.jsonl", "a") as log:
        for it in range(start, cfg.iterations):
            k = cfg.pool + it
            pool[k % cfg.pool] = _pool_sample(cfg, k, window)
            rng = np.random.default_rng([cfg.seed, it, 1])
            picks = [_augment(rng, *pool[j]) for j in rng.choice(cfg.pool, size=cfg.batch, replace=cfg.batch > cfg.pool)]
            w1, w2, fl, va, init, gate = (np.stack(x) for x in zip(*picks))
            for g in opt.param_groups:
                g["lr"] = _lr(cfg, it)
            preds = model(torch.from_numpy(w1).float(), torch.from_numpy(w2).float(),
                          flow_init=torch.from_numpy(init) if net_cfg.classical_init else None, all_iters=True)
            loss = sequence_loss(preds, torch.from_numpy(fl), torch.from_numpy(va), cfg.gamma,
                                 gate=torch.from_numpy(gate) if cfg.still_gate else None)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            running += float(loss.item())
            count += 1
            bar.update(1)
            done = it + 1
            if done % cfg.log_every == 0 or done == cfg.iterations:
                rec: dict[str, Any] = {"iteration": done, "loss": running / max(count, 1), "lr": _lr(cfg, it),
                                       "minutes": (time.time() - t_start) / 60}
                running, count = 0.0, 0
                if done % cfg.val_every == 0 or done == cfg.iterations:
                    aees = evaluate_aee(model, val)
                    rec.update({f"val_aee_dt{dt}": a for dt, a in zip(cfg.dts, aees)})
                    score = float(np.mean(aees))
                    rec["val_aee"] = score
                    if score < best:
                        best = score
                        _save(out / "best.pt", {"model": model.state_dict(), "model_name": "spikeflow",
                                                "model_args": net_cfg.to_dict(), "iteration": done, "val_aee": score})
                log.write(json.dumps(rec) + "\n")
                log.flush()
                bar.set_postfix({k: f"{v:.3f}" for k, v in rec.items() if k in ("loss", "val_aee")})
            if done % cfg.checkpoint_every == 0 or done == cfg.iterations:
                checkpoint(done)
            if (time.time() - t_start) / 60 > cfg.max_minutes:
                checkpoint(done)
                break
    bar.close()
    return {"iterations": done, "best_val_aee": best, "out_dir": str(out)}
