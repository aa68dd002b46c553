"""``demo``: the main job on the bundled sample recording."""

from __future__ import annotations

import json
from pathlib import Path

import click

#: Methods the demo compares, in order; learned ones run only when their extras are installed.
DEMO_METHODS = ("tfp", "tfi", "tfstp", "atfi", "cnn", "snn")


def register(group: click.Group) -> None:
    @group.command()
    @click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default="demo_out", show_default=True,
                  help="Folder for the outputs.")
    def demo(out_dir):
        """Run the main job on the bundled sample: info, every reconstruction method, scores, images.

        Writes one PNG per method, a side-by-side comparison, a video of the
        spike stream reconstructed frame by frame, and results.json (info,
        PSNR/SSIM against the ground truth, NIQE).
        """
        import numpy as np
        from PIL import Image

        from ..io.atomic import atomic_path
        from ..io.dat import read_dat
        from ..metrics import niqe, psnr, ssim
        from ..recon import reconstruct
        from ..samples import sample
        from ..viz import write_png, write_video
        from ..io.stats import stream_info
        from ..recon.learned.api import unavailable_reason

        smp = sample()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        stream = read_dat(smp.dat, height=smp.height, width=smp.width)
        info = stream_info(stream)
        click.echo(f"sample {smp.name}: {info['frames']} frames of {info['height']} x {info['width']}, "
                   f"mean rate {info['mean_rate']:.4f} spikes/pixel/frame")
        click.echo(f"  ({smp.attribution})")
        gt = np.asarray(Image.open(smp.gt).convert("L"), dtype=np.float32) / 255.0
        scores, images, skipped = {}, {}, {}
        click.echo(f"reconstruction at frame {smp.gt_frame} (41-frame window, rate ratio {smp.rate_ratio}):")
        click.echo(f"  {'method':8s} {'PSNR dB':>8s} {'SSIM':>7s} {'NIQE':>7s}")
        for m in DEMO_METHODS:
            why = unavailable_reason(m)
            if why:
                skipped[m] = why
                click.echo(f"  {m:8s} skipped: {why}")
                continue
            img = reconstruct(stream, method=m, at=smp.gt_frame)
            images[m] = img
            scores[m] = {"psnr": psnr(img, gt, data_range=1.0), "ssim": ssim(img, gt, data_range=1.0),
                         "niqe": niqe(img, data_range=1.0)}
            write_png(out / f"{m}.png", img)
            click.echo(f"  {m:8s} {scores[m]['psnr']:8.2f} {scores[m]['ssim']:7.4f} {scores[m]['niqe']:7.2f}")
        panel = np.concatenate([gt] + [images[m] for m in images], axis=1)
        write_png(out / "comparison.png", panel)
        video = reconstruct(stream, method="tfp", every=1, window=9)
        write_video(out / "tfp_window9.mp4", video, fps=15)
        results = {"sample": smp.name, "info": info, "gt_frame": smp.gt_frame, "scores": scores, "skipped": skipped,
                   "outputs": sorted(p.name for p in out.iterdir() if not p.name.startswith("."))}
        with atomic_path(out / "results.json") as tmp:
            tmp.write_text(json.dumps(results, indent=2))
        click.echo(f"comparison (GT, {', '.join(images)}) -> {out / 'comparison.png'}; video -> {out / 'tfp_window9.mp4'}")
        click.echo(f"wrote {out / 'results.json'}")
