"""Run the camera model on an input: in memory, chunk by chunk, or straight to a ``.dat`` file.

The inputs and their rules are described in :mod:`spikevision.sim.sources`,
the camera model in :mod:`spikevision.sim.camera`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .._checks import check_memory, check_positive_int
from ..stream import SpikeStream
from .camera import REDS_PRESET, CameraSettings, _check_seed, _check_settings, _Pixels
from .sources import IntensityPlan, plan_source

__all__ = ["simulate", "iter_spikes", "simulate_to_dat", "DEFAULT_CHUNK"]

#: Frames produced per chunk: bounds the memory of the streaming paths.
DEFAULT_CHUNK = 256


def _run(plan: IntensityPlan, settings: CameraSettings, seed: int, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_frame, spikes)`` with ``spikes`` a bool ``(n, H*W)`` view of a reused buffer."""
    p = plan.height * plan.width
    px = _Pixels(settings, p, seed)
    buf = np.empty((chunk, p), np.bool_)
    f = plan.frames_per_image
    total = plan.n_frames
    keys = plan.key_images()
    try:
        cur = px.key(next(keys))
    except StopIteration:
        raise ValueError("the input has no images") from None
    nxt = _next_key(px, keys)
    t = 0  # next frame to produce
    pos = 0  # frames in buf
    k = 0  # segment index: frames [k*f, (k+1)*f) go from key image k to k+1
    while total is None or t < total:
        seg0 = k * f
        if nxt is None:
            seg1 = total if total is not None else seg0 + f
        else:
            seg1 = seg0 + f if total is None else min(seg0 + f, total)
        while t < seg1:
            n = min(seg1 - t, chunk - pos)
            px.ramp_segment(cur, nxt if f > 1 else None, f, t - seg0, t - seg0 + n, buf[pos:pos + n])
            pos += n
            t += n
            if pos == chunk:
                yield t - pos, buf
                pos = 0
        if nxt is None or (total is not None and t >= total):
            break
        cur, nxt = nxt, _next_key(px, keys)
        k += 1
    if pos:
        yield t - pos, buf[:pos]


def _next_key(px: _Pixels, keys: Iterator[np.ndarray]) -> Any:
    img = next(keys, None)
    return None if img is None else px.key(img)


def _attrs(plan: IntensityPlan, settings: CameraSettings, seed: int) -> dict[str, Any]:
    return {
        "simulator": "spikevision.sim (integrate-and-fire, subtract reset)",
        "settings": settings.to_dict(),
        "seed": int(seed),
        "frames_per_image": int(plan.frames_per_image),
        "input": plan.description,
    }


def _prepare(source, settings, n_frames, frames_per_image, seed, height, width, chunk):
    settings = _check_settings(settings)
    seed = _check_seed(seed)
    chunk = check_positive_int(chunk, "chunk")
    plan = source if isinstance(source, IntensityPlan) else plan_source(
        source, n_frames=n_frames, frames_per_image=frames_per_image, height=height, width=width)
    return plan, settings, seed, chunk


def iter_spikes(
    source: Any,
    *,
    settings: CameraSettings = REDS_PRESET,
    n_frames: int | None = None,
    frames_per_image: int | None = None,
    seed: int = 0,
    height: int | None = None,
    width: int | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> Iterator[tuple[int, np.ndarray]]:
    """Simulate chunk by chunk: yield ``(first_frame, spikes)`` with ``spikes`` ``(n, H, W)`` uint8 0/1.

    Same arguments and output bits as :func:`simulate`; memory is bounded by
    ``chunk`` frames (and one or two input images), not by the stream length.
    Each yielded array is a fresh copy the caller may keep.
    """
    plan, settings, seed, chunk = _prepare(source, settings, n_frames, frames_per_image, seed, height, width, chunk)
    for a, spk in _run(plan, settings, seed, chunk):
        yield a, spk.view(np.uint8).reshape(-1, plan.height, plan.width).copy()


def simulate(
    source: Any,
    *,
    settings: CameraSettings = REDS_PRESET,
    n_frames: int | None = None,
    frames_per_image: int | None = None,
    seed: int = 0,
    height: int | None = None,
    width: int | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> SpikeStream:
    """Simulate the spike camera watching ``source``; return the whole stream in memory.

    Parameters
    ----------
    source:
        ``(H, W)`` still image (grey, or ``(H, W, 3|4)`` colour); ``(N, H, W)``
        (or ``(N, H, W, 3|4)``) image sequence; a list of images or image
        paths; a path to an image, video, ``.npy`` file or folder of images; or
        a callable ``t -> (H, W)`` intensity with ``t`` in spike frames. Value,
        colour and timing rules: :mod:`spikevision.sim.sources`.
    settings:
        Camera parameters (default :data:`~spikevision.sim.REDS_PRESET`).
    n_frames:
        Frames to simulate. Default: 1000 for a still image, ``N * F`` for a
        sequence of ``N`` images; required for a callable.
    frames_per_image:
        Spike frames per input image ``F`` (default 20 for sequences and
        videos; 1 for callables, i.e. sampled at every frame). Between images
        the intensity is linear in time.
    seed:
        Seed of every random draw (bit-identical output for equal inputs).
    height, width:
        Resize the input to this size (one of them keeps the aspect ratio).
    chunk:
        Frames per internal chunk (memory only; the result does not depend on it).

    Returns
    -------
    SpikeStream
        ``(T, H, W)`` uint8 spikes at ``settings.rate_hz``; ``attrs`` holds the
        settings (``attrs["settings"]``), seed, frames per image and input.

    Examples
    --------
    >>> import numpy as np
    >>> s = simulate(np.full((8, 8), 0.5), n_frames=400, seed=0)
    >>> s.shape, round(s.mean_rate(), 2)
    ((400, 8, 8), 0.3)
    """
    plan, settings, seed, chunk = _prepare(source, settings, n_frames, frames_per_image, seed, height, width, chunk)
    h, w = plan.height, plan.width
    if plan.n_frames is not None:
        # Refused before any work: a request larger than memory would otherwise run for hours, then fail.
        check_memory(plan.n_frames * h * w, f"simulating {plan.n_frames} frames of {h}x{w} in memory")
        out = np.empty((plan.n_frames, h * w), np.uint8)
        t = 0
        for a, spk in _run(plan, settings, seed, chunk):
            out[a:a + len(spk)] = spk.view(np.uint8)
            t = a + len(spk)
        out = out[:t].reshape(t, h, w)
    else:
        parts = [spk.view(np.uint8).copy() for _, spk in _run(plan, settings, seed, chunk)]
        out = np.concatenate(parts).reshape(-1, h, w)
    return SpikeStream(out, rate_hz=settings.rate_hz, attrs=_attrs(plan, settings, seed))


def _check_disk(out: Path, nbytes: int, what: str) -> None:
    """Refuse, before any work, a ``.dat`` larger than the free space of the disk that would hold it."""
    import shutil

    folder = out.parent if str(out.parent) else Path(".")
    try:
        free = shutil.disk_usage(folder if folder.exists() else Path(".")).free
    except OSError:  # pragma: no cover - no usable statistics: the write itself will report
        return
    if nbytes > free:
        raise ValueError(f"{out}: {what} need {nbytes / 2**30:.3g} GiB on disk, only {free / 2**30:.3g} GiB are free "
                         f"where it would be written")


def simulate_to_dat(
    source: Any,
    path: str | os.PathLike,
    *,
    settings: CameraSettings = REDS_PRESET,
    n_frames: int | None = None,
    frames_per_image: int | None = None,
    seed: int = 0,
    height: int | None = None,
    width: int | None = None,
    chunk: int = DEFAULT_CHUNK,
    metadata: bool = True,
    progress: bool = False,
) -> Path:
    """Simulate straight into a ``.dat`` file (camera layout), chunk by chunk; return its path.

    Same arguments and bits as :func:`simulate`, but the frames are never held
    whole: memory is bounded by ``chunk`` frames. The file appears atomically
    when complete. With ``metadata=True`` the frame size, length, readout rate
    and the simulation attributes are written next to it as JSON
    (``clip.dat`` → ``clip.json``), since ``.dat`` has no header.
    """
    from ..io.atomic import atomic_group, atomic_open
    from ..io.dat import SIDECAR_FORMAT, DatWriter, _file_stamp
    from ..progress import progress_bar

    plan, settings, seed, chunk = _prepare(source, settings, n_frames, frames_per_image, seed, height, width, chunk)
    out = Path(path)
    if out.suffix.lower() != ".dat":
        raise ValueError(f"simulate_to_dat writes a .dat file; got {out.name!r}")
    h, w = plan.height, plan.width
    if plan.n_frames is not None:
        _check_disk(out, plan.n_frames * ((h * w + 7) // 8), f"{plan.n_frames} frames of {h}x{w}")
    targets = [out, out.with_suffix(".json")] if metadata else [out]
    bar = progress_bar(total=plan.n_frames, desc=f"simulating {out.name}", enabled=progress, unit="frame")
    # The .dat and its sidecar are written as a unit: both to temporary files, renamed together
    # under the folder's lock; the sidecar records the .dat's hash and identity (read_sidecar checks them).
    with atomic_group(targets) as tmps:
        with DatWriter(tmps[0], height=h, width=w) as wr:
            for _, spk in _run(plan, settings, seed, chunk):
                wr.write(spk.reshape(-1, h, w))
                bar.update(len(spk))
        bar.close()
        if metadata:
            meta = {"format": SIDECAR_FORMAT, "data": out.name, "height": h, "width": w, "n_frames": wr.n_frames,
                    "rate_hz": settings.rate_hz, "layout": "spikevision.io.dat (LSB first, rows bottom-to-top)",
                    "file": {"sha256": wr.sha256, **_file_stamp(os.stat(tmps[0]))}, **_attrs(plan, settings, seed)}
            with atomic_open(tmps[1], "w") as fh:
                json.dump(meta, fh, indent=2)
    return out
