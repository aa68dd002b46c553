"""``train recon``: train the learned reconstructors (and export shipped weights)."""

from __future__ import annotations

import json

import click

from .options import training_options


def register(group: click.Group) -> None:
    @click.command(name="recon")
    @click.option("--model", type=click.Choice(["cnn", "snn"]), required=True, help="Which network to train.")
    @click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
                  help="JSON training config (see configs/recon_*.json).")
    @training_options
    @click.option("--export", "export_name", default=None,
                  help="After training, copy a checkpoint into the package weights as NAME and register its checksum.")
    @click.option("--export-from", type=click.Choice(["best", "average", "last"]), default="best", show_default=True,
                  help="Which checkpoint --export copies (average: the weight average of an average_from run).")
    def train_recon(model, config_path, no_resume, export_name, export_from, **overrides):
        """Train a reconstructor on simulated moving scenes (seeded, resumable, logged)."""
        from ..recon.learned.train import load_config, train

        cfg = load_config(config_path, model=model, **overrides)
        if export_name and export_from == "average" and cfg.average_from is None:
            raise click.UsageError("--export-from average needs average_from in the config")
        summary = train(cfg, resume=not no_resume)
        click.echo(json.dumps(summary))
        if export_name:
            from pathlib import Path

            from ..recon.learned import export_weights

            entry = export_weights(Path(cfg.out_dir) / f"{export_from}.pt", export_name,
                                   description=f"{model} reconstructor, config {config_path}, {summary['iterations']} iterations")
            click.echo(f"exported {export_name}: {entry}")

    group.commands["train"].add_command(train_recon)
