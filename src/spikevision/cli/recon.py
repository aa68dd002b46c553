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
                   weights: str | None = None) -> dict:
    """Options for ``method``: window/rate_ratio/ensemble/weights when given and accepted by the method."""
    from ..recon import method_options

    accepted = method_options(method)
    opts = {}
    for name, value in (("window", window), ("rate_ratio", rate_ratio), ("ensemble", ensemble), ("weights", weights)):
        if value is None:
            continue
        if accepted is not None and name not in accepted:
            raise click.UsageError(f"method {method!r} has no {name} option (it accepts {sorted(accepted)})")
        opts[name] = value
    return opts


def register(group: click.Group) -> None:
    @group.command(name="reconstruct")
    @click.argument("path", required=False, type=click.Path(dir_okay=False))
    @click.option("--method", "-m", default="tfp", show_default=True,
                  help="Reconstruction method (see --list-methods).")
    @click.option("--at", "at", type=click.IntRange(min=0), default=None, help="Reconstruct this frame.")
    @click.option("--every", type=click.IntRange(min=1), default=None,
                  help="Reconstruct frames 0, K, 2K, ... that have a full window.")
    @click.option("--output", "-o", type=click.Path(dir_okay=False), required=False,
                  help="Output: .png (one frame), .mp4/.gif (video) or .npy.")
    @click.option("--window", type=click.IntRange(min=1), default=None, help="Window length in frames (default 41).")
    @click.option("--rate-ratio", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="Firing rate of intensity 1 (default 0.6, the REDS convention).")
    @click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
                  help="Video frame rate (.mp4/.gif).")
    @ENSEMBLE_OPTION
    @WEIGHTS_OPTION
    @click.option("--list-methods", is_flag=True, help="List the registered methods and exit.")
    @click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
    @dat_options
    def reconstruct_cmd(path, method, at, every, output, window, rate_ratio, fps, ensemble, weights, list_methods, quiet,
                        height, width, sensor, upright, rate_hz, drop_partial):
        """Turn the spike file PATH into images: one frame (--at T) or a video (--every K).

        \b
        spikevision reconstruct clip.dat --sensor vidar --method tfp --at 150 -o f150.png
        spikevision reconstruct clip.dat --sensor vidar --method tfi --every 1 -o clip.mp4
        """
        from ..recon import get_method, list_methods as names
        from ..viz import write_images

        if list_methods:
            for n in names():
                click.echo(f"{n:8s} {get_method(n).description}")
            return
        if path is None:
            raise click.UsageError("missing the spike file PATH")
        if (at is None) == (every is None):
            raise click.UsageError("give exactly one of --at T and --every K")
        if output is None:
            raise click.UsageError("missing --output/-o (.png, .mp4, .gif or .npy)")
        suffix = Path(output).suffix.lower()
        if suffix not in (".png", ".mp4", ".gif", ".npy"):
            raise click.UsageError(f"output must end in .png, .mp4, .gif or .npy, got {suffix!r}")
        if suffix == ".png" and every is not None:
            raise click.UsageError("a .png holds one frame: use --at, or write .mp4/.gif/.npy")
        opts = _method_kwargs(method, window=window, rate_ratio=rate_ratio, ensemble=ensemble, weights=weights)
        with open_stream(path, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                         drop_partial=drop_partial) as s:
            from ..recon import reconstruct

            images = reconstruct(s, method=method, at=at, every=every, progress=not quiet, **opts)
        if every is not None and len(images) == 0:
            raise click.ClickException("no frame has a full window: the stream is shorter than the window")
        write_images(output, images, fps=fps, progress=not quiet)
        shape = "x".join(map(str, images.shape))
        click.echo(f"wrote {output} ({shape} float32 -> {suffix[1:]})", err=True)

    @group.command(name="export-spikes")
    @click.argument("path", type=click.Path(dir_okay=False, exists=True))
    @click.option("--output", "-o", type=click.Path(dir_okay=False), required=True,
                  help="Output: .mp4, .gif, .npy (or .png for one frame).")
    @click.option("--mean", type=click.IntRange(min=1), default=1, show_default=True,
                  help="Average this many frames per output frame (1 = raw binary frames).")
    @click.option("--every", type=click.IntRange(min=1), default=1, show_default=True, help="Output frame stride.")
    @click.option("--start", type=click.IntRange(min=0), default=0, show_default=True, help="First frame.")
    @click.option("--stop", type=click.IntRange(min=0), default=None, help="Stop before this frame (default: end).")
    @click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True)
    @click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
    @dat_options
    def export_spikes_cmd(path, output, mean, every, start, stop, fps, quiet,
                          height, width, sensor, upright, rate_hz, drop_partial):
        """Write the spike stream PATH itself as a video: raw frames or a short temporal mean (--mean)."""
        from ..viz import export_spikes

        with open_stream(path, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                         drop_partial=drop_partial) as s:
            export_spikes(output, s, mean=mean, every=every, start=start, stop=stop, fps=fps, progress=not quiet)
        click.echo(f"wrote {output}", err=True)

    @click.command(name="recon")
    @click.option("--data", required=True, type=click.Path(file_okay=False, exists=True),
                  help="REDS-style folder: spike/NAME.dat and gt/NAME.png (GT = middle frame), or a synth folder.")
    @click.option("--method", "-m", default="tfp", show_default=True, help="Any registered method.")
    @click.option("--window", type=click.IntRange(min=1), default=EVAL_WINDOW, show_default=True,
                  help="Window centred on the GT frame.")
    @click.option("--rate-ratio", type=click.FloatRange(min=0, min_open=True), default=EVAL_RATE_RATIO,
                  show_default=True, help="Firing rate of intensity 1 (methods that take it).")
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
