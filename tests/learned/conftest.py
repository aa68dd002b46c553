"""Fixtures of the training tests: small REDS-style folders made from the bundled sample (no shared data)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")


def make_reds_folder(root, tiles, *, size: int = 48, frames: int = 41, gain: float = 60.0, seed: int = 0,
                     drift: float = 0.2):
    """A REDS-style folder ``root/spike/tNN.dat`` + ``root/gt/tNN.png`` of ``size`` x ``size`` tiles of the
    bundled sample's GT image (``tiles``: top-left corners), each drifting ``drift`` px/frame and fired by
    a camera of ``gain`` e- per readout at intensity 1 (REDS: 60); the GT is the middle frame."""
    import cv2
    from PIL import Image

    from spikevision import write_dat
    from spikevision.samples import sample
    from spikevision.sim import CameraSettings, fire

    img = np.asarray(Image.open(sample().gt).convert("L"), np.float32) / 255.0
    (root / "spike").mkdir(parents=True, exist_ok=True)
    (root / "gt").mkdir(exist_ok=True)
    cam = CameraSettings(threshold=100.0, gain=gain, random_init=True)
    for i, (y, x) in enumerate(tiles):
        seq = []
        for t in range(frames):
            d = drift * (t - frames // 2)
            m = np.float32([[1, 0, x + d], [0, 1, y + 0.5 * d]])
            seq.append(cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                      borderMode=cv2.BORDER_REFLECT))
        seq = np.stack(seq)
        write_dat(root / "spike" / f"t{i:02d}.dat", fire(seq, settings=cam, seed=seed + i))
        Image.fromarray(np.round(seq[frames // 2] * 255).astype(np.uint8)).save(root / "gt" / f"t{i:02d}.png")
    return root


@pytest.fixture(scope="session")
def reds_folders(tmp_path_factory):
    """``(train, held_out)``: REDS-style folders of 48 x 48 tiles (left and right halves of the sample image)
    seen by a dimmer camera than REDS' (gain 35 instead of 60: the shipped models' images come out too dark)."""
    base = tmp_path_factory.mktemp("reds_tiles")
    ys = (20, 90, 160)
    train = make_reds_folder(base / "train", [(y, x) for y in ys for x in (10, 80, 150)], gain=35.0, seed=0)
    held = make_reds_folder(base / "held_out", [(y, x) for y in ys for x in (230, 300)], gain=35.0, seed=100)
    return train, held
