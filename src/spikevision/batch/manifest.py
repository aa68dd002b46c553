"""``OUTDIR/manifest.jsonl``: one JSON line per input, and the table gathered from records.

A row is ``{"input", "status", "outputs", "seconds", "error", "cpu_seconds", "started", "job",
"size", "mtime_ns"}``: ``status`` is ``ok``, ``error`` or ``skipped`` (done by an earlier run);
``outputs`` are relative to OUTDIR; ``seconds`` is the wall time spent on the input in this
run and ``cpu_seconds`` the CPU time of its worker process meanwhile (both 0 for an input
that did not run); ``started`` is the Unix time the task began (``None`` when it did not run); ``job``, ``size`` and ``mtime_ns`` are what a rerun compares to decide
whether the outputs are still current.

While a batch runs, rows are appended as inputs finish (so a killed driver loses
nothing); at the end the file is rewritten atomically with exactly one row per
input, in input order. A reader takes the last row of each input and ignores a
torn last line.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..io.atomic import atomic_open

__all__ = ["MANIFEST_NAME", "STATUSES", "read_manifest", "write_manifest", "write_table"]

MANIFEST_NAME = "manifest.jsonl"
STATUSES = ("ok", "error", "skipped")
ROW_KEYS = ("input", "status", "outputs", "seconds", "error", "cpu_seconds", "started", "job", "size", "mtime_ns")


def read_manifest(path: str | os.PathLike) -> dict[str, dict]:
    """The last row of each input in a manifest (``{}`` when the file does not exist).

    Lines that are not JSON objects with ``input`` and a known ``status`` (a line torn by a
    killed process) are ignored.
    """
    rows: dict[str, dict] = {}
    p = Path(path)
    if not p.is_file():
        return rows
    with open(p, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("input"), str) and row.get("status") in STATUSES:
                rows[row["input"]] = row
    return rows


def row_line(row: Mapping[str, Any]) -> str:
    """One manifest line (keys in the documented order, then any others)."""
    ordered = {k: row[k] for k in ROW_KEYS if k in row}
    ordered.update({k: v for k, v in row.items() if k not in ordered})
    return json.dumps(ordered) + "\n"


def write_manifest(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``rows`` atomically, one JSON line each."""
    with atomic_open(path, "w") as fh:
        for row in rows:
            fh.write(row_line(row))
    return Path(path)


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in record.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            flat.update(_flatten(v, name + "."))
        elif isinstance(v, (list, tuple)):
            flat[name] = json.dumps(v)
        else:
            flat[name] = v
    return flat


def write_table(path: str | os.PathLike, records: Iterable[tuple[str, Mapping[str, Any]]]) -> Path | None:
    """Gather ``(input, record)`` pairs into one CSV file (atomically); ``None`` when there are none.

    Columns: ``input``, then every key of the records in first-seen order (nested mappings
    flattened as ``a.b``, lists as JSON text); a record without a column leaves it empty.
    """
    rows = [{"input": inp, **_flatten(rec)} for inp, rec in records]
    if not rows:
        return None
    columns: dict[str, None] = {}
    for r in rows:
        columns.update(dict.fromkeys(r))
    with atomic_open(path, "w") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)
