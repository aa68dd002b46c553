"""Finding a batch's inputs (globs, folders, list files) and naming their outputs.

Each input keeps its path relative to the *root* it was found under (the
folder given, the part of a glob before its first wildcard, or the common
folder of a list file's entries), and its outputs mirror that relative path
under OUTDIR: ``spikevision batch reconstruct 'rec/**/*.dat' -o out`` turns
``rec/day1/a.dat`` into ``out/day1/a.npy``.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence

from .job import BatchError

__all__ = ["Input", "find_inputs", "output_names", "LIST_SUFFIXES"]

#: An existing file with one of these suffixes is read as a list of inputs (one path per line;
#: ``.jsonl``: the ``"input"`` field of each line, so a previous batch's manifest works too).
LIST_SUFFIXES = (".txt", ".list", ".lst", ".jsonl")

#: Files a folder expands to are all non-hidden files except these (sidecar metadata).
FOLDER_SKIP_SUFFIXES = (".json",)

_MAGIC = set("*?[")


@dataclass(frozen=True)
class Input:
    """One input: its absolute ``path`` and the ``rel`` name (POSIX, relative) its outputs mirror."""

    path: Path
    rel: str


def _abs(path: str | os.PathLike) -> Path:
    """Absolute and normalised, symbolic links kept (so relative names stay under their root)."""
    return Path(os.path.abspath(os.path.expanduser(path)))


def _has_magic(part: str) -> bool:
    return any(c in _MAGIC for c in part)


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def _from_folder(folder: Path, exclude: Path | None) -> list[Input]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not _inside(here / d, exclude))
        for name in sorted(filenames):
            p = here / name
            if name.startswith(".") or p.suffix.lower() in FOLDER_SKIP_SUFFIXES or not p.is_file():
                continue
            found.append(Input(p, p.relative_to(folder).as_posix()))
    return found


def _from_glob(pattern: str, exclude: Path | None) -> list[Input]:
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if _has_magic(part):
            break
        fixed.append(part)
    root = _abs(Path(*fixed)) if fixed else _abs(".")
    found = []
    for m in sorted(glob.glob(pattern, recursive=True)):
        p = _abs(m)
        if p.is_file() and not _inside(p, exclude):
            found.append(Input(p, p.relative_to(root).as_posix()))
    return found


def _read_list(path: Path) -> list[Path]:
    entries = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if path.suffix.lower() == ".jsonl":
                try:
                    line = json.loads(line)["input"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise BatchError(f"{path}:{n}: expected a JSON object with an 'input' field ({exc})") from None
            p = Path(line).expanduser()
            entries.append(p if p.is_absolute() else path.parent / p)
    return entries


def _from_list(path: Path) -> list[Input]:
    entries = [_abs(p) for p in _read_list(path)]
    if not entries:
        return []
    root = Path(os.path.commonpath([str(p.parent) for p in entries]))
    # Listed files that are missing stay: they become error rows instead of stopping the batch.
    return [Input(p, p.relative_to(root).as_posix()) for p in entries]


def find_inputs(patterns: Sequence[str | os.PathLike] | str | os.PathLike, *,
                exclude: str | os.PathLike | None = None) -> list[Input]:
    """Expand globs, folders and list files into a sorted, de-duplicated list of inputs.

    Args:
        patterns: Each one is a glob (``"rec/*.dat"``, ``"rec/**/*.dat"``), a folder (all its
            non-hidden files, recursively, except ``.json`` sidecars), a list file (an existing
            ``.txt``/``.list``/``.lst``/``.jsonl`` file, or any file written as ``@FILE``: one path
            per line, relative to the list's folder, ``#`` comments), or one file.
        exclude: A folder whose files are never inputs (the batch's OUTDIR).

    Returns:
        Inputs in the order found (each pattern sorted), duplicates dropped.

    Raises:
        FileNotFoundError: A pattern names nothing that exists, or a glob matches no file.

    Example:
        >>> find_inputs(["recordings/*.dat"])  # doctest: +SKIP
        [Input(path=PosixPath('/data/recordings/a.dat'), rel='a.dat'), ...]
    """
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [patterns]
    excl = _abs(exclude) if exclude is not None else None
    found: list[Input] = []
    for raw in patterns:
        text = os.fspath(raw)
        if not text:
            raise BatchError("an input pattern is empty")
        if text.startswith("@"):
            lst = Path(text[1:]).expanduser()
            if not lst.is_file():
                raise FileNotFoundError(f"input list not found: {lst}")
            found += _from_list(lst)
            continue
        p = Path(text).expanduser()
        if p.is_dir():
            found += _from_folder(_abs(p), excl)
        elif p.is_file():
            found += _from_list(p) if p.suffix.lower() in LIST_SUFFIXES else [Input(_abs(p), p.name)]
        elif _has_magic(text):
            matched = _from_glob(str(p), excl)
            if not matched:
                raise FileNotFoundError(f"no file matches {text!r}")
            found += matched
        else:
            raise FileNotFoundError(f"input not found: {text}")
    seen: set[Path] = set()
    unique = []
    for inp in found:
        if inp.path not in seen:
            seen.add(inp.path)
            unique.append(inp)
    return unique


def output_names(inputs: Iterable[Input], suffix: str) -> list[str]:
    """Main output of each input, relative to OUTDIR: ``rel`` with its suffix replaced by ``suffix``.

    Raises:
        BatchError: Two inputs would write the same output (``a.dat`` and ``a.h5`` -> ``a.npy``).
    """
    names: list[str] = []
    owner: dict[str, Path] = {}
    for inp in inputs:
        rel = PurePosixPath(inp.rel)
        name = rel.with_name(rel.stem + suffix).as_posix() if rel.suffix else rel.as_posix() + suffix
        if name in owner:
            raise BatchError(f"inputs {owner[name]} and {inp.path} would both write {name}; "
                             "run them as separate batches (another -o) or rename one")
        owner[name] = inp.path
        names.append(name)
    return names
