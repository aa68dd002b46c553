"""Score a tracking method on a folder of sequences with ground truth (what ``spikevision eval track`` runs).

Folder layout: :mod:`spikevision.sim.objects` (``SEQ/spikes.dat``,
``SEQ/spikes.json``, ``SEQ/gt/gt.txt``). Protocol: the method runs on the
whole sequence with output stride ``every``; MOTA, IDF1 and HOTA
(:mod:`spikevision.metrics.track`) are computed at spike frames ``first,
first + every, ... <= last`` (0-based; MOTChallenge frame = index + 1), per
sequence and over all sequences together (counts summed).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_positive_int
from .api import DEFAULT_EVERY, TrackSettings, track

__all__ = ["evaluate_track_folder", "EVAL_FIRST", "EVAL_LAST"]

#: Default scored range (0-based spike frames): every ``every``-th frame from 50 to 290.
EVAL_FIRST = 50
EVAL_LAST = 290


def evaluate_track_folder(
    data: str | os.PathLike,
    *,
    method: str = "classical",
    every: int = DEFAULT_EVERY,
    first: int = EVAL_FIRST,
    last: int = EVAL_LAST,
    settings: TrackSettings | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """MOTA / IDF1 / HOTA of ``method`` on every sequence under ``data``.

    Returns ``{"sequences": [{"name", "frames", "seconds", scores...}], "combined": {scores}, "protocol": {...}}``.
    """
    from ..io.dat import read_dat
    from ..io.mot import read_mot
    from ..metrics.track import combine_track_scores, track_scores
    from ..progress import progress_bar
    from ..sim.objects import find_track_sequences

    every = check_positive_int(every, "every")
    first = check_positive_int(first, "first", allow_zero=True)
    last = check_positive_int(last, "last", allow_zero=True)
    if last < first:
        raise ValueError(f"last ({last}) must be >= first ({first})")
    if first % every:
        raise ValueError(f"first ({first}) must be a multiple of every ({every}): rows exist at frames 0, every, ...")
    seqs = find_track_sequences(data)
    frames = list(range(first + 1, last + 2, every))
    per = []
    with progress_bar(total=len(seqs), desc="eval track", enabled=progress, unit="seq") as bar:
        for seq in seqs:
            meta = json.loads((seq / "spikes.json").read_text())
            try:
                h, w = int(meta["height"]), int(meta["width"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{seq / 'spikes.json'}: needs integer 'height' and 'width'") from exc
            gt = read_mot(seq / "gt" / "gt.txt")
            with read_dat(seq / "spikes.dat", height=h, width=w) as stream:
                t0 = time.perf_counter()
                res = track(stream, method=method, every=every, settings=settings)
                dt = time.perf_counter() - t0
                n = stream.n_frames
            sc = track_scores(gt, res.to_mot(), frames=frames, details=True)
            per.append({"name": seq.name, "frames": n, "seconds": dt, **sc})
            bar.update(1)
    combined = combine_track_scores(per)
    for p in per:
        p.pop("raw")
    return {"sequences": per, "combined": combined,
            "protocol": {"method": method, "every": every, "first": first, "last": last,
                         "scored_frames_1based": [frames[0], frames[-1]] if frames else [],
                         "n_sequences": len(per), "data": str(Path(data))},
            "seconds_total": float(np.sum([p["seconds"] for p in per]))}
