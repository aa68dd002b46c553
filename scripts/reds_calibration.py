"""Train the issue's reference model and score it on REDS-style clips.

The reconstruction issue states that a plain ~650 k-parameter U-Net, trained
for 13 minutes on 2 CPU cores on motion-blurred crops of scikit-image's
bundled images simulated at rate 0.6 x intensity, plateaus at about 34 dB on
its held-out REDS-style clips (where TFP scores 28.0). This script trains
that reference model here, under the stated budget, and scores it on a folder
of clips: the held-out clips (fetched by ``scripts/fetch_reds_heldout.py``;
33.42 dB) or the two sample clips (30.40 dB):

    .venv/bin/python scripts/reds_calibration.py --reds /work/data/reds_heldout \
        --minutes 13 --threads 2 --compare cnn,atfi --out /work/runs/reds_calibration.json

Prints (and writes) the plain U-Net's PSNR on the clips next to TFP's
and, when given ``--compare cnn`` (the shipped models), theirs.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def plain_unet(window: int = 41, widths: tuple[int, int, int] = (32, 64, 170)):
    """A plain U-Net (two 3x3 convolutions + ReLU per level, max-pooling, bilinear upsampling, skips)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                             nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            a, b, c = widths
            self.e1, self.e2, self.e3 = block(window, a), block(a, b), block(b, c)
            self.d2, self.d1 = block(c + b, b), block(b + a, a)
            self.out = nn.Conv2d(a, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, w = x.shape[-2:]
            ph, pw = (-h) % 4, (-w) % 4
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
            e1 = self.e1(x)
            e2 = self.e2(F.max_pool2d(e1, 2))
            e3 = self.e3(F.max_pool2d(e2, 2))
            d2 = self.d2(torch.cat([F.interpolate(e3, scale_factor=2, mode="bilinear", align_corners=False), e2], 1))
            d1 = self.d1(torch.cat([F.interpolate(d2, scale_factor=2, mode="bilinear", align_corners=False), e1], 1))
            return self.out(d1)[..., :h, :w]

    return UNet()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reds", required=True, help="REDS-style folder (spike/*.dat + gt/*.png)")
    ap.add_argument("--minutes", type=float, default=13.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compare", default="", help="comma-separated shipped methods to score too (e.g. cnn,atfi)")
    ap.add_argument("--out", default="", help="write the results as JSON here")
    args = ap.parse_args()
    import torch

    from spikevision.metrics import psnr
    from spikevision.recon import reconstruct
    from spikevision.recon.learned.data import ReconDataConfig, make_batch
    from spikevision.datasets import find_recon_items, read_recon_item

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net = plain_unet()
    params = sum(p.numel() for p in net.parameters())
    # the recipe: moving (hence motion-blurred in a spike count) crops of the bundled
    # photos, rate 0.6 x intensity (REDS preset), no key frames, no noise, no procedural textures
    cfg = ReconDataConfig(procedural=0, noisy_fraction=0.0, key_frame_fraction=0.0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(args.seed)
    t0, it = time.time(), 0
    while (time.time() - t0) / 60 < args.minutes:
        spikes, gt, _ = make_batch(rng, 8, cfg)
        pred = net(torch.from_numpy(spikes).float())
        loss = (pred - torch.from_numpy(gt)).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        it += 1
    net.eval()
    clips = [(w[None], g[None, None]) for w, g in (read_recon_item(it, window=41) for it in find_recon_items(args.reds))]
    res = {"params": params, "iterations": it, "minutes": round((time.time() - t0) / 60, 2)}
    with torch.inference_mode():
        res["plain_unet"] = float(np.mean([psnr(np.clip(net(torch.from_numpy(w).float())[0, 0].numpy(), 0, 1), g[0, 0],
                                                data_range=1.0) for w, g in clips]))
    for m in ["tfp"] + [m for m in args.compare.split(",") if m]:
        res[m] = float(np.mean([psnr(np.clip(reconstruct(w[0], method=m, at=w.shape[1] // 2), 0, 1), g[0, 0],
                                     data_range=1.0) for w, g in clips]))
    print(json.dumps(res))
    if args.out:
        from spikevision.io.atomic import atomic_path

        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
