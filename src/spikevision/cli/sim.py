"""``simulate`` and ``synth``: spike camera simulation and synthetic datasets with ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import click



def _settings(threshold, gain, rate_hz, no_random_init, threshold_spread, dark_current, shot_noise, hot_pixels,
              dead_pixels, preset):
    from ..sim import IDEAL_PRESET, NOISY_PRESET, REDS_PRESET

    base = {"reds": REDS_PRESET, "noisy": NOISY_PRESET, "ideal": IDEAL_PRESET}[preset]
    changes = {k: v for k, v in dict(threshold=threshold, gain=gain, rate_hz=rate_hz, threshold_spread=threshold_spread,
                                     dark_current=dark_current, shot_noise=shot_noise, hot_pixel_fraction=hot_pixels,
                                     dead_pixel_fraction=dead_pixels).items() if v is not None}
    if no_random_init:
        changes["random_init"] = False
    return base.replace(**changes)


def camera_options(func):
    """The camera's physical parameters as options (declared once, shared by both commands)."""
    pos = click.FloatRange(min=0, min_open=True)
    nonneg = click.FloatRange(min=0)
    frac = click.FloatRange(min=0, max=1)
    opts = [
        click.option("--preset", type=click.Choice(["reds", "noisy", "ideal"]), default="reds", show_default=True,
                     help="Starting parameters: REDS calibration (rate 0.6 x intensity, noise-free), "
                          "a noisy sensor, or an ideal one (empty initial accumulators)."),
        click.option("--threshold", type=pos, default=None, help="Firing threshold in e- (REDS: 100)."),
        click.option("--gain", type=pos, default=None, help="e- per readout at intensity 1 (REDS: 60, i.e. rate 0.6 x I)."),
        click.option("--rate", "rate_hz", type=pos, default=None, help="Readout rate in Hz (default 20000)."),
        click.option("--no-random-init", is_flag=True, help="Start every pixel with an empty accumulator."),
        click.option("--threshold-spread", type=nonneg, default=None, help="Per-pixel threshold std / threshold (FPN)."),
        click.option("--dark-current", type=nonneg, default=None, help="Dark current in e- per readout."),
        click.option("--shot-noise/--no-shot-noise", default=None, help="Poisson photon noise (slower)."),
        click.option("--hot-pixels", type=frac, default=None, help="Fraction of pixels firing at every readout."),
        click.option("--dead-pixels", type=frac, default=None, help="Fraction of pixels that never fire."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def register(group: click.Group) -> None:
    @group.command()
    @click.argument("input_path", metavar="INPUT", type=click.Path(exists=True))
    @click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False),
                  help="Output spike file: .dat (streamed, plus OUT.json metadata), or .h5/.npy/.npz (in memory).")
    @click.option("--frames", "n_frames", type=click.IntRange(min=1), default=None,
                  help="Spike frames to simulate (default: 1000 for a still image, images x frames-per-image otherwise).")
    @click.option("--frames-per-image", type=click.IntRange(min=1), default=None,
                  help="Spike frames per video frame / sequence image (default 20); linear in between.")
    @click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed (same seed, same bits).")
    @click.option("--height", "-H", type=click.IntRange(min=1), default=None, help="Resize the input to this height.")
    @click.option("--width", "-W", type=click.IntRange(min=1), default=None, help="Resize the input to this width.")
    @camera_options
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
    def simulate(input_path, out_path, n_frames, frames_per_image, seed, height, width, preset, threshold, gain, rate_hz,
                 no_random_init, threshold_spread, dark_current, shot_noise, hot_pixels, dead_pixels, as_json):
        """Simulate the spike camera watching INPUT (image, video, .npy array or folder of images).

        Colour is converted to luminance (Rec. 601 weights). A still image with
        no --frames gives 1000 frames (50 ms at 20 kHz). The default camera is
        the REDS calibration (spike rate 0.6 x intensity). .dat outputs are
        written chunk by chunk, so long videos never sit in memory.
        """
        from ..sim import simulate as sim_simulate
        from ..sim import simulate_to_dat

        settings = _settings(threshold, gain, rate_hz, no_random_init, threshold_spread, dark_current, shot_noise,
                             hot_pixels, dead_pixels, preset)
        out = Path(out_path)
        kw = dict(settings=settings, n_frames=n_frames, frames_per_image=frames_per_image, seed=seed,
                  height=height, width=width)
        if out.suffix.lower() == ".dat":
            simulate_to_dat(input_path, out, progress=not as_json, **kw)
            from ..io.dat import read_dat

            with read_dat(out, rate_hz=settings.rate_hz) as s:  # size from the sidecar, checked to match
                shape, rate = s.shape, s.mean_rate()
        else:
            from ..io.formats import save

            stream = sim_simulate(input_path, **kw)
            save(out, stream, progress=not as_json)
            shape, rate = stream.shape, stream.mean_rate()
        summary = {"input": str(input_path), "output": str(out), "frames": shape[0], "height": shape[1],
                   "width": shape[2], "rate_hz": settings.rate_hz, "mean_rate": rate, "seed": seed,
                   "settings": settings.to_dict()}
        if as_json:
            click.echo(json.dumps(summary, indent=2))
        else:
            click.echo(f"wrote {out}: {shape[0]} frames of {shape[1]} x {shape[2]}, mean rate {rate:.4f}")

    @group.command()
    @click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Dataset folder.")
    @click.option("--scenes", "n_scenes", type=click.IntRange(min=1), default=10, show_default=True, help="Number of scenes.")
    @click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Dataset seed.")
    @click.option("--height", "-H", type=click.IntRange(min=1), default=256, show_default=True)
    @click.option("--width", "-W", type=click.IntRange(min=1), default=256, show_default=True)
    @click.option("--frames", "n_frames", type=click.IntRange(min=2), default=400, show_default=True,
                  help="Spike frames per scene.")
    @click.option("--gt-every", type=click.IntRange(min=1), default=50, show_default=True,
                  help="GT intensity PNG (and flow start) every N frames.")
    @click.option("--dt", "flow_dts", type=click.IntRange(min=1), multiple=True, default=(10, 20), show_default=True,
                  help="Flow interval in spike frames (repeatable).")
    @click.option("--png-bits", type=click.Choice(["8", "16"]), default="8", show_default=True)
    @click.option("--max-speed", type=click.FloatRange(min=0), default=10.0, show_default=True,
                  help="Largest layer speed, px per 20 frames.")
    @click.option("--layers", "n_layers", type=click.IntRange(min=0), default=None,
                  help="Moving layers per scene (default: random 2-6).")
    @click.option("--low-light", type=click.FloatRange(min=0, max=1), default=0.2, show_default=True,
                  help="Fraction of low-light scenes.")
    @camera_options
    @click.option("--json", "as_json", is_flag=True, help="Print the index as JSON.")
    def synth(out_dir, n_scenes, seed, height, width, n_frames, gt_every, flow_dts, png_bits, max_speed, n_layers,
              low_light, preset, threshold, gain, rate_hz, no_random_init, threshold_spread, dark_current, shot_noise,
              hot_pixels, dead_pixels, as_json):
        """Write a synthetic dataset: spikes (.dat), GT frames (PNG), GT flow (.flo), index.json.

        Layout: docs/synthetic_dataset.md. Every scene is drawn from --seed, so
        the same command writes the same files.
        """
        from ..sim import write_dataset

        settings = _settings(threshold, gain, rate_hz, no_random_init, threshold_spread, dark_current, shot_noise,
                             hot_pixels, dead_pixels, preset)
        opts = {"max_speed": max_speed, "low_light_fraction": low_light}
        if n_layers is not None:
            opts["n_layers"] = n_layers
        idx = write_dataset(out_dir, n_scenes=n_scenes, seed=seed, height=height, width=width, n_frames=n_frames,
                            gt_every=gt_every, flow_dts=tuple(flow_dts), settings=settings, png_bits=int(png_bits),
                            scene_options=opts, progress=not as_json)
        if as_json:
            click.echo(idx.read_text())
        else:
            click.echo(f"wrote {n_scenes} scenes to {out_dir} (index: {idx})")
