"""``reconstruct``, ``export-spikes`` and ``eval recon``: spikes to pictures, and how good they are."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from ..recon.evaluate import EVAL_RATE_RATIO, EVAL_WINDOW
from .options import dat_options, open_stream


#: ``--ensemble`` of ``reconstruct`` and ``eval recon`` (learned methods only).
ENSEMBLE_OPTION = click.option(
    "--ensemble", type=click.Choice(["1", "2", "4", "8"]), default=None,
    callback=lambda ctx, param, value: None if value is None else int(value),
    help="Learned methods: average over this many flips/transposes of the input (K times the time).")


#: ``--weights`` of ``reconstruct`` and ``eval recon`` (learned methods only).
WEIGHTS_OPTION = click.option("--weights", type=click.Path(dir_okay=False, exists=True), default=None,
                              help="Learned methods: a checkpoint written by `spikevision train recon` instead of "
                                   "the shipped weights.")


def _method_kwargs(method: str, *, window: int | None, rate_ratio: float | None, ensemble: int | None = None,
                   weights: str | None = None, threads: int | None = None) -> dict:
    """Options for ``method``: window/rate_ratio/ensemble/weights/threads when given and accepted by the method."""
    from ..recon import method_options

    accepted = method_options(method)
    opts = {}
    for name, value in (("window", window), ("rate_ratio", rate_ratio), ("ensemble", ensemble), ("weights", weights),
                        ("threads", threads)):
        if value is None:
            continue
        if accepted is not None and name not in accepted:
            raise click.UsageError(f"method {method!r} has no {name} option (it accepts {sorted(accepted)})")
        opts[name] = value
    return opts


def _rate_ratio_type(value):
    """``--rate-ratio``: a positive number or ``auto``."""
    from ..recon.exposure import parse_rate_ratio

    try:
        return parse_rate_ratio(value)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from None


#: ``--rate-ratio``: the exposure option of ``reconstruct`` (default auto) and ``eval recon`` (default 0.6).
def rate_ratio_option(default):
    return click.option(
        "--rate-ratio", type=click.STRING, default=str(default), show_default=True, callback=lambda ctx, param, v: _rate_ratio_type(v),
        help="Exposure: firing rate (spikes/frame) shown as white, or 'auto' (estimated from the recording: "
             "the brightest 0.5 % of 9-frame rates; see docs/real-recordings.md). 0.6 is the REDS convention.")


def _out_option(help_text: str, required: bool = False):
    """``-o/--out`` (the one spelling for outputs), with ``--output`` kept as a hidden alias."""
    def deco(f):
        f = click.option("--output", "output_alias", type=click.Path(), default=None, hidden=True,
                         help="Deprecated spelling of --out.")(f)
        return click.option("-o", "--out", "output", type=click.Path(), default=None, help=help_text)(f)
    return deco


def _pick_out(output, output_alias, required: bool = True):
    out = output or output_alias
    if out is None and required:
        raise click.UsageError("missing the output: -o/--out PATH")
    return out


def register(group: click.Group) -> None:
    @group.command(name="reconstruct")
    @click.argument("path", required=False, type=click.Path(dir_okay=False))
    @click.option("--method", "-m", default="tfp", show_default=True,
                  help="Reconstruction method (see --list-methods).")
    @click.option("--at", "at", type=click.IntRange(min=0), default=None, help="Reconstruct this frame.")
    @click.option("--every", type=click.IntRange(min=1), default=None,
                  help="Reconstruct frames 0, K, 2K, ... that have a full window (every=1 on a 301-frame stream "
                       "with a 41-frame window: frames 20..280).")
    @_out_option("Output: .png (one frame), .mp4/.gif (video), .npy, or a folder ending in / (PNG sequence "
                 "frame_000020.png ..., named by frame index).")
    @click.option("--window", type=click.IntRange(min=1), default=None, help="Window length in frames (default 41).")
    @rate_ratio_option("auto")
    @click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
                  help="Video frame rate (.mp4/.gif).")
    @ENSEMBLE_OPTION
    @WEIGHTS_OPTION
    @click.option("--threads", type=click.IntRange(min=1), default=None,
                  help="Learned methods: torch threads (default: the idle cores, or $SPIKEVISION_THREADS).")
    @click.option("--list-methods", is_flag=True, help="List the registered methods and exit.")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON summary (output, frames, rate ratio used).")
    @click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
    @dat_options
    def reconstruct_cmd(path, method, at, every, output, output_alias, window, rate_ratio, fps, ensemble, weights,
                        threads, list_methods, as_json, quiet, height, width, sensor, upright, rate_hz, drop_partial):
        """Turn the spike file PATH into images: one frame (--at T) or a video (--every K).

        \b
        spikevision reconstruct clip.dat --method tfp --at 150 -o f150.png
        spikevision reconstruct clip.dat --method tfi --every 1 -o clip.mp4
        spikevision reconstruct clip.dat --method atfi --every 10 -o frames/
        """
        import numpy as np

        from ..recon import frame_indices, get_method, list_methods as names
        from ..viz import is_folder_output, write_images

        if list_methods:
            for n in names():
                click.echo(f"{n:8s} {get_method(n).description}")
            return
        if path is None:
            raise click.UsageError("missing the spike file PATH")
        if (at is None) == (every is None):
            raise click.UsageError("give exactly one of --at T and --every K")
        output = _pick_out(output, output_alias)
        folder = is_folder_output(output)
        suffix = "/" if folder else Path(output).suffix.lower()
        if not folder and suffix not in (".png", ".mp4", ".gif", ".npy"):
            raise click.UsageError(f"output must end in .png, .mp4, .gif, .npy or / (a folder), got {suffix!r}")
        if suffix == ".png" and every is not None:
            raise click.UsageError("a .png holds one frame: use --at, or write .mp4/.gif/.npy or a folder (frames/)")
        opts = _method_kwargs(method, window=window, rate_ratio=None, ensemble=ensemble, weights=weights,
                              threads=threads)
        with open_stream(path, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                         drop_partial=drop_partial) as s:
            from ..recon import reconstruct
            from ..recon.exposure import resolve_rate_ratio

            from ..recon import method_options

            accepted = method_options(method)
            rr = None
            if accepted is None or "rate_ratio" in accepted:
                rr = resolve_rate_ratio(rate_ratio, s)
                opts["rate_ratio"] = rr
                if rate_ratio == "auto" and not as_json:
                    click.echo(f"exposure: rate ratio {rr:.3f} (auto)", err=True)
            images = reconstruct(s, method=method, at=at, every=every, progress=not quiet, **opts)
            win = opts.get("window", get_method(method).window)
            times = [at] if at is not None else frame_indices(s.n_frames, every=every, window=win).tolist()
            n_frames = s.n_frames
        if every is not None and len(images) == 0:
            raise click.ClickException(f"no frame has a full {win}-frame window: the stream has only {n_frames} frames")
        write_images(output, images, fps=fps, progress=not quiet, indices=np.asarray(times))
        shape = "x".join(map(str, images.shape))
        white = float((np.round(np.asarray(images) * 255) >= 255).mean() * 100)
        if as_json:
            import json as _json

            click.echo(_json.dumps({"output": str(output), "method": method, "frames": times, "shape": list(images.shape),
                                    "rate_ratio": rr, "rate_ratio_mode": "auto" if rate_ratio == "auto" else "fixed",
                                    "white_percent": white}))
        else:
            span = f"frame {at}" if at is not None else (f"frames {times[0]}..{times[-1]} every {every}")
            expo = f"rate ratio {rr:.3f}; " if rr is not None else ""
            click.echo(f"wrote {output} ({shape} float32 -> {suffix.strip('.').strip('/') or 'png folder'}; {span}; "
                       f"{expo}{white:.2f} % of pixels white)", err=True)

    @group.command(name="export-spikes")
    @click.argument("path", type=click.Path(dir_okay=False, exists=True))
    @_out_option("Output: .mp4, .gif, .npy, .png for one frame, or a folder ending in / (PNG sequence).")
    @click.option("--mean", type=click.IntRange(min=1), default=1, show_default=True,
                  help="Average this many frames per output frame (1 = raw binary frames).")
    @click.option("--every", type=click.IntRange(min=1), default=1, show_default=True, help="Output frame stride.")
    @click.option("--start", type=click.IntRange(min=0), default=0, show_default=True, help="First frame.")
    @click.option("--stop", type=click.IntRange(min=0), default=None, help="Stop before this frame (default: end).")
    @click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True)
    @click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
    @dat_options
    def export_spikes_cmd(path, output, output_alias, mean, every, start, stop, fps, quiet,
                          height, width, sensor, upright, rate_hz, drop_partial):
        """Write the spike stream PATH itself as a video: raw frames or a short temporal mean (--mean)."""
        from ..viz import export_spikes

        output = _pick_out(output, output_alias)
        with open_stream(path, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                         drop_partial=drop_partial) as s:
            export_spikes(output, s, mean=mean, every=every, start=start, stop=stop, fps=fps, progress=not quiet)
        click.echo(f"wrote {output}", err=True)

    @click.command(name="recon")
    @click.option("--data", required=True, type=click.Path(file_okay=False, exists=True),
                  help="REDS-style folder (spike/NAME.dat and gt/NAME.png, GT = middle frame) or a dataset "
                       "written by `spikevision synth` (the GT frame nearest the middle).")
    @click.option("--method", "-m", default="tfp", show_default=True, help="Any registered method.")
    @click.option("--window", type=click.IntRange(min=1), default=EVAL_WINDOW, show_default=True,
                  help="Window centred on the GT frame.")
    @rate_ratio_option(EVAL_RATE_RATIO)
    @click.option("--upright", is_flag=True, help=".dat rows stored top-to-bottom.")
    @ENSEMBLE_OPTION
    @WEIGHTS_OPTION
    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
    def eval_recon(data, method, window, rate_ratio, upright, ensemble, weights, as_json):
        """PSNR/SSIM of a reconstruction method on a REDS-style (or synth) folder.

        Default protocol (the community's): the image at the middle frame from a
        41-frame window centred on it, intensity = rate / 0.6 clipped to [0, 1];
        PSNR (data_range=1) and SSIM (Wang et al. 2004, Gaussian sigma=1.5)
        against GT/255.
        """
        from ..datasets import DatasetError
        from ..recon.evaluate import evaluate_folder

        _method_kwargs(method, window=None, rate_ratio=None, ensemble=ensemble, weights=weights)  # usage errors
        try:
            res = evaluate_folder(data, method=method, window=window, rate_ratio=rate_ratio, upright=upright,
                                  progress=not as_json, ensemble=ensemble, weights=weights)
        except DatasetError as exc:
            raise click.UsageError(str(exc)) from exc
        if as_json:
            click.echo(json.dumps(res, indent=1))
            return
        width = max(len("mean"), *(len(f["name"]) for f in res["files"]))
        extra = f", ensemble {res['ensemble']}" if res["ensemble"] else ""
        click.echo(f"method {method}, window {window}, rate_ratio {res['rate_ratio']}{extra}")
        click.echo(f"{'file':{width}s}  {'PSNR dB':>8s}  {'SSIM':>6s}")
        for f in res["files"]:
            p = "inf" if math.isinf(f["psnr"]) else f"{f['psnr']:.2f}"
            click.echo(f"{f['name']:{width}s}  {p:>8s}  {f['ssim']:6.4f}")
        click.echo(f"{'mean':{width}s}  {res['mean']['psnr']:8.2f}  {res['mean']['ssim']:6.4f}")

    group.commands["eval"].add_command(eval_recon)
