"""Griffe extension: show Sphinx cross-reference roles as code in the API reference.

The docstrings use roles such as ``:func:`estimate_flow``` and
``:class:`~spikevision.SpikeStream```; Markdown has no such syntax, so each role
is rendered as inline code of its target (``~`` keeps the last name only).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|data|meth|attr|obj|exc|const|ref|term):`([^`]+)`")


def _code(match: re.Match[str]) -> str:
    target = match.group(1)
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


class SphinxRoles(griffe.Extension):
    """Replace Sphinx roles in every docstring by inline code."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:  # noqa: D102
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_code, obj.docstring.value)
