"""The one run-config type and its one loader.

A config is a JSON (or TOML) file ``configs/<task>/<name>.json``. Its keys are
the fields of :class:`RunConfig` (shared by every task: seed, schedule,
budget, logging ...) plus those of the task's own settings
(:attr:`spikevision.learned.tasks.Task.settings_type`, e.g. the model and its data).
Unknown keys and values of the wrong type are :class:`ConfigError` naming the
file and the field, e.g. ``configs/recon/cnn.json: data.patch: expected int, got '64'``.

Paths in a config are relative: ``sources`` folders to the working directory,
``init_from`` a registry weights name, a previous stage's config (a ``.json`` /
``.toml`` file next to this one; its run's ``best.pt`` in ``runs/<its name>``,
or ``NAME.json#last`` / ``#average``) or a checkpoint file. Nothing is absolute.

>>> cfg = load_config("configs/recon/cnn.json", overrides={"iterations": 20})   # doctest: +SKIP
>>> cfg.task, cfg.settings.model                                              # doctest: +SKIP
('recon', 'cnn')
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Union

__all__ = ["ConfigError", "SourceSpec", "RunConfig", "load_config", "parse_dataclass", "config_dict"]


class ConfigError(ValueError):
    """A config file or value that does not fit: unknown key, wrong type, bad value (names file and field)."""


@dataclass(frozen=True)
class SourceSpec:
    """One source of training samples.

    ``kind``: ``"synthetic"`` (the task's generated scenes) or a folder kind
    (``"auto"`` detects it: ``"reds"`` spike/NAME.dat + gt/NAME.png, ``"synth"``
    a ``spikevision synth`` folder, ``"spift"`` SPIFT/PHM flow, ``"unlabeled"``
    any .dat/.h5/.npz). ``weight``: relative share of the samples drawn from it.
    """

    kind: str = "synthetic"
    path: str | None = None
    weight: float = 1.0
    sensor: str | None = None
    upright: bool = False


@dataclass(frozen=True)
class RunConfig:
    """Settings of a training run shared by every task; the task's own are in :attr:`settings`."""

    task: str
    name: str = "run"
    seed: int = 0
    iterations: int = 1000
    batch: int = 8
    lr: float = 1e-3
    lr_min: float = 1e-5
    warmup: int = 100
    optimizer: Literal["adam", "adamw"] = "adam"
    weight_decay: float = 0.0
    clip_grad: float | None = 1.0
    threads: int = 1
    workers: int = 0
    log_every: int = 25
    val_every: int = 250
    checkpoint_every: int = 250
    max_minutes: float = 120.0
    anneal_by_time: bool = False
    average_from: int | None = None
    init_from: str | dict | None = None
    amp: Literal["off", "bf16", "fp16"] = "off"
    compile: bool = False
    tensorboard: bool = False
    sources: tuple[SourceSpec, ...] = (SourceSpec(),)
    settings: Any = None
    #: folder of the config file (``init_from`` stages are looked up there); not a key of the file
    config_dir: str = ""


#: RunConfig fields that are not keys of a file.
_INTERNAL = ("name", "settings", "config_dir")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, where: str) -> Any:
    """``value`` (from JSON) as type ``tp``; a :class:`ConfigError` (message without the file) if it does not fit."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        errors = []
        for arm in typing.get_args(tp):
            try:
                return _convert(value, arm, where)
            except ConfigError as exc:
                errors.append(exc)
        expected = " or ".join(_type_name(a) for a in typing.get_args(tp))
        raise ConfigError(f"{where}: expected {expected}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected null, got {value!r}")
    if origin is Literal:
        if value in typing.get_args(tp) and type(value) in {type(a) for a in typing.get_args(tp)}:
            return value
        raise ConfigError(f"{where}: expected one of {list(typing.get_args(tp))}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        return parse_dataclass(tp, value, where=where)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected an object ({{...}}), got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected int, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise ConfigError(f"{where}: unsupported type {tp!r}")  # pragma: no cover - a programming error


def parse_dataclass(cls: type, raw: Any, *, where: str = "", skip: tuple[str, ...] = ()) -> Any:
    """An instance of the frozen dataclass ``cls`` from a JSON object, every field type-checked.

    Unknown keys are an error listing the known ones; missing keys take their defaults.
    ``where`` prefixes field names in messages (``"data"`` -> ``data.patch``).
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'config'}: expected an object ({{...}}), got {raw!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.name not in skip}
    unknown = sorted(set(raw) - known)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(prefix + k for k in unknown)}; "
                          f"expected some of {sorted(known)}")
    values = {k: _convert(v, hints[k], f"{where}.{k}" if where else k) for k, v in raw.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from exc


def config_dict(obj: Any) -> Any:
    """A config (or any of its parts) as JSON-able data, the inverse of :func:`parse_dataclass`."""
    if dataclasses.is_dataclass(obj):
        return {f.name: config_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [config_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: config_dict(v) for k, v in obj.items()}
    return obj


def _read(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            raw = tomllib.loads(text)
        else:
            raw = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected an object of settings, got {type(raw).__name__}")
    return raw


def load_config(path: str | os.PathLike | None = None, *, task: str | None = None,
                overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a run config (or the task's defaults when ``path`` is None) and apply ``overrides``.

    ``overrides`` are top-level keys (``None`` values are ignored), checked like the
    file's (but their ``sources`` may name absolute folders: a file's may not). The config's ``name`` is the file's stem (outputs go to ``runs/<name>``).
    """
    from .tasks import get_task

    raw: dict[str, Any] = {}
    label = "config"
    if path is not None:
        p = Path(path)
        raw = _read(p)
        label = str(p)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    raw.update(overrides)
    name = raw.pop("task", None) if task is None else raw.pop("task", task)
    if task is not None and name != task:
        raise ConfigError(f"{label}: task: this is a {name!r} config, not a {task!r} one")
    if name is None:
        raise ConfigError(f"{label}: task: missing (one of 'recon', 'flow', 'comm', 'track')")
    try:
        t = get_task(name)
    except ValueError as exc:
        raise ConfigError(f"{label}: task: {exc}") from None
    run_keys = {f.name for f in fields(RunConfig)} - set(_INTERNAL) - {"task"}
    task_keys = {f.name for f in fields(t.settings_type)}
    unknown = sorted(set(raw) - run_keys - task_keys)
    if unknown:
        raise ConfigError(f"{label}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                          f"expected some of {sorted(run_keys | task_keys)}")
    try:
        settings = parse_dataclass(t.settings_type, {k: v for k, v in raw.items() if k in task_keys})
        run_raw = {k: v for k, v in raw.items() if k in run_keys}
        if "sources" in run_raw and isinstance(run_raw["sources"], list) and not run_raw["sources"]:
            raise ConfigError("sources: needs at least one source")
        cfg = parse_dataclass(RunConfig, {"task": name, **run_raw}, skip=_INTERNAL)
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None
    for f_name in ("iterations", "batch", "log_every", "val_every", "checkpoint_every", "threads"):
        if getattr(cfg, f_name) < 1:
            raise ConfigError(f"{label}: {f_name}: must be >= 1, got {getattr(cfg, f_name)}")
    if cfg.workers < 0 or cfg.warmup < 0 or cfg.lr <= 0 or cfg.lr_min < 0 or cfg.max_minutes <= 0:
        raise ConfigError(f"{label}: workers, warmup, lr_min must be >= 0 and lr, max_minutes > 0")
    for i, s in enumerate(cfg.sources):
        if s.weight <= 0:
            raise ConfigError(f"{label}: sources[{i}].weight: must be > 0, got {s.weight}")
        if s.path is not None and Path(s.path).is_absolute() and "sources" not in overrides:
            raise ConfigError(f"{label}: sources[{i}].path: must be relative (configs hold no machine paths), got {s.path!r}")
    return dataclasses.replace(cfg, name=Path(path).stem if path else name, settings=settings,
                               config_dir=str(Path(path).parent) if path else "")
