"""The small sample recording bundled with spikevision (no download).

``reds_203_part2``: frames 100-200 (101 frames, 250 x 400, camera layout) of
clip ``203_part2_key_id151`` of the REDS spike set as shipped in the spikezoo
package (MIT License, (c) the spikezoo authors; the clips were simulated from
the REDS dataset for Spk2ImgNet). Its ground-truth frame (8-bit PNG) is the
scene at frame 150 of the original clip, i.e. frame 50 of this cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["Sample", "sample"]


@dataclass(frozen=True)
class Sample:
    """Paths and facts of a bundled sample."""

    name: str
    dat: Path
    gt: Path
    height: int
    width: int
    gt_frame: int
    rate_ratio: float
    attribution: str


def sample(name: str = "reds_203_part2") -> Sample:
    """Return the bundled sample ``name`` (only ``"reds_203_part2"`` ships)."""
    if name != "reds_203_part2":
        raise ValueError(f"unknown sample {name!r}; available: ['reds_203_part2']")
    root = Path(str(resources.files("spikevision") / "data"))
    return Sample(
        name=name,
        dat=root / "reds_203_part2_f100-200.dat",
        gt=root / "reds_203_part2_gt_f150.png",
        height=250,
        width=400,
        gt_frame=50,
        rate_ratio=0.6,
        attribution="REDS spike clip 203_part2 from the spikezoo package (MIT License)",
    )
