"""Progress bars for long work (tqdm), written to stderr and off by default in the API."""

from __future__ import annotations

from typing import Any

__all__ = ["progress_bar"]


def progress_bar(*, total: int | None, desc: str, enabled: bool = True, unit: str = "it") -> Any:
    """A tqdm bar (or a silent stand-in when ``enabled`` is false)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=False, dynamic_ncols=True)
