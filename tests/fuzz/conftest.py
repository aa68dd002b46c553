"""Settings of the property-based fuzz suite.

CI runs a small budget per family (``SPIKEVISION_FUZZ_EXAMPLES`` unset: 25
inputs each, h5 families fewer). For a release, run the long mode with a
fresh seed, e.g.::

    SPIKEVISION_FUZZ_EXAMPLES=100000 python -m pytest -q tests/fuzz -p no:cacheprovider --hypothesis-seed=$RANDOM

Every family counts its inputs and outcomes (``fuzz_report``) and prints them
at the end of the session.
"""

from __future__ import annotations

import collections
import os

import pytest
from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("SPIKEVISION_FUZZ_EXAMPLES", "25"))
#: Outcome counts per family: {"family": Counter({"accepted": n, "refused": m})}.
REPORT: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

settings.register_profile(
    "spikevision-fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)


def budget(fraction: float = 1.0) -> settings:
    """Settings for one family: ``fraction`` of the per-family budget (at least 5 inputs)."""
    return settings(settings.get_profile("spikevision-fuzz"), max_examples=max(5, int(EXAMPLES * fraction)))


@pytest.fixture(autouse=True)
def _small_memory_budget(monkeypatch):
    # Inputs are tiny: a request for more than 256 MB must be refused at once, not run for minutes.
    monkeypatch.setenv("SPIKEVISION_MEMORY_BUDGET", os.environ.get("SPIKEVISION_MEMORY_BUDGET", "256M"))


@pytest.fixture(autouse=True)
def _short_h5_probe(monkeypatch):
    # A corrupt .h5 that makes HDF5 loop is cut off after 2 s (the default is 20 s).
    monkeypatch.setenv("SPIKEVISION_H5_PROBE_TIMEOUT", os.environ.get("SPIKEVISION_H5_PROBE_TIMEOUT", "2"))


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.write_sep("-", f"fuzz inputs per family (budget {EXAMPLES})")
        for fam, c in sorted(REPORT.items()):
            terminalreporter.write_line(f"{fam:22s} {sum(c.values()):8d}  " + "  ".join(f"{k}={v}" for k, v in sorted(c.items())))
