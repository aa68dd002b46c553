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
                        help="Where the firing rates do not change between the two windows, set the flow to the "
                             "background's motion (zero, or a moving camera's own motion; static-background "
                             "gate); auto = on for spikeflow, off for the classical methods.")(f)


def _flow_pictures(stream, flows, starts, *, arrows: bool, step: int, max_flow):
    """RGB pictures ``(N, H, W, 3)`` uint8 of the flows: colour wheel + legend, or arrows over the reconstruction."""
    import numpy as np

    from ..viz.flow import flow_arrows, flow_with_legend

    if not arrows:
        return np.stack([flow_with_legend(f, max_flow=max_flow) for f in flows])
    from ..recon import reconstruct

    out = []
    for f, t in zip(flows, starts):
        w = min(41, 2 * min(t, stream.n_frames - 1 - t) + 1)  # TFP's window, shorter near the stream's ends
        img = reconstruct(stream, method="tfp", at=int(t), window=w, rate_ratio="auto")
        out.append(flow_arrows(img, f, step=step))
    return np.stack(out)


def _write_flows(out, suffix: str, flows, pictures, starts, *, fps: float, progress: bool) -> None:
    import numpy as np

    from ..io.atomic import atomic_open, atomic_path

    if suffix == ".flo":
        from ..io.flo import write_flo

        write_flo(out, flows)
    elif suffix == ".npy":
        with atomic_open(out, "wb") as fh:
            np.save(fh, np.asarray(flows, np.float32))
    elif suffix == ".png":
        from PIL import Image

        with atomic_path(out) as tmp:
            Image.fromarray(pictures[0]).save(tmp, format="PNG")
    elif suffix == "/":
        from ..viz import write_png_sequence

        write_png_sequence(out, pictures, indices=starts, prefix="flow_", progress=progress)
    else:
        from ..viz.flow import write_flow_video

        write_flow_video(out, pictures, fps=fps)


def register(group: click.Group) -> None:
    @group.command(name="flow")
    @click.argument("path", type=click.Path(dir_okay=False, exists=True))
    @click.option("--at", "at", type=click.IntRange(min=0), default=None,
                  help="Start frame T of one flow (T -> T+DT). --t0 is the old spelling.")
    @click.option("--t0", "t0_alias", type=click.IntRange(min=0), default=None, hidden=True)
    @click.option("--every", type=click.IntRange(min=1), default=None,
                  help="A flow video: flows starting at frames 0, K, 2K, ... whose windows fit in the stream "
                       "(within --start/--stop).")
    @click.option("--start", type=click.IntRange(min=0), default=0, show_default=True, help="With --every: first frame.")
    @click.option("--stop", type=click.IntRange(min=0), default=None, help="With --every: end frame (exclusive).")
    @click.option("--dt", type=click.IntRange(min=1), default=20, show_default=True, help="Interval in spike frames.")
    @click.option("--method", type=click.Choice(_METHODS), default="spikeflow", show_default=True,
                  help="spikeflow = learned network; classical = TFP + DIS baseline.")
    @click.option("-o", "--out", "out_path", required=True, type=click.Path(),
                  help="One flow: .flo (Middlebury), .npy ((H, W, 2) float32) or .png (colour wheel + legend, or "
                       "arrows with --arrows). With --every: .mp4/.gif (video), .npy ((N, H, W, 2)) or a folder "
                       "ending in / (PNG sequence named by start frame).")
    @click.option("--arrows", is_flag=True,
                  help="PNG/video: draw arrows over the reconstruction (TFP, auto exposure) instead of colours.")
    @click.option("--arrow-step", type=click.IntRange(min=4), default=16, show_default=True,
                  help="--arrows: one arrow every this many pixels.")
    @click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
                  help="Video frame rate.")
    @click.option("--max-flow", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="Colours: magnitude (px) at full colour; default per image (one flow) or the largest over "
                       "the video (--every).")
    @click.option("--weights", default=None,
                  help="spikeflow: a checkpoint written by `spikevision train flow` instead of the shipped weights.")
    @click.option("--threads", type=click.IntRange(min=1), default=None, help="torch threads (spikeflow).")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
    @click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
    @_chain_option
    @_ensemble_option
    @_gate_option
    @_classical_options
    @dat_options
    def flow_cmd(path, at, t0_alias, every, start, stop, dt, method, out_path, arrows, arrow_step, fps, max_flow,
                 weights, threads, as_json, quiet, chain, ensemble, still_gate, recon, preset, height, width, sensor,
                 upright, rate_hz, drop_partial):
        """Estimate the optical flow from frame T to T+DT of a spike file (--at T), or over a range (--every K).

        The flow (pixels, u right, v down) is saved as .flo, .npy or a colour-coded
        .png (Baker et al. colour wheel with its legend in the top-right corner), or
        drawn as arrows (--arrows); a range becomes a video, an .npy stack or a
        folder of PNGs.

        \b
        spikevision flow clip.dat --at 100 --dt 20 -o flow.png
        spikevision flow clip.dat --every 10 --dt 20 -o flow.mp4 --arrows
        """
        from pathlib import Path

        import numpy as np

        from ..flow import estimate_flow, get_flow_method
        from ..progress import progress_bar
        from ..viz import is_folder_output

        if at is not None and t0_alias is not None:
            raise click.UsageError("give --at (or its old spelling --t0), not both")
        at = at if at is not None else t0_alias
        if (at is None) == (every is None):
            raise click.UsageError("give exactly one of --at T (one flow) and --every K (a range)")
        out = Path(out_path)
        folder = is_folder_output(out_path)
        suffix = "/" if folder else out.suffix.lower()
        allowed = (".flo", ".npy", ".png") if every is None else (".mp4", ".gif", ".npy", "/")
        if suffix not in allowed:
            raise click.UsageError(f"output must end in {', '.join(allowed[:-1])} or {allowed[-1]} "
                                   f"{'for one flow' if every is None else 'with --every'}, got {out.name!r}")
        opts = _method_options(method, weights, threads, chain, recon, preset, still_gate, ensemble)
        stream = open_stream(path, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                             drop_partial=drop_partial)
        n = stream.n_frames
        if every is None:
            starts = [at]
        else:
            m = get_flow_method(method)
            hi_stop = n if stop is None else min(stop, n)
            starts = []
            for t in range(0, hi_stop, every):
                lo, hi = m.span(t, dt, opts)
                if t >= start and lo >= 0 and hi <= hi_stop:
                    starts.append(t)
            if not starts:
                raise click.ClickException(
                    f"no flow of dt={dt} fits in frames [{start}, {hi_stop}) of the {n}-frame stream with "
                    f"--method {method}: each needs frames {m.span(0, dt, opts)} relative to its start frame")
        flows = []
        with progress_bar(total=len(starts), desc=f"flow {method}", enabled=not quiet and not as_json,
                          unit="flow") as bar:
            for t in starts:
                flows.append(estimate_flow(stream, t, dt, method=method, **opts))
                bar.update(1)
        flows = np.stack(flows)
        pictures = None
        if suffix in (".png", ".mp4", ".gif", "/"):
            pictures = _flow_pictures(stream, flows, starts, arrows=arrows, step=arrow_step,
                                      max_flow=max_flow if (max_flow or every is None) else
                                      float(np.sqrt((flows ** 2).sum(-1)).max() or 1.0))
        _write_flows(out, suffix, flows if every is not None else flows[0], pictures, starts, fps=fps,
                     progress=not quiet and not as_json)
        mag = np.sqrt((flows ** 2).sum(-1))
        summary = {"path": str(out), "method": method, "at": starts[0] if every is None else None,
                   "starts": starts, "dt": dt, "shape": list(flows.shape[1:] if every is None else flows.shape),
                   "mean_magnitude_px": float(mag.mean()), "max_magnitude_px": float(mag.max())}
        if as_json:
            summary["t0"] = summary["at"]  # the old key, kept for scripts
            click.echo(json.dumps(summary))
        else:
            span = f"t={starts[0]}" if every is None else f"{len(starts)} flows, t={starts[0]}..{starts[-1]}"
            click.echo(f"{out}: {method} flow {flows.shape[1]}x{flows.shape[2]}, {span}, dt={dt}, "
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
