"""Sample sources shared by the tasks: random crops of folders with GT images, windows of unlabeled recordings.

Each source draws one sample from a generator (``sample(rng)``) and pickles, so it
runs on DataLoader workers; recordings are memory-mapped and only the window a
sample needs is decoded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["augment", "GTCrops", "RecordingWindows"]


def augment(rng: np.random.Generator, *arrays: np.ndarray) -> list[np.ndarray]:
    """The same random left-right flip, up-down flip and transpose (square crops) of every ``(..., H, W)`` array.

    Only for targets that do not change under these maps (intensity images, not flow)."""
    lr, ud = rng.random() < 0.5, rng.random() < 0.5
    tr = rng.random() < 0.5 and arrays[0].shape[-1] == arrays[0].shape[-2]
    out = []
    for a in arrays:
        if lr:
            a = a[..., ::-1]
        if ud:
            a = a[..., ::-1, :]
        if tr:
            a = np.swapaxes(a, -1, -2)
        out.append(np.ascontiguousarray(a))
    return out


class GTCrops:
    """Random ``patch x patch`` crops of a REDS-style or ``synth`` folder: ``(window, P, P)`` uint8 spikes and the
    ``(1, P, P)`` float32 GT at their centre frame, flipped / transposed at random.

    Every item is checked when the source is made (sizes, window), so a bad folder fails before training starts.
    """

    def __init__(self, path: str, *, patch: int, window: int, upright: bool = False) -> None:
        from ..datasets import DatasetError, find_recon_items, open_recon_item

        self.items = find_recon_items(path, upright=upright)
        self.patch, self.window = int(patch), int(window)
        for it in self.items:
            stream, frame, gt = open_recon_item(it)
            with stream:
                lo = frame - self.window // 2
                if lo < 0 or lo + self.window > stream.n_frames:
                    raise DatasetError(f"{it.spikes}: a {self.window}-frame window centred on frame {frame} does not "
                                       f"fit in its {stream.n_frames} frames")
            if min(gt.shape) < self.patch:
                raise DatasetError(f"{it.gt}: {gt.shape[0]} x {gt.shape[1]} is smaller than the {self.patch}-pixel crops")

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        from ..datasets import open_recon_item

        item = self.items[int(rng.integers(len(self.items)))]
        stream, frame, gt = open_recon_item(item)
        p = self.patch
        y, x = int(rng.integers(gt.shape[0] - p + 1)), int(rng.integers(gt.shape[1] - p + 1))
        with stream:
            win = np.asarray(stream.window(frame, self.window), np.uint8)[:, y:y + p, x:x + p]
        win, g = augment(rng, win, gt[None, y:y + p, x:x + p])
        return win, g.astype(np.float32)


class RecordingWindows:
    """Random ``window``-frame windows (random time, random ``patch`` crop) of unlabeled recordings, ``(window, P, P)``
    uint8: for self-supervised losses."""

    def __init__(self, path: str, *, patch: int, window: int, sensor: str | None = None, upright: bool = False) -> None:
        from ..datasets import find_recordings, open_recording

        self.files = find_recordings(path)
        self.kw: dict[str, Any] = {"sensor": sensor, "upright": upright}
        self.patch, self.window = int(patch), int(window)
        for f in self.files:  # fail early: size unknown, too short, too small
            with open_recording(f, **self.kw) as s:
                if s.n_frames < self.window or min(s.height, s.width) < self.patch:
                    from ..datasets import DatasetError

                    raise DatasetError(f"{f}: {s.n_frames} frames of {s.height} x {s.width} is too small for "
                                       f"{self.window}-frame windows of {self.patch} x {self.patch}")

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        from ..datasets import open_recording

        f = self.files[int(rng.integers(len(self.files)))]
        p, h = self.patch, self.window // 2
        with open_recording(f, **self.kw) as s:
            at = int(rng.integers(h, s.n_frames - self.window + h + 1))
            y, x = int(rng.integers(s.height - p + 1)), int(rng.integers(s.width - p + 1))
            win = np.asarray(s.window(at, self.window), np.uint8)[:, y:y + p, x:x + p]
        return augment(rng, win)[0]
