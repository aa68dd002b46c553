"""Shipped model weights: a registry with size and SHA-256, verified on every load.

Weights live next to this module as package data; ``registry.json`` maps a
name to ``{"file", "bytes", "sha256", "description"}``. Nothing is downloaded.

>>> path = weights_path("recon_cnn")   # doctest: +SKIP  (raises if missing or corrupt)
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["WeightsError", "registry", "weights_path", "verify_file", "register_weights", "sha256_of"]

_DIR = Path(str(resources.files(__package__)))
_REGISTRY = _DIR / "registry.json"


class WeightsError(ValueError):
    """Weights are missing, unknown or fail their checksum."""


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def registry(path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """The registry as a dict ``name -> entry``."""
    p = Path(path) if path else _REGISTRY
    if not p.exists():
        return {}
    return json.loads(p.read_text())


def verify_file(path: str | os.PathLike, entry: dict[str, Any], name: str = "weights") -> Path:
    """Check ``path`` exists with the entry's size and SHA-256; return it."""
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"{name}: weights file missing: {p}")
    size = p.stat().st_size
    if size != int(entry["bytes"]):
        raise WeightsError(f"{name}: {p} has {size} bytes, registry expects {entry['bytes']} (corrupt or truncated file)")
    digest = sha256_of(p)
    if digest != entry["sha256"]:
        raise WeightsError(f"{name}: SHA-256 of {p} is {digest}, registry expects {entry['sha256']} (corrupt file)")
    return p


def weights_path(name: str, *, directory: str | os.PathLike | None = None) -> Path:
    """Path of the verified weights ``name`` (``directory`` overrides the package folder, for tests)."""
    reg = registry()
    if name not in reg:
        raise WeightsError(f"unknown weights {name!r}; registered: {sorted(reg)}")
    entry = reg[name]
    base = Path(directory) if directory else _DIR
    return verify_file(base / entry["file"], entry, name)


def register_weights(name: str, file: str | os.PathLike, *, description: str) -> dict[str, Any]:
    """Add or update the entry for a weights file that lies in the package's weights folder."""
    from ..io.atomic import atomic_path

    p = Path(file)
    if p.parent.resolve() != _DIR.resolve():
        raise WeightsError(f"weights must be copied into {_DIR} before registering, got {p}")
    entry = {"file": p.name, "bytes": p.stat().st_size, "sha256": sha256_of(p), "description": description}
    reg = registry()
    reg[name] = entry
    with atomic_path(_REGISTRY) as tmp:
        tmp.write_text(json.dumps(dict(sorted(reg.items())), indent=2) + "\n")
    return entry
