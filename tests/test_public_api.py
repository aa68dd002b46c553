"""The public API is declared in __all__ and every name resolves."""

import importlib

import pytest

import spikevision

MODULES = [
    "spikevision", "spikevision.io", "spikevision.stream", "spikevision.weights", "spikevision.sim",
    "spikevision.recon", "spikevision.recon.learned", "spikevision.metrics", "spikevision.viz",
    "spikevision.flow", "spikevision.comm", "spikevision.learned", "spikevision.learned.tasks",
    "spikevision.datasets", "spikevision.track",
]
OPTIONAL: list[str] = []


@pytest.mark.parametrize("name", MODULES + OPTIONAL)
def test_all_resolves(name):
    mod = importlib.import_module(name)
    names = getattr(mod, "__all__", None)
    if name in OPTIONAL and names is None:
        pytest.skip(f"{name} declares no API yet")
    assert names, f"{name} has no __all__"
    for n in names:
        assert hasattr(mod, n), f"{name}.{n} in __all__ but missing"


def test_core_names():
    for n in ["SpikeStream", "read_dat", "write_dat", "load", "save", "read_h5", "write_h5", "__version__"]:
        assert n in spikevision.__all__
