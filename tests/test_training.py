"""Shared training helpers: starting a run from another run's weights."""

import pytest

torch = pytest.importorskip("torch")

from spikevision.training import load_init  # noqa: E402


def _net(extra: bool = False):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(3, 4)]
    if extra:
        layers.append(torch.nn.Linear(4, 2))
    return torch.nn.Sequential(*layers)


def test_load_init_copies_weights_and_allows_only_named_new_parts(tmp_path):
    src = _net()
    torch.nn.init.constant_(src[0].weight, 0.5)
    torch.save({"model": src.state_dict()}, tmp_path / "w.pt")
    dst = _net()
    load_init(dst, tmp_path / "w.pt")
    assert torch.equal(dst[0].weight, src[0].weight)
    bigger = _net(extra=True)
    with pytest.raises(ValueError, match="missing"):
        load_init(bigger, tmp_path / "w.pt")
    load_init(bigger, tmp_path / "w.pt", new=("1.",))  # the added layer keeps its own initialisation
    assert torch.equal(bigger[0].weight, src[0].weight)


def test_load_init_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_init(_net(), tmp_path / "absent.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="do not fit"):
        load_init(_net(), tmp_path / "junk.pt")
    torch.save({"model": torch.nn.Linear(5, 4).state_dict()}, tmp_path / "shape.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_init(_net(), tmp_path / "shape.pt")
    torch.save({"weights": {}}, tmp_path / "nokey.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_init(_net(), tmp_path / "nokey.pt")
