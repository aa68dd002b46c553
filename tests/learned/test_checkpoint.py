"""The one checkpoint format: digest verified on load, clear errors for corrupt, foreign and other-task files."""

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spikevision.learned import Checkpoint, CheckpointError, export_weights, load_checkpoint, save_checkpoint  # noqa: E402
from spikevision.learned.checkpoint import state_digest  # noqa: E402


def _ck():
    torch.manual_seed(0)
    net = torch.nn.Conv2d(2, 3, 3)
    return Checkpoint("recon", "cnn", {"width": 3}, net.state_dict(), {"iteration": 5, "val_psnr": 30.5})


def test_round_trip(tmp_path):
    p = save_checkpoint(tmp_path / "sub" / "w.pt", _ck())
    ck = load_checkpoint(p, task="recon")
    assert (ck.task, ck.model, ck.model_args, ck.meta["iteration"]) == ("recon", "cnn", {"width": 3}, 5)
    assert all(torch.equal(ck.state[k], v) for k, v in _ck().state.items()) and ck.path == str(p)
    raw = torch.load(p, weights_only=True)
    assert raw["format"] == "spikevision-checkpoint/1" and raw["digest"] == state_digest(raw)


def test_flipped_bit_anywhere_is_a_clear_error(tmp_path):
    """Every byte of the file counts: a flip in the weights fails the digest, anywhere else the seal."""
    p = save_checkpoint(tmp_path / "w.pt", _ck())
    data = p.read_bytes()
    tensor_at = data.index(_ck().state["weight"].numpy().tobytes()[:16])   # a byte inside the weights
    q = tmp_path / "bad.pt"
    for at in [tensor_at + 5, *range(0, len(data), 5)]:
        bad = bytearray(data)
        bad[at] ^= 0x10
        q.write_bytes(bytes(bad))
        with pytest.raises(CheckpointError, match="bad.pt (is corrupt|is not a readable|is not a sealed)"):
            load_checkpoint(q, task="recon")
    q.write_bytes(data[:-100])
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_checkpoint(q, task="recon")


def test_other_task_model_format_and_missing(tmp_path):
    p = save_checkpoint(tmp_path / "w.pt", _ck())
    with pytest.raises(CheckpointError, match="holds a 'recon' checkpoint .*not a 'flow' one"):
        load_checkpoint(p, task="flow")
    with pytest.raises(CheckpointError, match="model 'cnn', expected one of \\['snn'\\]"):
        load_checkpoint(p, task="recon", models=("snn",))
    torch.save({"model": _ck().state, "model_name": "cnn"}, tmp_path / "old.pt")   # no digest: not accepted from users
    with pytest.raises(CheckpointError, match="no integrity digest"):
        load_checkpoint(tmp_path / "old.pt", task="recon")
    raw = torch.load(p, weights_only=True)   # the right contents, re-saved without the seal: refused too
    torch.save(raw, tmp_path / "unsealed.pt")
    with pytest.raises(CheckpointError, match="not a sealed"):
        load_checkpoint(tmp_path / "unsealed.pt", task="recon")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="holds a list"):
        load_checkpoint(tmp_path / "list.pt", task="recon")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt", task="recon")
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        load_checkpoint(tmp_path / "absent.pt", task="recon")
    from spikevision.weights import WeightsError

    with pytest.raises(WeightsError, match="unknown weights"):
        load_checkpoint("no_such_weights", task="recon")


def test_unpickling_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    torch.save({"format": "x", "payload": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "evil.pt", task="recon")


def test_shipped_weights_load_through_the_registry():
    from spikevision.weights import registry

    for name, task, model in (("recon_cnn", "recon", "cnn"), ("flow_spikeflow", "flow", "spikeflow"),
                              ("comm_snn_bw32", "comm", "snn"), ("comm_analog_bw32", "comm", "analog")):
        if name not in registry():
            continue
        ck = load_checkpoint(name, task=task)
        assert ck.model == model and ck.state and ck.model_args


def test_export_registers_a_verified_copy(tmp_path, monkeypatch):
    import spikevision.weights as W

    monkeypatch.setattr(W, "_DIR", tmp_path)
    monkeypatch.setattr(W, "_REGISTRY", tmp_path / "registry.json")
    src = save_checkpoint(tmp_path / "run" / "best.pt", dataclasses.replace(_ck(), resume={"iteration": 5}))
    entry = export_weights(src, "mine", task="recon", description="test", half=True, meta={"dts": [10]})
    assert entry["file"] == "mine.pt" and W.registry()["mine"]["sha256"] == entry["sha256"]
    ck = load_checkpoint("mine", task="recon")
    assert ck.resume is None and ck.meta["dts"] == [10] and ck.state["weight"].dtype == torch.float16
    np.testing.assert_allclose(ck.state["weight"].float().numpy(), _ck().state["weight"].numpy(), atol=1e-3)
