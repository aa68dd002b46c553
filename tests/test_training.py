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


def test_resume_into_names_the_checkpoint_left_by_another_model(tmp_path):
    from spikevision.training import resume_into

    dst = _net()
    resume_into(tmp_path / "last.pt", [(dst, _net().state_dict())])
    with pytest.raises(ValueError, match="(?s)different model.*--no-resume"):
        resume_into(tmp_path / "last.pt", [(_net(extra=True), _net().state_dict())])


def test_check_state_names_what_differs():
    from spikevision.training import check_state

    model = torch.nn.Linear(3, 2)
    check_state(model.state_dict(), model, "a linear layer")  # fits: no error
    with pytest.raises(ValueError, match=r"not those of a linear layer \(1 entries differ, e.g. \['bias'\]\)"):
        check_state({"weight": model.weight}, model, "a linear layer")
    with pytest.raises(ValueError, match="2 entries differ"):
        check_state(torch.nn.Linear(4, 3).state_dict(), model, "a linear layer")
