"""``demo``: the main job on the bundled sample recording."""

from __future__ import annotations

import json
from pathlib import Path

import click

#: Methods the demo compares, in order; learned ones run only when their extras are installed.
DEMO_METHODS = ("tfp", "tfi", "tfstp", "atfi", "cnn", "snn")


def _available(method: str) -> str | None:
    """``None`` if ``method`` can run here, else what is missing and how to install it."""
    if method in ("cnn", "snn"):
        from ..recon.learned import unavailable

        return unavailable(method)
    return None


def register(group: click.Group) -> None:
    @group.command()
    @click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default="demo_out", show_default=True,
                  help="Folder for the outputs.")
    @click.option("--methods", default=",".join(DEMO_METHODS), show_default=True,
                  help="Comma-separated methods to compare.")
    @click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
    def demo(out_dir, methods, quiet):
        """Run the main job on the bundled sample: info, every reconstruction method, scores, images.

        Writes one PNG per method, comparison.png (a labelled grid: the ground
        truth, marked, then every method with its PSNR/SSIM), a video of the
        spike stream reconstructed frame by frame, and results.json (info,
        PSNR/SSIM against the ground truth, NIQE, skipped and failed methods).
        A method that is not installed is skipped with the command that installs
        it; a method that fails is reported and the others still run.
        """
        import numpy as np
        from PIL import Image

        from ..io.atomic import atomic_path
        from ..io.dat import read_dat
        from ..metrics import niqe, psnr, ssim
        from ..recon import reconstruct
        from ..samples import sample
        from ..io.stats import stream_info
        from ..viz import labelled_grid, write_png, write_video

        chosen = [m.strip() for m in methods.split(",") if m.strip()]
        smp = sample()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        stream = read_dat(smp.dat, height=smp.height, width=smp.width)
        info = stream_info(stream)
        click.echo(f"sample {smp.name}: {info['frames']} frames of {info['height']} x {info['width']}, "
                   f"mean rate {info['mean_rate']:.4f} spikes/pixel/frame")
        click.echo(f"  ({smp.attribution})")
        gt = np.asarray(Image.open(smp.gt).convert("L"), dtype=np.float32) / 255.0
        scores, images, skipped, failed = {}, {}, {}, {}
        click.echo(f"reconstruction at frame {smp.gt_frame} (41-frame window, rate ratio {smp.rate_ratio}, the "
                   f"sample's REDS exposure):")
        click.echo(f"  {'method':8s} {'PSNR dB':>8s} {'SSIM':>7s} {'NIQE':>7s}")
        for m in chosen:
            try:
                why = _available(m)
            except Exception as exc:  # noqa: BLE001 - an unknown method or a broken install: report, go on
                why = f"{type(exc).__name__}: {exc}"
            if why:
                skipped[m] = why
                click.echo(f"  {m:8s} skipped: {why}")
                continue
            try:
                img = reconstruct(stream, method=m, at=smp.gt_frame, rate_ratio=smp.rate_ratio)
                sc = {"psnr": psnr(img, gt, data_range=1.0), "ssim": ssim(img, gt, data_range=1.0),
                      "niqe": niqe(img, data_range=1.0)}
                write_png(out / f"{m}.png", img)
            except Exception as exc:  # noqa: BLE001 - one failing method must not lose the others' results
                failed[m] = f"{type(exc).__name__}: {exc}"
                click.echo(f"  {m:8s} FAILED: {failed[m]}")
                continue
            images[m], scores[m] = img, sc
            click.echo(f"  {m:8s} {sc['psnr']:8.2f} {sc['ssim']:7.4f} {sc['niqe']:7.2f}")
        tiles = [(gt, f"ground truth (frame {smp.gt_frame})")] + [
            (images[m], f"{m}: {scores[m]['psnr']:.2f} dB, SSIM {scores[m]['ssim']:.3f}") for m in images]
        grid = labelled_grid(tiles, columns=3, marked=(0,), caption_px=16)
        with atomic_path(out / "comparison.png") as tmp:
            Image.fromarray(grid).save(tmp, format="PNG")
        video_note = ""
        try:
            video = reconstruct(stream, method="tfp", every=1, window=9, rate_ratio=smp.rate_ratio, progress=not quiet)
            write_video(out / "tfp_window9.mp4", video, fps=15, progress=not quiet)
            video_note = f"; video -> {out / 'tfp_window9.mp4'}"
        except Exception as exc:  # noqa: BLE001 - e.g. no video writer installed
            failed["video"] = f"{type(exc).__name__}: {exc}"
            click.echo(f"  video FAILED: {failed['video']}")
        results = {"sample": smp.name, "info": info, "gt_frame": smp.gt_frame, "rate_ratio": smp.rate_ratio,
                   "scores": scores, "skipped": skipped, "failed": failed,
                   "outputs": sorted(p.name for p in out.iterdir() if not p.name.startswith("."))}
        with atomic_path(out / "results.json") as tmp:
            tmp.write_text(json.dumps(results, indent=2))
        click.echo(f"comparison (GT marked, {', '.join(images)}, with scores) -> {out / 'comparison.png'}{video_note}")
        click.echo(f"wrote {out / 'results.json'}")
        if skipped:
            click.echo("to run the skipped methods, install what each line above names, then run the demo again")
