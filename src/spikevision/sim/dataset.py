"""Export synthetic scenes as a dataset: spikes, GT intensity frames, GT optical flow, index.

Layout (documented in ``docs/synthetic_dataset.md``)::

    DIR/
      index.json                     dataset-wide facts + list of scenes (written last)
      scene_00000/
        meta.json                    the scene: seeds, parameters, files, statistics
        spikes.dat                   (T, H, W) spikes, .dat camera layout (spikevision.io.dat)
        gt/000150.png                intensity at frame 150, grey PNG (8 or 16 bit)
        flow/000150_dt10.flo         forward flow 150 -> 160, Middlebury .flo (u right, v down, px)
        flow/000150_dt10_valid.png   validity mask of that flow (255 valid, 0 occluded / out of view)
      scene_00001/ ...

Intensity = PNG value / (2**bits - 1).

The whole dataset is written as a unit: :func:`write_dataset` builds it in a
hidden temporary folder next to ``DIR`` and swaps it in when complete
(:func:`spikevision.io.atomic.atomic_dir`), so a killed run leaves the old
dataset (or nothing), never a mix; its leftovers are removed by the next run.
``index.json`` records the SHA-256 of every scene's ``meta.json``, and each
``meta.json`` the SHA-256 of its ``spikes.dat``; :func:`open_dataset` checks
them (``verify="hash"`` also re-hashes the spike files).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._checks import SpikeFormatError, check_existing_file, check_positive_int
from .camera import REDS_PRESET, CameraSettings, _check_seed, _check_settings
from .scenes import Scene, random_scene

__all__ = ["DATASET_FORMAT", "write_dataset", "write_scene", "SyntheticDataset", "open_dataset"]

DATASET_FORMAT = "spikevision-synthetic/1"


def _seeds(seed: int, index: int) -> tuple[int, int]:
    """Scene and camera seeds of scene ``index`` (independent streams of the dataset seed)."""
    a, b = np.random.SeedSequence([seed, index]).generate_state(2, np.uint32)
    return int(a), int(b)


def _write_png(path: Path, img: np.ndarray, bits: int) -> None:
    from PIL import Image

    from ..io.atomic import atomic_path

    scale = (1 << bits) - 1
    q = np.clip(np.rint(img.astype(np.float64) * scale), 0, scale).astype(np.uint8 if bits == 8 else np.uint16)
    with atomic_path(path) as tmp:
        Image.fromarray(q).save(tmp, format="PNG")


def _write_json(path: Path, obj: Any) -> None:
    from ..io.atomic import atomic_open

    with atomic_open(path, "w") as fh:
        json.dump(obj, fh, indent=2)


def _times(values: Sequence[Any], name: str, n_frames: int) -> list[int]:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be integers (spike frames), got {v!r}")
        if not 0 <= int(v) < n_frames:
            raise ValueError(f"{name} value {int(v)} is outside the stream's frames [0, {n_frames})")
        out.append(int(v))
    return sorted(set(out))


def write_scene(
    scene: Scene,
    out_dir: str | os.PathLike,
    *,
    n_frames: int,
    gt_times: Sequence[int],
    flow_dts: Sequence[int] = (10, 20),
    settings: CameraSettings = REDS_PRESET,
    seed: int = 0,
    frames_per_image: int = 1,
    png_bits: int = 8,
    extra: dict | None = None,
) -> dict[str, Any]:
    """Write one scene (spikes, GT frames, GT flows, ``meta.json``) into ``out_dir``; return its metadata.

    Flows are written for every ``t0`` in ``gt_times`` and ``dt`` in
    ``flow_dts`` with ``t0 + dt < n_frames``. ``frames_per_image`` > 1 renders
    the scene only every that many frames for the camera (linear in between);
    the GT files are always exact.
    """
    from ..io.flo import write_flo
    from .simulate import simulate_to_dat

    n_frames = check_positive_int(n_frames, "n_frames")
    settings = _check_settings(settings)
    seed = _check_seed(seed)
    if png_bits not in (8, 16):
        raise ValueError(f"png_bits must be 8 or 16, got {png_bits!r}")
    gts = _times(gt_times, "gt_times", n_frames)
    dts = []
    for d in flow_dts:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"flow_dts must be positive integers (spike frames), got {d!r}")
        dts.append(int(d))
    out = Path(out_dir)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    (out / "flow").mkdir(exist_ok=True)

    dat = simulate_to_dat(scene, out / "spikes.dat", settings=settings, n_frames=n_frames,
                          frames_per_image=frames_per_image, seed=seed, metadata=False)
    from ..io.dat import read_dat

    from ..io.dat import file_sha256

    with read_dat(dat, height=scene.height, width=scene.width, rate_hz=settings.rate_hz) as s:
        mean_rate = s.mean_rate()
    spikes_sha256 = file_sha256(dat)

    gt_list = []
    for t in gts:
        img = scene.intensity(float(t))
        rel = f"gt/{t:06d}.png"
        _write_png(out / rel, img, png_bits)
        gt_list.append({"t": t, "path": rel, "mean_intensity": float(img.mean())})
    flows = []
    for t0 in gts:
        for dt in sorted(set(dts)):
            t1 = t0 + dt
            if t1 >= n_frames:
                continue
            flow, valid = scene.flow(float(t0), float(t1))
            rel = f"flow/{t0:06d}_dt{dt}.flo"
            rel_v = f"flow/{t0:06d}_dt{dt}_valid.png"
            write_flo(out / rel, flow)
            _write_png(out / rel_v, valid.astype(np.float32), 8)
            mag = np.hypot(flow[..., 0], flow[..., 1])
            flows.append({"t0": t0, "t1": t1, "dt": dt, "flo": rel, "valid": rel_v,
                          "valid_fraction": float(valid.mean()), "max_magnitude": float(mag.max()),
                          "mean_magnitude": float(mag.mean())})
    meta = {
        "format": DATASET_FORMAT,
        "spikes": {"path": "spikes.dat", "height": scene.height, "width": scene.width, "n_frames": n_frames,
                   "rate_hz": settings.rate_hz, "layout": "spikevision.io.dat (LSB first, rows bottom-to-top)",
                   "mean_rate": mean_rate, "frames_per_image": int(frames_per_image), "sha256": spikes_sha256},
        "camera": {"settings": settings.to_dict(), "seed": seed},
        "png_bits": png_bits,
        "gt": gt_list,
        "flows": flows,
        "scene": scene.describe(),
        **(extra or {}),
    }
    _write_json(out / "meta.json", meta)
    return meta


def write_dataset(
    out_dir: str | os.PathLike,
    *,
    n_scenes: int,
    seed: int = 0,
    height: int = 256,
    width: int = 256,
    n_frames: int = 400,
    gt_times: Sequence[int] | None = None,
    gt_every: int = 50,
    flow_dts: Sequence[int] = (10, 20),
    settings: CameraSettings = REDS_PRESET,
    frames_per_image: int = 1,
    png_bits: int = 8,
    scene_options: dict | None = None,
    progress: bool = False,
) -> Path:
    """Generate ``n_scenes`` random scenes and write them in the dataset layout; return ``index.json``.

    The dataset is built in a hidden temporary folder next to ``out_dir`` and
    replaces it whole when complete (see the module docstring).

    Parameters
    ----------
    out_dir:
        Dataset folder: new, empty, or an earlier dataset (replaced whole). A
        folder holding anything else is refused, so no unrelated file is lost.
    n_scenes, seed:
        Number of scenes; scene ``i`` is ``random_scene(seed=s_i, ...)`` and its
        camera seed ``c_i``, both derived from ``(seed, i)`` and stored in its ``meta.json``.
    height, width, n_frames:
        Size and length (spike frames) of each scene's stream.
    gt_times, gt_every:
        Frames with a GT intensity PNG (default every ``gt_every`` frames,
        ``gt_every, 2 gt_every, ...`` below ``n_frames``); flows start at these frames.
    flow_dts:
        Flow intervals in spike frames (10 and 20 are the field's standard).
    settings:
        Camera settings (default :data:`~spikevision.sim.REDS_PRESET`).
    frames_per_image:
        Render the scene every that many frames for the camera (1 = every frame, exact).
    png_bits:
        8 or 16-bit GT PNGs.
    scene_options:
        Keyword arguments for :func:`~spikevision.sim.random_scene` (variety:
        ``n_layers``, ``max_speed``, ``textures``, ``brightness`` ...).
    progress:
        Show a progress bar over scenes.
    """
    from ..progress import progress_bar

    n_scenes = check_positive_int(n_scenes, "n_scenes")
    seed = _check_seed(seed)
    n_frames = check_positive_int(n_frames, "n_frames")
    settings = _check_settings(settings)
    if gt_times is None:
        gt_every = check_positive_int(gt_every, "gt_every")
        gt_times = list(range(gt_every, n_frames, gt_every)) or [n_frames // 2]
    opts = dict(scene_options or {})
    for k in ("seed", "height", "width"):
        if k in opts:
            raise ValueError(f"scene_options must not set {k!r}; it is a write_dataset argument")
    opts.setdefault("duration", float(n_frames))
    from ..io.atomic import atomic_dir

    final = Path(out_dir)
    _check_replaceable(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(final) as root:
        _write_dataset_into(root, n_scenes=n_scenes, seed=seed, height=height, width=width, n_frames=n_frames,
                            gt_times=gt_times, flow_dts=flow_dts, settings=settings, frames_per_image=frames_per_image,
                            png_bits=png_bits, opts=opts, progress=progress)
    return final / "index.json"


def _check_replaceable(root: Path) -> None:
    """Refuse to replace a folder that holds anything but an earlier dataset."""
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise ValueError(f"dataset folder {root} exists and is not a folder")
    if not root.exists():
        return
    names = [e.name for e in os.scandir(root)]
    if not names:
        return
    if all(n == "index.json" or n.startswith("scene_") or n.startswith(".") for n in names):
        return
    raise ValueError(f"{root} exists and holds files that are not a synthetic dataset "
                     f"({sorted(names)[:5]}); write the dataset to a new or empty folder")


def _write_dataset_into(root: Path, *, n_scenes, seed, height, width, n_frames, gt_times, flow_dts, settings,
                        frames_per_image, png_bits, opts, progress) -> Path:
    from ..progress import progress_bar

    scenes = []
    bar = progress_bar(total=n_scenes, desc="synthesising scenes", enabled=progress, unit="scene")
    for i in range(n_scenes):
        scene_seed, cam_seed = _seeds(seed, i)
        scene = random_scene(seed=scene_seed, height=height, width=width, **opts)
        name = f"scene_{i:05d}"
        meta = write_scene(scene, root / name, n_frames=n_frames, gt_times=gt_times, flow_dts=flow_dts,
                           settings=settings, seed=cam_seed, frames_per_image=frames_per_image,
                           png_bits=png_bits, extra={"name": name, "index": i, "scene_seed": scene_seed,
                                  "scene_options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in opts.items()}})
        meta_sha = hashlib.sha256((root / name / "meta.json").read_bytes()).hexdigest()
        scenes.append({"name": name, "meta": f"{name}/meta.json", "spikes": f"{name}/spikes.dat", "meta_sha256": meta_sha,
                       "scene_seed": scene_seed, "camera_seed": cam_seed,
                       "brightness": meta["scene"]["brightness"], "n_layers": len(meta["scene"]["layers"]),
                       "mean_rate": meta["spikes"]["mean_rate"]})
        bar.update(1)
    bar.close()
    index = {
        "format": DATASET_FORMAT,
        "seed": seed,
        "n_scenes": n_scenes,
        "height": height,
        "width": width,
        "n_frames": n_frames,
        "rate_hz": settings.rate_hz,
        "camera_settings": settings.to_dict(),
        "frames_per_image": int(frames_per_image),
        "png_bits": png_bits,
        "gt_times": [int(t) for t in sorted(set(gt_times))],
        "flow_dts": sorted({int(d) for d in flow_dts}),
        "scene_options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in opts.items()},
        "conventions": {"time": "spike frames; frame n is lit by the scene at t = n",
                        "flow": "forward t0 -> t1, u right, v down, pixels, Middlebury .flo",
                        "intensity": "PNG value / (2**png_bits - 1)",
                        "spikes": "headerless .dat, LSB first, rows bottom-to-top (spikevision.io.dat)"},
        "scenes": scenes,
    }
    path = root / "index.json"
    _write_json(path, index)
    return path


@dataclass(frozen=True)
class SyntheticDataset:
    """Read access to a dataset written by :func:`write_dataset` (see :func:`open_dataset`)."""

    root: Path
    index: dict

    def __len__(self) -> int:
        return len(self.index["scenes"])

    def meta(self, i: int) -> dict:
        """``meta.json`` of scene ``i``."""
        return json.loads((self.root / self.index["scenes"][i]["meta"]).read_text())

    def spikes(self, i: int) -> Any:
        """Spike stream of scene ``i`` (lazy, memory-mapped)."""
        from ..io.dat import read_dat

        m = self.meta(i)["spikes"]
        return read_dat(self.root / self.index["scenes"][i]["name"] / m["path"], height=m["height"],
                        width=m["width"], rate_hz=m["rate_hz"])

    def gt(self, i: int, t: int) -> np.ndarray:
        """GT intensity of scene ``i`` at frame ``t``, ``(H, W)`` float32 in ``[0, 1]``."""
        from PIL import Image

        m = self.meta(i)
        hits = [g for g in m["gt"] if g["t"] == t]
        if not hits:
            raise KeyError(f"scene {i} has no GT frame at t={t}; available: {[g['t'] for g in m['gt']]}")
        with Image.open(self.root / self.index["scenes"][i]["name"] / hits[0]["path"]) as im:
            a = np.asarray(im)
        return (a.astype(np.float32) / np.float32((1 << m["png_bits"]) - 1)).astype(np.float32)

    def flow(self, i: int, t0: int, dt: int) -> tuple[np.ndarray, np.ndarray]:
        """GT flow ``(H, W, 2)`` float32 and validity ``(H, W)`` bool of scene ``i`` from ``t0`` to ``t0 + dt``."""
        from PIL import Image

        from ..io.flo import read_flo

        m = self.meta(i)
        hits = [f for f in m["flows"] if f["t0"] == t0 and f["dt"] == dt]
        if not hits:
            raise KeyError(f"scene {i} has no flow for t0={t0}, dt={dt}")
        d = self.root / self.index["scenes"][i]["name"]
        with Image.open(d / hits[0]["valid"]) as im:
            valid = np.asarray(im) > 127
        return read_flo(d / hits[0]["flo"]), valid


def open_dataset(path: str | os.PathLike, *, verify: str = "size") -> SyntheticDataset:
    """Open a dataset folder (or its ``index.json``) written by :func:`write_dataset`, after checking it.

    Every scene listed in ``index.json`` must have its ``meta.json`` (with
    the SHA-256 the index recorded, when it recorded one) and a ``spikes.dat``
    of the size its metadata states; ``verify="hash"`` also re-hashes each
    ``spikes.dat`` against its ``meta.json``. A folder mixing files of two
    runs is refused with :class:`~spikevision.SpikeFormatError`.
    """
    if verify not in ("size", "hash"):
        raise ValueError(f"verify must be 'size' or 'hash', got {verify!r}")
    from ..io.atomic import recover_dir

    p = Path(path)
    if not p.exists() and p.suffix != ".json":
        recover_dir(p)  # a write_dataset killed while swapping folders left the old dataset aside
    idx = p / "index.json" if p.is_dir() else p
    check_existing_file(idx, "dataset index")
    index = _read_json(idx)
    if index.get("format") != DATASET_FORMAT:
        raise ValueError(f"{idx} is not a {DATASET_FORMAT} index (format={index.get('format')!r})")
    scenes = index.get("scenes")
    if not isinstance(scenes, list) or index.get("n_scenes") != len(scenes):
        raise SpikeFormatError(f"{idx}: n_scenes={index.get('n_scenes')!r} does not match its scene list")
    root = idx.parent
    for i, entry in enumerate(scenes):
        _check_scene(root, i, entry, index, verify)
    return SyntheticDataset(root, index)


def _read_json(path: Path) -> Any:
    try:
        obj = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpikeFormatError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise SpikeFormatError(f"{path}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _check_scene(root: Path, i: int, entry: Any, index: dict, verify: str) -> None:
    from ..io.dat import file_sha256, frame_bytes

    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("meta"), str):
        raise SpikeFormatError(f"{root}/index.json: scene {i} entry is malformed: {entry!r}")
    meta_path = root / entry["meta"]
    if not meta_path.is_file():
        raise SpikeFormatError(f"{root}: scene {entry['name']} has no {entry['meta']} (incomplete dataset)")
    raw = meta_path.read_bytes()
    want = entry.get("meta_sha256")
    if want is not None and hashlib.sha256(raw).hexdigest() != want:
        raise SpikeFormatError(f"{meta_path} is not the one index.json was written with (SHA-256 differs): "
                               "the folder mixes files of two runs; write the dataset again")
    meta = _read_json(meta_path)
    sp = meta.get("spikes")
    if not isinstance(sp, dict) or meta.get("name", entry["name"]) != entry["name"]:
        raise SpikeFormatError(f"{meta_path} does not describe scene {entry['name']}")
    if want is None and meta.get("spikes", {}).get("n_frames") != index.get("n_frames"):
        raise SpikeFormatError(f"{meta_path}: n_frames differs from index.json's {index.get('n_frames')}")
    dat = root / entry["name"] / str(sp.get("path"))
    try:
        need = int(sp["n_frames"]) * frame_bytes(sp["height"], sp["width"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SpikeFormatError(f"{meta_path}: spikes entry is malformed: {exc}") from exc
    if not dat.is_file() or dat.stat().st_size != need:
        have = dat.stat().st_size if dat.is_file() else "no"
        raise SpikeFormatError(f"{dat}: expected {need} bytes from {meta_path.name}, found {have} (incomplete or mixed dataset)")
    if verify == "hash" and sp.get("sha256") is not None and file_sha256(dat) != sp["sha256"]:
        raise SpikeFormatError(f"{dat}: SHA-256 differs from the one in {meta_path.name} (corrupt or mixed dataset)")
