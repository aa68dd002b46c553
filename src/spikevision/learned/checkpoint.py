"""The one checkpoint format of every learned model: written, verified and loaded here only.

A checkpoint is a ``torch.save`` of a plain dict (loaded with ``weights_only=True``,
so a file can never run code)::

    {"format": "spikevision-checkpoint/1",
     "task": "recon" | "flow" | "comm" | "track",   # which task wrote it
     "model": "cnn",                        # the model's name within the task
     "model_args": {...},                   # JSON-able settings that rebuild the network
     "state": {name: tensor},               # the network's state dict
     "meta": {...},                         # JSON-able: iteration, validation scores, inference settings
     "resume": {...} | None,                # last.pt only: optimisers, iteration, weight average
     "digest": "<sha256 hex>"}              # of everything above (tensors by dtype, shape and bytes)

The digest is checked on every load, and the file carries a seal too (the SHA-256
of all its other bytes, kept as the zip archive's comment), so a flipped bit
anywhere in a file is a :class:`CheckpointError`, not silently wrong weights. Weights shipped with the
package are checked by the registry (:mod:`spikevision.weights`, size and
SHA-256) instead; the files of round 1 predate this format and are read through
:func:`_from_shipped` (only after the registry has verified them).

>>> ck = load_checkpoint("recon_cnn", task="recon")        # doctest: +SKIP  (a registry name)
>>> ck = load_checkpoint("runs/cnn/best.pt", task="recon")  # doctest: +SKIP  (a file the spine wrote)
>>> ck.model, ck.model_args["width"]                        # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

__all__ = ["FORMAT", "CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint", "export_weights",
           "state_digest"]

#: Value of the ``format`` entry of every checkpoint the package writes.
FORMAT = "spikevision-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint is unreadable, corrupt (digest mismatch), of another task or model, or of another format."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint (see the module notes for the file layout)."""

    task: str
    model: str
    model_args: dict
    state: dict
    meta: dict = field(default_factory=dict)
    resume: dict | None = None
    path: str = ""


def _update(h: Any, obj: Any) -> None:
    """Feed ``obj`` (nested dicts / lists of tensors and JSON values) into the hash ``h``, canonically."""
    import torch

    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, Mapping):
        h.update(b"{")
        for k in sorted(obj, key=str):
            h.update(json.dumps(str(k)).encode() + b":")
            _update(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(b"[")
        for v in obj:
            _update(h, v)
        h.update(b"]")
    else:
        h.update(json.dumps(obj, sort_keys=True).encode())


def state_digest(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a checkpoint dict, ``digest`` entry excluded."""
    h = hashlib.sha256()
    _update(h, {k: v for k, v in payload.items() if k != "digest"})
    return h.hexdigest()


#: Length of the seal: the hex SHA-256 of the file's other bytes, kept as the zip archive's comment.
_SEAL = 64


def _seal(data: bytes) -> bytes:
    """``data`` (a zip file without a comment) with the SHA-256 of all its bytes as the archive comment."""
    if data[-22:-18] != b"PK\x05\x06" or data[-2:] != b"\0\0":
        raise CheckpointError("torch.save wrote an unexpected zip layout; cannot seal the checkpoint")
    body = data[:-2] + struct.pack("<H", _SEAL)
    return body + hashlib.sha256(body).hexdigest().encode()


def _unseal(data: bytes, path: Path) -> bool:
    """True if ``data`` carries a seal (``CheckpointError`` if the seal does not match the bytes)."""
    end = len(data) - _SEAL
    if end < 22 or data[end - 22:end - 18] != b"PK\x05\x06" or data[end - 2:end] != struct.pack("<H", _SEAL):
        return False
    if hashlib.sha256(data[:end]).hexdigest().encode() != data[end:]:
        raise CheckpointError(f"{path} is corrupt: its bytes do not match the SHA-256 it was sealed with "
                              "(a changed or damaged file)")
    return True


def save_checkpoint(path: str | os.PathLike, ck: Checkpoint) -> Path:
    """Write ``ck`` atomically to ``path`` with its digest and seal (a half-written file never replaces a good one)."""
    import torch

    from ..io.atomic import atomic_path

    payload = {"format": FORMAT, "task": ck.task, "model": ck.model, "model_args": dict(ck.model_args),
               "state": dict(ck.state), "meta": dict(ck.meta), "resume": ck.resume}
    payload["digest"] = state_digest(payload)
    buf = io.BytesIO()
    torch.save(payload, buf)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:
        Path(tmp).write_bytes(_seal(buf.getvalue()))
    return p


def _read(path: Path) -> tuple[Any, bool]:
    """The one ``torch.load`` of the package (``weights_only=True``: data only, never code); and whether the
    file was sealed (its seal is checked here)."""
    import torch

    data = path.read_bytes()
    sealed = _unseal(data, path)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True), sealed
    except Exception as exc:  # noqa: BLE001 - any failure to decode a damaged file (struct, zip, pickle ...)
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt, truncated or not a torch file): "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc


def _from_shipped(raw: dict, task: str, path: Path) -> Checkpoint:
    """A weights file shipped before :data:`FORMAT` existed (already verified by the registry's SHA-256)."""
    if "config" in raw and "state" in raw:  # learned codes of comm
        args = dict(raw["config"])
        return Checkpoint("comm", str(args.get("kind")), args, raw["state"],
                          {"iteration": raw.get("iteration"), "val": raw.get("val")}, None, str(path))
    name = raw.get("model_name")
    meta = {k: v for k, v in raw.items() if k not in ("model", "model_name", "model_args")}
    return Checkpoint("flow" if name == "spikeflow" else "recon", str(name), dict(raw.get("model_args") or {}),
                      raw["model"], meta, None, str(path))


def load_checkpoint(source: str | os.PathLike, *, task: str, models: tuple[str, ...] | None = None) -> Checkpoint:
    """Load and verify a checkpoint of ``task`` from a registry name or a file.

    ``source``: a name in :func:`spikevision.weights.registry` (checked by size and
    SHA-256) or a path to a file written by :func:`save_checkpoint` (checked by its
    digest). ``models``: the model names accepted (``None``: any of the task).

    Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointError` for an
    unreadable or corrupt one, one of another task or model, or one without a digest.
    """
    from ..weights import registry, weights_path

    s = str(source)
    bare = not Path(s).suffix and "/" not in s and os.sep not in s  # a name, not a path
    shipped = bare and (s in registry() or not Path(s).exists())
    path = weights_path(s) if shipped else Path(s)  # an unknown name: WeightsError listing the registered ones
    if not shipped and not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path} (and {s!r} is not a registered weights name)")
    raw, sealed = _read(path)
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path} holds a {type(raw).__name__}, not a spikevision checkpoint")
    if raw.get("format") == FORMAT and (sealed or shipped):
        digest = state_digest(raw)
        if raw.get("digest") != digest:
            raise CheckpointError(f"{path} is corrupt: its contents hash to {digest[:16]}..., the checkpoint "
                                  f"records {str(raw.get('digest'))[:16]}... (a changed or damaged file)")
        ck = Checkpoint(raw["task"], raw["model"], dict(raw["model_args"]), raw["state"], dict(raw["meta"]),
                        raw.get("resume"), str(path))
    elif shipped:
        ck = _from_shipped(raw, task, path)
    else:
        raise CheckpointError(f"{path} is not a sealed {FORMAT} file (no integrity digest): pass a checkpoint "
                              "written by `spikevision train` or a registered weights name")
    if ck.task != task:
        raise CheckpointError(f"{path} holds a {ck.task!r} checkpoint ({ck.model}), not a {task!r} one")
    if models is not None and ck.model not in models:
        raise CheckpointError(f"{path} holds weights of the {task} model {ck.model!r}, expected one of {list(models)}")
    return ck


def export_weights(checkpoint: str | os.PathLike, name: str, *, task: str, description: str,
                   half: bool = False, meta: Mapping[str, Any] | None = None) -> dict:
    """Copy a checkpoint's network (no optimiser state) into the package weights as ``<name>.pt`` and register it.

    ``half`` stores floating-point tensors as float16 (the comm codes ship so);
    ``meta`` entries are added to the checkpoint's (e.g. flow's ``dts`` and
    ``inference`` settings). Returns the registry entry.
    """
    import dataclasses

    from ..weights import _DIR, register_weights

    ck = load_checkpoint(checkpoint, task=task)
    state = {k: (v.half() if half and v.is_floating_point() else v.clone()) for k, v in ck.state.items()}
    slim = dataclasses.replace(ck, state=state, meta={**ck.meta, **dict(meta or {})}, resume=None)
    target = save_checkpoint(_DIR / f"{name}.pt", slim)
    return register_weights(name, target, description=description)
