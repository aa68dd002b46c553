"""``track``, ``synth-track`` and ``eval track``: moving objects in spikes, their ground truth, their scores."""

from __future__ import annotations

import json

import click

from .options import dat_options, open_stream


def _methods() -> list[str]:
    from ..track.api import METHODS

    return sorted(METHODS)


def register(group: click.Group) -> None:
    @group.command(name="track")
    @click.argument("input_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
    @dat_options
    @click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False),
                  help="MOTChallenge text file: frame, id, x, y, w, h, conf, -1, -1, -1 (frame = spike frame + 1).")
    @click.option("--every", type=click.IntRange(min=1), default=10, show_default=True,
                  help="Rows at every K-th spike frame, from frame 0.")
    @click.option("--method", type=click.Choice(_methods()), default="classical", show_default=True,
                  help="Detection + tracking method (learned: a CNN detector, needs torch).")
    @click.option("--weights", default=None,
                  help="Learned method: a checkpoint file (spikevision train track) or registry name instead of the shipped weights.")
    @click.option("--video", "video_path", type=click.Path(dir_okay=False), default=None,
                  help="Also write boxes and ids over a reconstruction (.mp4 or .gif).")
    @click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=25.0, show_default=True,
                  help="Frames per second of the video.")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
    def track_cmd(input_path, height, width, sensor, upright, rate_hz, drop_partial, out_path, every, method,
                  weights, video_path, fps, as_json):
        """Detect and track moving objects in FILE; write their boxes and identities (MOTChallenge rows)."""
        from ..io.mot import write_mot
        from ..track import method_settings, track

        try:
            settings = method_settings(method, weights=weights)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        if video_path is not None and not video_path.lower().endswith((".mp4", ".gif")):
            raise click.UsageError(f"--video must end in .mp4 or .gif, got {video_path!r}")
        with open_stream(input_path, height=height, width=width, sensor=sensor, upright=upright, rate_hz=rate_hz,
                         drop_partial=drop_partial) as stream:
            res = track(stream, method=method, every=every, settings=settings, progress=not as_json)
            write_mot(out_path, res.to_mot())
            if video_path is not None:
                from ..viz import write_video
                from ..viz.tracks import track_video_frames

                write_video(video_path, track_video_frames(stream, res), fps=fps, progress=not as_json)
        summary = {"input": str(input_path), "output": str(out_path), "frames": res.n_frames, "height": res.height,
                   "width": res.width, "every": every, "method": method, "tracks": int(len(res.ids)),
                   "rows": int(len(res.rows)), "detections": int(len(res.detections)),
                   **({"video": str(video_path)} if video_path else {})}
        if as_json:
            click.echo(json.dumps(summary, indent=2))
        else:
            click.echo(f"wrote {out_path}: {summary['tracks']} tracks, {summary['rows']} rows "
                       f"({res.n_frames} frames of {res.height} x {res.width})")

    from .sim import _settings, camera_options

    @group.command(name="synth-track")
    @click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Dataset folder.")
    @click.option("--sequences", "n_sequences", type=click.IntRange(min=1), default=8, show_default=True)
    @click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Dataset seed.")
    @click.option("--height", "-H", type=click.IntRange(min=8), default=250, show_default=True)
    @click.option("--width", "-W", type=click.IntRange(min=8), default=400, show_default=True)
    @click.option("--frames", "n_frames", type=click.IntRange(min=2), default=300, show_default=True)
    @click.option("--gt-every", type=click.IntRange(min=1), default=10, show_default=True,
                  help="Ground-truth rows at every N-th spike frame.")
    @click.option("--objects", "n_objects", type=click.IntRange(min=1), default=None,
                  help="Objects per sequence (default: random 2-4).")
    @click.option("--max-speed", type=click.FloatRange(min=0), default=0.9, show_default=True,
                  help="Fastest object, px per spike frame (speeds are drawn from 0.15 to this).")
    @click.option("--drift", type=click.FloatRange(min=0), default=0.05, show_default=True,
                  help="Fastest camera drift, px per spike frame (half the sequences drift).")
    @click.option("--dim", type=click.FloatRange(min=0, max=1), default=0.2, show_default=True,
                  help="Fraction of dim scenes (brightness 0.15-0.35 instead of --brightness).")
    @click.option("--brightness", nargs=2, type=click.FloatRange(min=0, max=1, min_open=True), default=(0.5, 1.0),
                  show_default=True, help="Range of the scenes' brightness (intensity scale) other than dim ones.")
    @click.option("--object-brightness", nargs=2, type=float, default=None,
                  help="LO HI in (0, 1]: objects' intensity range, independent of the scene brightness, which then "
                       "dims only the background (bright objects over a dark background). Default: objects brighter "
                       "or darker than the background, dimmed with it.")
    @click.option("--size", nargs=2, type=click.FloatRange(min=0, min_open=True), default=(24.0, 64.0),
                  show_default=True, help="Range of the objects' box sides, px.")
    @click.option("--photos", type=click.FloatRange(min=0, max=1), default=0.0, show_default=True,
                  help="Fraction of scenes textured with matplotlib's and scikit-learn's sample photos "
                       "(never scikit-image's, kept for evaluation).")
    @camera_options
    @click.option("--json", "as_json", is_flag=True, help="Print the written folders as JSON.")
    def synth_track(out_dir, n_sequences, seed, height, width, n_frames, gt_every, n_objects, max_speed, drift, dim,
                    brightness, object_brightness, size, photos, preset, threshold, gain, rate_hz, no_random_init, threshold_spread, dark_current, shot_noise,
                    hot_pixels, dead_pixels, as_json):
        """Write tracking sequences: spikes (.dat) + MOTChallenge gt/gt.txt with boxes and identities.

        Objects are textured shapes brighter or darker than the background,
        moving up to --max-speed px per frame; pairs cross (occlusions); half of
        the sequences have a drifting camera. Layout: docs/tracking.md.
        """
        from ..sim.objects import write_track_dataset

        settings = _settings(threshold, gain, rate_hz, no_random_init, threshold_spread, dark_current, shot_noise,
                             hot_pixels, dead_pixels, preset)
        opts = {"height": height, "width": width, "speed": (min(0.15, max_speed), max_speed),
                "drift": (0.0, drift), "dim_fraction": dim, "photo_fraction": photos,
                "size": tuple(size), "brightness": tuple(brightness)}
        if n_objects is not None:
            opts["n_objects"] = n_objects
        if object_brightness is not None:
            lo, hi = object_brightness
            if not (0 < lo <= hi <= 1):
                raise click.BadParameter(f"need 0 < LO <= HI <= 1, got {lo} {hi}", param_hint="--object-brightness")
            opts["object_brightness"] = (lo, hi)
        try:
            seqs = write_track_dataset(out_dir, n_sequences=n_sequences, seed=seed, n_frames=n_frames,
                                       gt_every=gt_every, settings=settings, scene_options=opts,
                                       progress=not as_json)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        if as_json:
            click.echo(json.dumps([str(p) for p in seqs], indent=2))
        else:
            click.echo(f"wrote {len(seqs)} sequences to {out_dir}")

    @click.command(name="track")
    @click.option("--data", required=True, type=click.Path(file_okay=False, exists=True),
                  help="Folder of sequences (SEQ/spikes.dat, SEQ/spikes.json, SEQ/gt/gt.txt) or one sequence.")
    @click.option("--method", type=click.Choice(_methods()), default="classical", show_default=True)
    @click.option("--weights", default=None, help="Learned method: a checkpoint file or registry name.")
    @click.option("--every", type=click.IntRange(min=1), default=10, show_default=True,
                  help="Output stride and scoring stride, spike frames.")
    @click.option("--first", type=click.IntRange(min=0), default=50, show_default=True,
                  help="First scored spike frame (0-based).")
    @click.option("--last", type=click.IntRange(min=0), default=290, show_default=True,
                  help="Last scored spike frame (0-based).")
    @click.option("--json", "as_json", is_flag=True, help="Print all scores as JSON.")
    def eval_track(data, method, weights, every, first, last, as_json):
        """MOTA, IDF1 and HOTA (TrackEval) of a tracking method on sequences with ground truth."""
        from ..track import method_settings
        from ..track.evaluate import evaluate_track_folder

        try:
            res = evaluate_track_folder(data, method=method, every=every, first=first, last=last,
                                        settings=method_settings(method, weights=weights), progress=not as_json)
        except (FileNotFoundError, ValueError) as exc:
            raise click.UsageError(str(exc)) from exc
        if as_json:
            click.echo(json.dumps(res, indent=2))
            return
        for s in res["sequences"]:
            click.echo(f"{s['name']}: MOTA {s['MOTA']:.3f}  IDF1 {s['IDF1']:.3f}  HOTA {s['HOTA']:.3f}  "
                       f"(FP {s['FP']}, FN {s['FN']}, IDSW {s['IDSW']}, {s['gt_boxes']} boxes)")
        c = res["combined"]
        click.echo(f"all {len(res['sequences'])} sequences: MOTA {c['MOTA']:.3f}  IDF1 {c['IDF1']:.3f}  "
                   f"HOTA {c['HOTA']:.3f}  (FP {c['FP']}, FN {c['FN']}, IDSW {c['IDSW']}, {c['gt_boxes']} boxes)")

    group.commands["eval"].add_command(eval_track)
