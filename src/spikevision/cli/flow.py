"""``flow`` and ``eval flow``: optical flow from spikes (``train flow`` is in :mod:`.train`)."""

from __future__ import annotations

import json

import click

from .options import dat_options, open_stream

_METHODS = ("spikeflow", "classical", "farneback")
_CHAIN = {"auto": "auto", "on": True, "off": False}
_GATE = {"auto": None, "on": True, "off": False}


def _classical_options(f):
    f = click.option("--recon", default=None, help="classical/farneback: the reconstructor of the two images "
                     "(default tfp; e.g. atfi).")(f)
    from ..flow.classical import DIS_PRESETS

    return click.option("--preset", type=click.Choice(DIS_PRESETS), default=None,
                        help="classical: the DIS preset (default medium; smooth = finest scale, stronger smoothing).")(f)


def _method_options(method: str, weights, threads, chain: str, recon, preset, still_gate: str = "auto",
                    ensemble: str | None = None) -> dict:
    """Options of ``method`` from the command line; a flag for another method is a usage error."""
    gate = {} if _GATE[still_gate] is None else {"still_gate": _GATE[still_gate]}
    if method == "spikeflow":
        if recon or preset:
            raise click.UsageError("--recon and --preset apply to the classical methods only")
        opts = {k: v for k, v in (("weights", weights), ("threads", threads)) if v is not None}
        opts["chain"] = _CHAIN[chain]
        if ensemble:
            opts["ensemble"] = int(ensemble)
        return {**opts, **gate}
    if weights or threads or chain != "auto" or ensemble:
        raise click.UsageError("--weights, --threads, --chain and --ensemble apply to --method spikeflow only")
    if preset and method != "classical":
        raise click.UsageError("--preset applies to --method classical (DIS) only")
    return {**{k: v for k, v in (("recon", recon), ("preset", preset)) if v is not None}, **gate}


def _chain_option(f):
    return click.option("--chain", type=click.Choice(tuple(_CHAIN)), default="auto", show_default=True,
                        help="spikeflow: estimate dt as two chained steps of dt/2 (auto: for dt >= 20 when the "
                             "weights were trained for dt/2).")(f)


def _ensemble_option(f):
    return click.option("--ensemble", type=click.Choice(["1", "2", "4", "8"]), default=None,
                        help="spikeflow: median of the network's estimates on this many flips/transposes of the "
                             "windows (and, for chained intervals, of one-step estimates too); default 2, 1 = a single "
                             "estimate (about half the time).")(f)


def _gate_option(f):
    return click.option("--still-gate", type=click.Choice(tuple(_GATE)), default="auto", show_default=True,
                        help="Zero the flow where the firing rates do not change between the two windows "
                             "(static-background gate); auto = on for spikeflow, off for the classical methods.")(f)


def register(group: click.Group) -> None:
    @group.command(name="flow")
    @click.argument("path", type=click.Path(dir_okay=False, exists=True))
    @click.option("--t0", type=click.IntRange(min=0), required=True, help="Start frame (index into the stream).")
    @click.option("--dt", type=click.IntRange(min=1), default=20, show_default=True, help="Interval in spike frames.")
    @click.option("--method", type=click.Choice(_METHODS), default="spikeflow", show_default=True,
                  help="spikeflow = learned network; classical = TFP + DIS baseline.")
    @click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False),
                  help="Output: .flo (Middlebury), .npy ((H, W, 2) float32) or .png (colour wheel + legend).")
    @click.option("--max-flow", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="PNG: magnitude (px) at full colour; default per-image (the image's largest magnitude).")
    @click.option("--weights", default=None, help="spikeflow: a checkpoint written by `spikevision train flow` instead of the shipped weights.")
    @click.option("--threads", type=click.IntRange(min=1), default=None, help="torch threads (spikeflow).")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
    @_chain_option
    @_ensemble_option
    @_gate_option
    @_classical_options
    @dat_options
    def flow_cmd(path, t0, dt, method, out_path, max_flow, weights, threads, as_json, chain, ensemble, still_gate, recon,
                 preset, height, width, sensor, upright, rate_hz, drop_partial):
        """Estimate the optical flow from frame T0 to T0+DT of a spike file.

        The flow (pixels, u right, v down) is saved as .flo, .npy or a colour-coded
        .png (Baker et al. colour wheel with its legend in the top-right corner).
        """
        from pathlib import Path

        import numpy as np

        from ..flow import estimate_flow

        out = Path(out_path)
        suffix = out.suffix.lower()
        if suffix not in (".flo", ".npy", ".png"):
            raise click.UsageError(f"output must end in .flo, .npy or .png, got {out.name!r}")
        opts = _method_options(method, weights, threads, chain, recon, preset, still_gate, ensemble)
        stream = open_stream(path, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                             drop_partial=drop_partial)
        flow = estimate_flow(stream, t0, dt, method=method, **opts)
        if suffix == ".flo":
            from ..io.flo import write_flo

            write_flo(out, flow)
        elif suffix == ".npy":
            from ..io.atomic import atomic_open

            with atomic_open(out, "wb") as fh:
                np.save(fh, flow)
        else:
            from PIL import Image

            from ..io.atomic import atomic_path
            from ..viz.flow import flow_with_legend

            img = flow_with_legend(flow, max_flow=max_flow)
            with atomic_path(out) as tmp:
                Image.fromarray(img).save(tmp, format="PNG")
        mag = np.sqrt((flow**2).sum(-1))
        summary = {"path": str(out), "method": method, "t0": t0, "dt": dt, "shape": list(flow.shape),
                   "mean_magnitude_px": float(mag.mean()), "max_magnitude_px": float(mag.max())}
        if as_json:
            click.echo(json.dumps(summary))
        else:
            click.echo(f"{out}: {method} flow {flow.shape[0]}x{flow.shape[1]}, t0={t0}, dt={dt}, "
                       f"mean |flow| {summary['mean_magnitude_px']:.3f} px, max {summary['max_magnitude_px']:.3f} px")

    @click.command(name="flow")
    @click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False, exists=True),
                  help="A dataset folder written by `spikevision synth`.")
    @click.option("--dt", type=click.IntRange(min=1), default=20, show_default=True, help="Flow interval in spike frames.")
    @click.option("--method", type=click.Choice(_METHODS), default="spikeflow", show_default=True)
    @click.option("--weights", default=None, help="spikeflow: a checkpoint written by `spikevision train flow` instead of the shipped weights.")
    @click.option("--json", "as_json", is_flag=True, help="Print {'scenes': {name: {aee, po}}, 'mean': {aee, po}} as JSON.")
    @_chain_option
    @_ensemble_option
    @_gate_option
    @_classical_options
    def eval_flow(data_dir, dt, method, weights, as_json, chain, ensemble, still_gate, recon, preset):
        """AEE (px) and PO% (error > 0.5 px and > 5 % of |GT|) per scene and their unweighted mean.

        Pixels outside the GT validity mask (occluded or leaving the view) do not count.
        """
        from ..flow import evaluate_synthetic

        opts = _method_options(method, weights, None, chain, recon, preset, still_gate, ensemble)
        res = evaluate_synthetic(data_dir, dt=dt, method=method, progress=not as_json, **opts)
        if as_json:
            from ..flow import get_flow_method

            shown = {**opts, "still_gate": bool(opts.get("still_gate", get_flow_method(method).still_gate))}
            if method == "spikeflow":
                from ..flow.api import DEFAULT_ENSEMBLE

                shown["ensemble"] = opts.get("ensemble", DEFAULT_ENSEMBLE)
            click.echo(json.dumps({"method": method, "dt": dt, "options": shown,
                                   "scenes": {k: {"aee": v["aee"], "po": v["po"]} for k, v in res["scenes"].items()},
                                   "mean": {"aee": res["mean"]["aee"], "po": res["mean"]["po"]},
                                   "skipped": res["skipped"]}))
            return
        click.echo(f"{'scene':<16} {'AEE (px)':>9} {'PO%':>7} {'flows':>6}")
        for k, v in res["scenes"].items():
            click.echo(f"{k:<16} {v['aee']:>9.3f} {v['po']:>7.2f} {v['flows']:>6d}")
        skipped = f", {res['skipped']} flows skipped" if res["skipped"] else ""
        click.echo(f"{'mean':<16} {res['mean']['aee']:>9.3f} {res['mean']['po']:>7.2f}   "
                   f"({res['mean']['scenes']} scenes, method {method}, dt={dt}{skipped})")

    group.commands["eval"].add_command(eval_flow)
