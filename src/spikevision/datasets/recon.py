"""Folders of spike recordings with ground-truth images: the one reader used by ``eval`` and training.

Two layouts are recognised:

REDS-spike style (Spk2ImgNet's spike-REDS, the clips in ``shared/data``)::

    ROOT/spike/NAME.dat     spikes, camera layout (rows bottom-to-top unless upright)
    ROOT/gt/NAME.png        the image at the middle frame (n_frames // 2), 8 or 16 bit grey/RGB

The frame size is the GT's. Both the long clips and the 41-frame ``*_key_idNN``
variant follow the same rule: the GT is at the middle frame.

``spikevision synth`` output (:func:`spikevision.sim.write_dataset`): every
``scene_*/gt/TTTTTT.png`` of every scene is one item, at frame ``TTTTTT`` of the
scene's ``spikes.dat``.

One rule for a spike file without its GT image: a :class:`DatasetError` naming
it. A folder with no pairs, a GT image of another size than the recording and a
recording too short for the window are :class:`DatasetError` too.

>>> items = find_recon_items("data/reds")                 # doctest: +SKIP
>>> window, gt = read_recon_item(items[0], window=41)      # (41, H, W) uint8, (H, W) float32
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DatasetError", "ReconItem", "find_recon_items", "read_gt", "open_recon_item", "read_recon_item",
           "folder_kind"]


class DatasetError(ValueError):
    """A data folder that does not hold what its layout promises (names the folder or file)."""


@dataclass(frozen=True)
class ReconItem:
    """One recording with a GT image: ``frame`` is the GT's frame (``None``: the middle frame)."""

    name: str
    spikes: Path
    gt: Path
    frame: int | None = None
    height: int | None = None
    width: int | None = None
    upright: bool = False


def folder_kind(root: str | os.PathLike) -> str:
    """``"reds"``, ``"synth"``, ``"spift"`` or ``"unlabeled"``: the layout of a data folder (see the module notes)."""
    p = Path(root)
    if not p.is_dir():
        raise FileNotFoundError(f"data folder not found: {p}")
    if (p / "spike").is_dir():
        return "reds"
    if (p / "index.json").is_file():
        return "synth"
    if any(q.is_dir() and any(q.glob("spike_dt*")) for q in p.iterdir()):
        return "spift"
    return "unlabeled"


def find_recon_items(root: str | os.PathLike, *, upright: bool = False) -> list[ReconItem]:
    """The (recording, GT image) items of a REDS-style or ``synth`` folder, sorted by name."""
    p = Path(root)
    kind = folder_kind(p)
    if kind == "synth":
        from ..sim import open_dataset

        ds = open_dataset(p)
        items = []
        for i, sc in enumerate(ds.index["scenes"]):
            m = ds.meta(i)
            d = p / sc["name"]
            for g in m["gt"]:
                items.append(ReconItem(f"{sc['name']}@{g['t']}", d / m["spikes"]["path"], d / g["path"], int(g["t"]),
                                       int(m["spikes"]["height"]), int(m["spikes"]["width"])))
        if not items:
            raise DatasetError(f"{p}: the synth folder holds no GT images")
        return items
    spike_dir, gt_dir = p / "spike", p / "gt"
    if kind != "reds":
        raise DatasetError(f"{p} must hold spike/NAME.dat and gt/NAME.png (REDS layout) or be a `spikevision synth` "
                           "folder (index.json)")
    names = sorted(q.stem for q in spike_dir.glob("*.dat"))
    if not names:
        raise DatasetError(f"{p}: no spike/*.dat files, so no (spikes, GT) pairs")
    missing = [n for n in names if not (gt_dir / f"{n}.png").is_file()]
    if missing:
        raise DatasetError(f"{p}: no ground truth gt/NAME.png for: {', '.join(missing)}")
    return [ReconItem(n, spike_dir / f"{n}.dat", gt_dir / f"{n}.png", upright=upright) for n in names]


def read_gt(path: str | os.PathLike, *, dtype: Any = np.float32) -> np.ndarray:
    """A GT image as ``(H, W)`` ``dtype`` in [0, 1]: 8-bit / 255 or 16-bit / 65535, RGB to grey (ITU-R 601-2 luma)."""
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im)
        if a.ndim == 3:
            a = np.asarray(im.convert("L"))
    if a.dtype == np.uint8:
        return a.astype(dtype) / dtype(255)
    if a.dtype in (np.uint16, np.int32) and a.ndim == 2 and a.max() <= 65535:
        return a.astype(dtype) / dtype(65535)
    raise DatasetError(f"{path}: GT must be an 8- or 16-bit image, got {a.dtype}")


def open_recon_item(item: ReconItem, *, dtype: Any = np.float32) -> tuple[Any, int, np.ndarray]:
    """``(stream, frame, gt)``: the recording (memory-mapped), the GT's frame and the GT ``(H, W)`` in [0, 1]."""
    from ..io.dat import read_dat

    gt = read_gt(item.gt, dtype=dtype)
    h, w = (item.height, item.width) if item.height else gt.shape
    if gt.shape != (h, w):
        raise DatasetError(f"{item.gt}: GT image is {gt.shape[0]} x {gt.shape[1]}, the recording {item.spikes.name} "
                           f"is {h} x {w}")
    try:
        stream = read_dat(item.spikes, height=h, width=w, upright=item.upright)
    except ValueError as exc:
        raise DatasetError(f"{item.spikes}: {exc} (the frame size {h} x {w} is taken from {item.gt.name}: "
                           "is the GT image of the wrong size?)") from exc
    frame = item.frame if item.frame is not None else stream.n_frames // 2
    return stream, frame, gt


def read_recon_item(item: ReconItem, *, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``window`` frames centred on the GT's frame ``(window, H, W)`` uint8 and the GT ``(H, W)`` float32."""
    stream, frame, gt = open_recon_item(item)
    with stream:
        lo = frame - window // 2
        if lo < 0 or lo + window > stream.n_frames:
            raise DatasetError(f"{item.spikes}: a {window}-frame window centred on frame {frame} needs frames "
                               f"[{lo}, {lo + window}), the recording has {stream.n_frames}")
        return np.asarray(stream.window(frame, window), np.uint8), gt
