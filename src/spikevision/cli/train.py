"""``train recon|flow|comm|track``: train or fine-tune a learned model (one command shape for every task).

Torch is imported inside the command only. Under ``torchrun`` every process runs the
command; rank 0 prints the summary and exports.
"""

from __future__ import annotations

import json
import os

import click

_TASKS = ("recon", "flow", "comm", "track")


def _source(spec: str):
    """``--data`` value -> :class:`~spikevision.learned.config.SourceSpec` (``PATH``, ``PATH@W``, ``synthetic[@W]``)."""
    from ..learned.config import SourceSpec

    path, sep, w = spec.rpartition("@")
    if not sep:
        path, w = spec, "1"
    try:
        weight = float(w)
    except ValueError:
        path, weight = spec, 1.0
    if not weight > 0:
        raise click.BadParameter(f"the weight after '@' must be > 0, got {spec!r}", param_hint="--data")
    if path == "synthetic":
        return SourceSpec(kind="synthetic", weight=weight)
    if not os.path.isdir(path):
        raise click.BadParameter(f"{path!r} is not a folder (or 'synthetic')", param_hint="--data")
    return SourceSpec(kind="auto", path=path, weight=weight)


def _command(task: str) -> click.Command:
    @click.command(name=task)
    @click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
                  help=f"Run config (configs/{task}/*.json); default: the task's defaults.")
    @click.option("--data", "data", multiple=True, metavar="DIR[@W]",
                  help="Train on this folder (REDS-style, synth, SPIFT/PHM; repeatable, @W = relative weight; "
                       "'synthetic' = generated scenes). Replaces the config's sources.")
    @click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps (never a silent fall-back).")
    @click.option("--iterations", type=click.IntRange(min=1), default=None, help="Overrides the config.")
    @click.option("--batch", type=click.IntRange(min=1), default=None, help="Global batch (all processes); overrides the config.")
    @click.option("--seed", type=click.IntRange(min=0), default=None, help="Overrides the config.")
    @click.option("--init-from", default=None, help="Start from these weights: a registry name, a checkpoint or a stage's config.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
                  help="Run folder (checkpoints, log); default runs/<config name>.")
    @click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True), default=None, help="Stop after this wall time.")
    @click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads per process for torch.")
    @click.option("--workers", type=click.IntRange(min=0), default=None, help="DataLoader worker processes per process.")
    @click.option("--amp", type=click.Choice(["off", "bf16", "fp16"]), default=None, help="Mixed precision (CUDA only).")
    @click.option("--compile/--no-compile", "compile_", default=None, help="torch.compile the models (overrides the config).")
    @click.option("--no-resume", is_flag=True, help="Start afresh even if the run folder has a last.pt.")
    @click.option("--export", "export_name", default=None,
                  help="After training, copy the chosen checkpoint into the package weights as NAME and register it "
                       "(tasks with several models: NAME contains {model}).")
    @click.option("--export-from", type=click.Choice(["best", "average", "last"]), default="best", show_default=True,
                  help="Which checkpoint --export copies.")
    @click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
    def train_cmd(config_path, data, device, out_dir, no_resume, export_name, export_from, quiet, compile_, **overrides):
        import dataclasses
        from pathlib import Path

        from ..learned import export_weights, fit, get_task, load_config
        from ..learned.fit import default_out

        overrides["compile"] = compile_
        cfg = load_config(config_path, task=task, overrides=overrides)
        if data:
            cfg = dataclasses.replace(cfg, sources=tuple(_source(d) for d in data))
        t = get_task(task)
        if export_name and export_from == "average" and cfg.average_from is None:
            raise click.UsageError("--export-from average needs average_from in the config")
        if export_name and export_from == "last" and t.named_files:
            raise click.UsageError(f"--export-from last: a {task} run's last.pt is for resuming; export best or average")
        out = Path(out_dir) if out_dir else default_out(cfg)
        summary = fit(cfg, out=out, device=device, resume=not no_resume, progress=not quiet)
        if int(os.environ.get("RANK", "0")) != 0:
            return
        click.echo(json.dumps({k: v for k, v in summary.items() if k != "checkpoints"}))
        if export_name:
            keys = list(summary["best"])
            if len(keys) > 1 and "{model}" not in export_name:
                raise click.UsageError(f"this run trains {keys}: --export NAME must contain {{model}}")
            for k in keys:
                name = export_name.replace("{model}", k)
                src = summary["checkpoints"][k][export_from]
                entry = export_weights(src, name, task=task, half=t.export_half, meta=t.export_meta(cfg),
                                       description=f"{task} {k}: config {config_path}, {summary['iterations']} iterations, "
                                                   f"{export_from} checkpoint")
                click.echo(f"exported {name}: {entry}")

    if task == "flow":
        train_cmd = click.option(
            "--unsupervised", is_flag=True, default=None,
            help="Self-supervised: learn from unlabeled recordings (any folder of .dat/.h5/.npy/.npz via --data; "
                 "photometric consistency, smoothness, occlusion masking; no ground truth read).")(train_cmd)
    train_cmd.help = (f"Train or fine-tune the {task} model(s) (seeded, resumable, logged; runs under torchrun).\n\n"
                      f"\b\nspikevision train {task} --config configs/{task}/<name>.json --data DIR --device cuda")
    return train_cmd


def register(group: click.Group) -> None:
    @group.group(name="train")
    def train_group():
        """Train learned models (recon, flow, comm, track) on generated scenes or your own data."""

    for task in _TASKS:
        train_group.add_command(_command(task))
