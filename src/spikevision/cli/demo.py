"""``demo``: the main job on the bundled sample recording."""

from __future__ import annotations

import json
from pathlib import Path

import click


def register(group: click.Group) -> None:
    @group.command()
    @click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default="demo_out", show_default=True,
                  help="Folder for the outputs.")
    def demo(out_dir):
        """Run the main job on the bundled sample: info, reconstructions and their scores."""
        import numpy as np
        from PIL import Image

        from ..io.atomic import atomic_path
        from ..io.dat import read_dat
        from ..samples import sample
        from .io import stream_info

        smp = sample()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        stream = read_dat(smp.dat, height=smp.height, width=smp.width)
        info = stream_info(stream)
        click.echo(f"sample {smp.name}: {info['frames']} frames of {info['height']} x {info['width']}, "
                   f"mean rate {info['mean_rate']:.4f} ({smp.attribution})")
        gt = np.asarray(Image.open(smp.gt), dtype=np.float32) / 255.0
        img = np.clip(stream.window(smp.gt_frame, 41).mean(axis=0) / smp.rate_ratio, 0, 1)
        psnr = float(10 * np.log10(1.0 / np.mean((img - gt) ** 2)))
        with atomic_path(out / "tfp.png") as tmp:
            Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(tmp, format="PNG")
        results = {"info": info, "psnr": {"tfp": psnr}}
        with atomic_path(out / "results.json") as tmp:
            tmp.write_text(json.dumps(results, indent=2))
        click.echo(f"TFP (41-frame mean / {smp.rate_ratio}) PSNR {psnr:.2f} dB -> {out / 'tfp.png'}")
        click.echo(f"wrote {out / 'results.json'}")
