"""Write an independent tracking evaluation set (natural-photo scenes), separate from ``synth-track``.

Nothing here uses :func:`spikevision.sim.objects.track_scene` or the
simulator's scene and texture code: backgrounds are photographs bundled with
scikit-image, objects are patches of other photographs with soft
(anti-aliased) edges, shaped as rounded rectangles or ellipses, each clearly
brighter or darker than the background it crosses; they move with constant
velocity plus a small acceleration (0.15-0.9 px per spike frame), pairs of them
cross (and occlude each other), and about half of the sequences have a
drifting camera (the background and every object shift together). Only the
camera model (integrate-and-fire, spike rate 0.6 x intensity, the REDS
preset) and the file writers are shared with the package.

Usage::

    python scripts/make_track_eval_set.py --out track_eval --seed 2 --sequences 12

writes ``OUT/seq_XXXX/{spikes.dat, spikes.json, gt/gt.txt}`` (250 x 400, 300
frames), the layout ``spikevision eval track --data OUT`` scores.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

BACKGROUNDS = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "camera.png", "motorcycle_right.png",
               "horse.png", "page.png", "brick.png", "grass.png", "gravel.png", "retina.jpg")
OBJECT_TEXTURES = ("coins.png", "moon.png", "hubble_deep_field.jpg", "text.png", "cell.png", "clock_motion.png",
                   "ihc.png", "motorcycle_left.png")


def _load_gray(name: str) -> np.ndarray:
    import skimage.data
    from PIL import Image

    p = Path(skimage.data.__file__).parent / name
    with Image.open(p) as im:
        return np.asarray(im.convert("L"), np.float64) / 255.0


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray((np.clip(img, 0, 1) * 65535).astype(np.uint16).astype(np.int32), mode="I")
    return np.asarray(im.resize((w, h), Image.BICUBIC), np.float64) / 65535.0


def _bilinear(img: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    h, w = img.shape
    y = np.clip(y, 0, h - 1.001)
    x = np.clip(x, 0, w - 1.001)
    y0 = np.floor(y).astype(int)
    x0 = np.floor(x).astype(int)
    fy, fx = y - y0, x - x0
    return ((img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx) * (1 - fy)
            + (img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx) * fy)


class _Object:
    def __init__(self, rng: np.random.Generator, tex: np.ndarray, bright: bool, p0, v, acc, w, h, kind):
        self.w, self.h, self.kind = w, h, kind
        self.p0, self.v, self.acc = np.asarray(p0, float), np.asarray(v, float), np.asarray(acc, float)
        r, c = rng.integers(0, tex.shape[0] - int(h) - 2), rng.integers(0, tex.shape[1] - int(w) - 2)
        patch = tex[r:r + int(h) + 2, c:c + int(w) + 2]
        lo, hi = patch.min(), patch.max()
        patch = (patch - lo) / (hi - lo + 1e-9)
        # brighter or darker than any background value (background lies in [0.22, 0.62])
        self.tex = 0.72 + 0.28 * patch if bright else 0.02 + 0.16 * patch

    def center(self, t: float, cam: np.ndarray) -> np.ndarray:
        return self.p0 + self.v * t + 0.5 * self.acc * t * t + cam

    def alpha(self, yy: np.ndarray, xx: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Soft coverage in [0, 1] of pixel centres (anti-aliased by a 1-px ramp)."""
        dx, dy = xx + 0.5 - c[0], yy + 0.5 - c[1]
        if self.kind == "ellipse":
            r = np.hypot(dx / (self.w / 2), dy / (self.h / 2))
            d = (1 - r) * min(self.w, self.h) / 2
        else:  # rounded rectangle (a car seen from the side or above)
            rad = 0.3 * min(self.w, self.h)
            qx = np.abs(dx) - (self.w / 2 - rad)
            qy = np.abs(dy) - (self.h / 2 - rad)
            outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)
            d = rad - outside
        return np.clip(d + 0.5, 0, 1)


class EvalScene:
    """Renders frames (callable ``t -> (H, W)`` intensity) and ground-truth rows of one sequence."""

    def __init__(self, seed: int, height: int = 250, width: int = 400, n_frames: int = 300):
        rng = np.random.default_rng(seed)
        self.h, self.w, self.n = height, width, n_frames
        drifting = rng.random() < 0.5
        ang = rng.uniform(0, 2 * math.pi)
        sp = rng.uniform(0.01, 0.04) if drifting else 0.0
        self.drift = np.array([sp * math.cos(ang), sp * math.sin(ang)])
        m = int(math.ceil(sp * n_frames)) + 4
        bg = _load_gray(str(rng.choice(BACKGROUNDS)))
        scale = max((height + 2 * m) / bg.shape[0], (width + 2 * m) / bg.shape[1]) * rng.uniform(1.0, 1.5)
        bg = _resize(bg, int(bg.shape[0] * scale) + 1, int(bg.shape[1] * scale) + 1)
        r0 = rng.integers(0, bg.shape[0] - height - 2 * m + 1)
        c0 = rng.integers(0, bg.shape[1] - width - 2 * m + 1)
        bg = bg[r0:r0 + height + 2 * m, c0:c0 + width + 2 * m]
        lo, hi = np.percentile(bg, [1, 99])
        self.bg = 0.22 + 0.40 * np.clip((bg - lo) / (hi - lo + 1e-9), 0, 1)
        self.margin = m
        self.brightness = rng.uniform(0.6, 1.0)
        n_obj = int(rng.integers(2, 5))
        self.objects: list[_Object] = []
        cross = None
        for i in range(n_obj):
            w_o, h_o = rng.uniform(26, 64), rng.uniform(20, 48)
            speed = rng.uniform(0.15, 0.9)
            ang = rng.uniform(0, 2 * math.pi)
            v = np.array([speed * math.cos(ang), speed * math.sin(ang)])
            acc = rng.normal(0, 0.0006, 2)
            if i % 2 == 0:
                cross = np.array([rng.uniform(0.25, 0.75) * width, rng.uniform(0.25, 0.75) * height])
                t_c = rng.uniform(100, 200)
            else:
                t_c = t_c + rng.uniform(-25, 25)  # the pair meets near the same place and time
            # position at t = 0 such that the path passes `cross` at t_c
            p0 = cross - v * t_c - 0.5 * acc * t_c ** 2
            tex = _load_gray(str(rng.choice(OBJECT_TEXTURES)))
            self.objects.append(_Object(rng, tex, bool(rng.random() < 0.5), p0, v, acc, w_o, h_o,
                                        str(rng.choice(["ellipse", "rounded"]))))
        self.order = rng.permutation(n_obj)  # painter's order: last drawn is in front
        self.yy, self.xx = np.mgrid[0:height, 0:width].astype(np.float64)

    def _cam(self, t: float) -> np.ndarray:
        return self.drift * t

    def _layers(self, t: float):
        cam = self._cam(t)
        for k in self.order:
            o = self.objects[k]
            c = o.center(t, cam)
            yield k, o, c, o.alpha(self.yy, self.xx, c)

    def __call__(self, t: float) -> np.ndarray:
        cam = self._cam(t)
        m = self.margin
        img = _bilinear(self.bg, self.yy + m - cam[1], self.xx + m - cam[0])
        for _, o, c, a in self._layers(t):
            ty = (self.yy + 0.5 - (c[1] - o.h / 2)) % (o.tex.shape[0] - 1)
            tx = (self.xx + 0.5 - (c[0] - o.w / 2)) % (o.tex.shape[1] - 1)
            sel = a > 0
            img[sel] = img[sel] * (1 - a[sel]) + _bilinear(o.tex, ty[sel], tx[sel]) * a[sel]
        return (img * self.brightness).astype(np.float32)

    def gt(self, frames) -> np.ndarray:
        rows = []
        for f in frames:
            front = np.full((self.h, self.w), -1)
            full = {}
            for k, o, c, a in self._layers(float(f)):
                inside = a > 0.5
                front[inside] = k
                full[k] = (o, c)
            for k, (o, c) in full.items():
                # the object's whole extent, also outside the image
                corner = (4 - math.pi) * (0.3 * min(o.w, o.h)) ** 2
                total = math.pi / 4 * o.w * o.h if o.kind == "ellipse" else o.w * o.h - corner
                x0, y0 = c[0] - o.w / 2, c[1] - o.h / 2
                x1, y1 = min(c[0] + o.w / 2, self.w), min(c[1] + o.h / 2, self.h)
                x0, y0 = max(x0, 0.0), max(y0, 0.0)
                if x1 - x0 < 1 or y1 - y0 < 1:
                    continue
                vis = float((front == k).sum()) / total
                rows.append((int(f) + 1, int(k) + 1, x0, y0, x1 - x0, y1 - y0, 1.0 if vis >= 0.25 else 0.0, 1.0,
                             min(vis, 1.0), -1.0))
        return np.asarray(rows, np.float64).reshape(-1, 10)


def main() -> None:
    from spikevision.sim import REDS_PRESET
    from spikevision.sim.objects import write_track_sequence

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--seed", type=int, default=2, help="seed of the whole set")
    ap.add_argument("--sequences", type=int, default=12)
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args()
    ss = np.random.SeedSequence(args.seed)
    for k, child in enumerate(ss.spawn(args.sequences)):
        scene_seed, cam_seed = (int(v) for v in child.generate_state(2) % (2 ** 31))
        sc = EvalScene(scene_seed, n_frames=args.frames)
        out = write_track_sequence(sc, Path(args.out) / f"seq_{k:04d}", n_frames=args.frames, gt_every=10,
                                   settings=REDS_PRESET, seed=cam_seed, gt=sc.gt(range(0, args.frames, 10)),
                                   info={"generator": "scripts/make_track_eval_set.py", "scene_seed": scene_seed,
                                         "drift_px_per_frame": sc.drift.tolist(), "brightness": sc.brightness,
                                         "n_objects": len(sc.objects)})
        print(f"wrote {out} ({len(sc.objects)} objects, drift {np.hypot(*sc.drift):.3f} px/frame)")


if __name__ == "__main__":
    main()
