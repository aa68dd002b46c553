"""Readers for spike optical-flow datasets: the SPIFT / PHM layout and spikevision's synthetic layout.

SPIFT / PHM (SCFlow, Hu et al. CVPR 2022)
-----------------------------------------
Frames of 500 x 800 pixels stored **upright** (row 0 first, unlike the
camera's bottom-to-top ``.dat``), one ``.dat`` per clip and one ``.flo`` per
pair of consecutive clips::

    ROOT/<scene>/spike_dt<dt>/<k>.dat         clip k: spikes centred on time k * dt
    ROOT/<scene>/dt=<dt>/flow/<kkkk>.flo      flow from the centre of clip k to that of clip k+1

The flow is in pixels per ``dt`` spike frames (u right, v down). A pair
exists where both clips and the flow file exist.

Synthetic layout
----------------
Folders written by ``spikevision synth`` (:func:`spikevision.sim.write_dataset`,
documented in ``docs/synthetic_dataset.md``): one ``spikes.dat`` per scene
and ``flow/<t0>_dt<dt>.flo`` + a validity mask per flow. :func:`synthetic_flow_items`
lists the ``(scene, t0, dt)`` triples with their files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

__all__ = ["SPIFT_SIZE", "FlowPair", "find_spift_pairs", "read_spift_pair", "iter_spift_pairs",
           "SyntheticFlowItem", "synthetic_flow_items", "read_synthetic_item"]

#: Frame size ``(H, W)`` of SPIFT and PHM.
SPIFT_SIZE = (500, 800)


@dataclass(frozen=True)
class FlowPair:
    """One SPIFT / PHM sample: two clip files and the flow between their centres."""

    scene: str
    index: int
    dt: int
    clip0: Path
    clip1: Path
    flow: Path


def _check_dt(dt: Any) -> int:
    from .._checks import check_positive_int

    return check_positive_int(dt, "dt")


def find_spift_pairs(root: str | os.PathLike, *, dt: int, scenes: list[str] | None = None) -> list[FlowPair]:
    """All pairs under ``root`` for interval ``dt`` (sorted by scene name, then clip index).

    Raises :class:`FileNotFoundError` if ``root`` is missing and ``ValueError``
    if it holds no pair for that ``dt`` (a wrong ``dt`` or layout must not look
    like an empty dataset).
    """
    dt = _check_dt(dt)
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {base}")
    names = sorted(p.name for p in base.iterdir() if p.is_dir()) if scenes is None else list(scenes)
    pairs = []
    for name in names:
        spk = base / name / f"spike_dt{dt}"
        flo = base / name / f"dt={dt}" / "flow"
        if not spk.is_dir():
            continue
        idx = sorted(int(p.stem) for p in spk.glob("*.dat") if re.fullmatch(r"\d+", p.stem))
        have = set(idx)
        for k in idx:
            f = flo / f"{k:04d}.flo"
            if k + 1 in have and f.is_file():
                pairs.append(FlowPair(name, k, dt, spk / f"{k}.dat", spk / f"{k + 1}.dat", f))
    if not pairs:
        raise ValueError(f"no SPIFT/PHM pairs for dt={dt} under {base}: expected <scene>/spike_dt{dt}/<k>.dat "
                         f"and <scene>/dt={dt}/flow/<kkkk>.flo")
    return pairs


def read_spift_pair(pair: FlowPair, *, height: int = SPIFT_SIZE[0], width: int = SPIFT_SIZE[1]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spikes of both clips ``(T, H, W)`` uint8 (upright) and the flow ``(H, W, 2)`` float32 px."""
    from ..io.dat import read_dat
    from ..io.flo import read_flo

    a = np.asarray(read_dat(pair.clip0, height=height, width=width, upright=True))
    b = np.asarray(read_dat(pair.clip1, height=height, width=width, upright=True))
    flow = read_flo(pair.flow)
    if flow.shape != (height, width, 2):
        raise ValueError(f"{pair.flow} holds a flow of shape {flow.shape}, expected {(height, width, 2)}")
    if a.shape != b.shape:
        raise ValueError(f"clips {pair.clip0.name} and {pair.clip1.name} differ in length: {a.shape[0]} vs {b.shape[0]} frames")
    return a, b, flow


def iter_spift_pairs(root: str | os.PathLike, *, dt: int, **kwargs: Any) -> Iterator[tuple[FlowPair, np.ndarray, np.ndarray, np.ndarray]]:
    """Iterate over ``(pair, clip0, clip1, flow)`` (one pair in memory at a time)."""
    for p in find_spift_pairs(root, dt=dt, scenes=kwargs.pop("scenes", None)):
        yield (p, *read_spift_pair(p, **kwargs))


@dataclass(frozen=True)
class SyntheticFlowItem:
    """One GT flow of a synthetic dataset scene."""

    scene: str
    index: int
    t0: int
    dt: int


def synthetic_flow_items(root: str | os.PathLike, *, dt: int) -> list[SyntheticFlowItem]:
    """The GT flows of interval ``dt`` in a ``spikevision synth`` folder, scene by scene."""
    from ..sim import open_dataset

    dt = _check_dt(dt)
    ds = open_dataset(root)
    if dt not in ds.index.get("flow_dts", []):
        raise ValueError(f"{root} has flows for dt in {ds.index.get('flow_dts')}, not dt={dt}")
    out = []
    for i, sc in enumerate(ds.index["scenes"]):
        for f in ds.meta(i)["flows"]:
            if int(f["dt"]) == dt:
                out.append(SyntheticFlowItem(sc["name"], i, int(f["t0"]), dt))
    return out


def read_synthetic_item(root: str | os.PathLike, item: SyntheticFlowItem) -> tuple[Any, np.ndarray, np.ndarray]:
    """``(stream, flow, valid)`` of one item: the scene's spike stream, GT flow ``(H, W, 2)``, validity ``(H, W)``."""
    from ..sim import open_dataset

    ds = open_dataset(root)
    flow, valid = ds.flow(item.index, item.t0, item.dt)
    return ds.spikes(item.index), flow, valid
