"""MkDocs hook: make the docs build use this checkout's ``src``.

The gallery executes the examples in the MkDocs process; putting ``src`` first on
``sys.path`` makes them (and the API reference) document this checkout even where
another copy of spikevision is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
