"""``train recon``: train the learned reconstructors (and export shipped weights)."""

from __future__ import annotations

import json

import click


def register(group: click.Group) -> None:
    @click.command(name="recon")
    @click.option("--model", type=click.Choice(["cnn", "snn"]), required=True, help="Which network to train.")
    @click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
                  help="JSON training config (see configs/recon_*.json).")
    @click.option("--out-dir", default=None, help="Checkpoints and log folder (overrides the config).")
    @click.option("--iterations", type=click.IntRange(min=1), default=None, help="Overrides the config.")
    @click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True), default=None, help="Stop after this wall time.")
    @click.option("--no-resume", is_flag=True, help="Start from scratch even if out-dir has a checkpoint.")
    @click.option("--export", "export_name", default=None,
                  help="After training, copy best.pt into the package weights as NAME and register its checksum.")
    def train_recon(model, config_path, out_dir, iterations, max_minutes, no_resume, export_name):
        """Train a reconstructor on simulated moving scenes (seeded, resumable, logged)."""
        from ..recon.learned.train import load_config, train

        cfg = load_config(config_path, model=model, out_dir=out_dir, iterations=iterations, max_minutes=max_minutes)
        summary = train(cfg, resume=not no_resume)
        click.echo(json.dumps(summary))
        if export_name:
            from pathlib import Path

            from ..recon.learned import export_weights

            entry = export_weights(Path(cfg.out_dir) / "best.pt", export_name,
                                   description=f"{model} reconstructor, config {config_path}, {summary['iterations']} iterations")
            click.echo(f"exported {export_name}: {entry}")

    group.commands["train"].add_command(train_recon)
