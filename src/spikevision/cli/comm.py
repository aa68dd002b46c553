"""``comm``: spiking semantic communication (``comm eval``, ``comm send``; training: ``train comm``).

Torch and the ``comm`` package are imported inside the commands only.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .options import dat_options, open_stream

_CHANNELS = ("awgn", "bsc", "bec", "rayleigh", "rayleigh-nocsi")
_METHODS = ("spiking_jscc", "analog_jscc", "separate_ideal", "separate_ldpc")
_WEIGHTS_OPTION = click.option("--weights", type=click.Path(dir_okay=False, exists=True), multiple=True,
                               help="A checkpoint written by `spikevision train comm` (best_snn.pt, best_analog.pt) "
                                    "instead of the shipped code of its kind; repeatable.")


def _save_png(path: str, img) -> Path:
    import numpy as np
    from PIL import Image

    from ..io.atomic import atomic_path

    p = Path(path)
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)
    with atomic_path(p) as tmp:
        Image.fromarray(a).save(tmp, format="PNG")
    return p


def register(group: click.Group) -> None:
    @group.group(name="comm")
    def comm():
        """Send spike-camera content over noisy channels: spiking JSCC vs analog JSCC vs separate coding."""

    @comm.command(name="eval")
    @click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False, exists=True),
                  help="Folder of images (simulated into spike windows) or REDS-style folder (spike/*.dat + gt/*.png).")
    @click.option("--channel", type=click.Choice(_CHANNELS), default="awgn", show_default=True)
    @click.option("--snr", "snr_spec", default="-5:20:5", show_default=True,
                  help="SNRs in dB (per real symbol): start:stop:step (stop included) or a,b,c.")
    @click.option("--bandwidth", default="1/32", show_default=True, help="Real channel uses per pixel.")
    @click.option("--methods", default=",".join(_METHODS), show_default=True, help="Comma-separated methods.")
    @click.option("--sender-method", default="atfi", show_default=True,
                  help="Classical reconstruction at the sender of the separate-coding baseline.")
    @click.option("--max-side", type=click.IntRange(min=16), default=None,
                  help="Resize folder images so the long side is at most this many pixels.")
    @click.option("--seed", type=int, default=0, show_default=True, help="Seed of the camera simulation and channel noise.")
    @click.option("--json", "as_json", is_flag=True, help="Print {\"results\": [...]} as JSON instead of a table.")
    @click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, help="Write a PSNR-vs-SNR PNG.")
    @_WEIGHTS_OPTION
    def comm_eval(data_dir, channel, snr_spec, bandwidth, methods, sender_method, max_side, seed, as_json, plot_path,
                  weights):
        """PSNR/SSIM per SNR for every method, a table (or JSON) and optionally a plot."""
        from ..comm.evaluate import evaluate, load_code, load_samples, parse_snrs, plot_results, results_table

        codes = {}
        for w in weights:
            code = load_code(w)
            codes[code.cfg.kind] = code

        snrs = parse_snrs(snr_spec)
        samples = load_samples(data_dir, seed=seed, max_side=max_side)
        rows = evaluate(samples, channel=channel, snrs=snrs, bandwidth=bandwidth,
                        methods=[m.strip() for m in methods.split(",") if m.strip()],
                        sender_method=sender_method, seed=seed, progress=not as_json, codes=codes)
        if plot_path:
            _save_png(plot_path, plot_results(rows, title=f"{Path(data_dir).name}: {channel}, bandwidth {bandwidth}, "
                                                          f"{len(samples)} images"))
        if as_json:
            click.echo(json.dumps({"results": rows, "samples": [s.name for s in samples]}, indent=1))
        else:
            click.echo(results_table(rows))
            if plot_path:
                click.echo(f"plot written to {plot_path}")

    @comm.command(name="send")
    @click.argument("path", type=click.Path(dir_okay=False, exists=True))
    @click.option("--t", "t", type=click.IntRange(min=0), required=True, help="Centre frame of the 41-frame window.")
    @click.option("--snr", type=float, required=True, help="SNR in dB (per real symbol).")
    @click.option("--channel", type=click.Choice(_CHANNELS), default="awgn", show_default=True)
    @click.option("--method", type=click.Choice(_METHODS), default="spiking_jscc", show_default=True)
    @click.option("--bandwidth", default="1/32", show_default=True, help="Real channel uses per pixel.")
    @click.option("--seed", type=int, default=0, show_default=True, help="Seed of the channel noise.")
    @click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Received image (PNG).")
    @click.option("--weights", type=click.Path(dir_okay=False, exists=True), default=None,
                  help="spiking_jscc / analog_jscc: a checkpoint written by `spikevision train comm` (best_snn.pt ...) "
                       "instead of the shipped weights.")
    @dat_options
    def comm_send(path, t, snr, channel, method, bandwidth, seed, out_path, weights, height, width, sensor, upright,
                  rate_hz, drop_partial):
        """Send the spike window around frame T of PATH over a noisy channel; write the received image."""
        import numpy as np

        from ..comm.api import send

        with open_stream(path, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                         drop_partial=drop_partial) as s:
            if not 20 <= t < s.n_frames - 20:
                raise click.BadParameter(f"--t must leave 20 frames on each side: 20 <= t < {s.n_frames - 20}, got {t}")
            win = np.asarray(s.window(t, 41), np.uint8)
        code = None
        if weights:
            from ..comm.evaluate import load_code

            if method not in ("spiking_jscc", "analog_jscc"):
                raise click.UsageError("--weights applies to --method spiking_jscc or analog_jscc")
            code = load_code(weights)
            want = "snn" if method == "spiking_jscc" else "analog"
            if code.cfg.kind != want:
                raise click.UsageError(f"{weights} holds the {code.cfg.kind!r} code, --method {method} needs {want!r}")
        img = send(win, snr_db=snr, method=method, channel=channel, bandwidth=bandwidth, seed=seed, code=code)
        _save_png(out_path, img)
        click.echo(f"{method} over {channel} at {snr:g} dB -> {out_path}")
