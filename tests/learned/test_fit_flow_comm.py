"""The fit loop on the flow and comm tasks: runs, resumes, starts from other weights, loads at inference."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spikevision.learned import fit, load_checkpoint, load_config  # noqa: E402

FLOW = {"task": "flow", "model_args": {"widths": [8, 8, 8], "feature_dim": 8, "hidden": 8, "context": 8,
                                       "learned_channels": 4, "iters": 2, "window": 9},
        "batch": 2, "size": 32, "val_samples": 1, "log_every": 1, "val_every": 2, "checkpoint_every": 1,
        "scene": {"sim_fraction": 0.0}}
COMM = {"task": "comm", "iterations": 2, "batch": 2, "val_samples": 2, "log_every": 1, "val_every": 2,
        "checkpoint_every": 1, "val_snrs": [0.0], "clip_grad": None,
        "code": {"symbols_per_position": 8, "steps": 4, "width": 4, "dec_width": 8}, "data": {"patch": 32}}


def _fit(tmp_path, base, name, **over):
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps({**base, **over}))
    return fit(load_config(p), out=tmp_path / name, device="cpu", progress=False)


def test_flow_train_resume_gate_and_load(tmp_path):
    from spikevision.flow import load_flow_model
    from spikevision.flow.still import TRAINING_GATE, still_gate_weight
    from spikevision.learned.tasks.flow import FlowTask, sample_gate, sequence_loss

    s = _fit(tmp_path, FLOW, "a", iterations=2, still_gate=True)
    assert s["iterations"] == 2 and np.isfinite(s["best"]["net"])
    s = _fit(tmp_path, FLOW, "a", iterations=3, still_gate=True)
    log = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert s["iterations"] == 3 and [r["iteration"] for r in log] == [1, 2, 3] and "val_aee_dt10" in log[1]
    ck = load_checkpoint(tmp_path / "a" / "best.pt", task="flow")
    assert ck.model == "spikeflow" and ck.model_args["window"] == 9 and ck.meta["dts"] == [10, 20]
    net, dts = load_flow_model(str(tmp_path / "a" / "best.pt"))
    assert dts == (10, 20) and net.cfg.window == 9
    # a new run starts from those weights (lr ~0: they stay)
    _fit(tmp_path, FLOW, "b", iterations=1, lr=1e-12, lr_min=0.0, init_from=str(tmp_path / "a" / "last.pt"))
    a, b = (load_checkpoint(tmp_path / n / "last.pt", task="flow").state for n in ("a", "b"))
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)
    # the loss keeps the gate the shipped weights were trained with
    cfg = load_config(tmp_path / "a.json")
    (dt, (w1, w2, *_, gate)), = FlowTask().validation_data(cfg)[:1]
    np.testing.assert_array_equal(gate[0], still_gate_weight(w1[0], w2[0], dt=dt, gate=TRAINING_GATE))
    assert (sample_gate(load_config(None, task="flow").settings, w1[0], w2[0], 10) == 1).all()
    gt, valid = torch.zeros(1, 2, 4, 4), torch.ones(1, 4, 4, dtype=torch.bool)
    preds = [torch.ones(1, 2, 4, 4), torch.zeros(1, 2, 4, 4)]
    assert float(sequence_loss(preds, gt, valid, gamma=0.5)) == pytest.approx(0.5)
    assert float(sequence_loss(preds[::-1], gt, valid, gamma=0.5)) == pytest.approx(1.0)
    g = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    assert float(sequence_loss([torch.ones(1, 2, 2, 2)], torch.zeros(1, 2, 2, 2), valid[:, :2, :2], gate=g)) == 0.25


def test_flow_from_a_synth_folder(tmp_path, monkeypatch):
    from spikevision.sim import write_dataset

    monkeypatch.chdir(tmp_path)
    write_dataset(tmp_path / "syn", n_scenes=1, height=40, width=40, n_frames=60, gt_times=(20,), flow_dts=(10,),
                  seed=2, progress=False)
    s = _fit(tmp_path, FLOW, "f", iterations=1, dts=[10], sources=[{"kind": "auto", "path": "syn"}])
    assert s["iterations"] == 1
    from spikevision.datasets import DatasetError

    with pytest.raises(DatasetError, match="no synth flows for dt in \\[20\\]"):
        _fit(tmp_path, FLOW, "g", iterations=1, dts=[20], sources=[{"kind": "auto", "path": "syn"}])


@pytest.mark.parametrize("kinds", [["snn", "analog"]])
def test_comm_train_resume_init_and_load(tmp_path, kinds):
    pytest.importorskip("spikingjelly")
    from spikevision.comm import load_code

    s = _fit(tmp_path, COMM, "run", kinds=kinds)
    assert s["iterations"] == 2 and set(s["best"]) == set(kinds)
    run = tmp_path / "run"
    assert (run / "last.pt").exists() and (run / "best_snn.pt").exists() and (run / "best_analog.pt").exists()
    s2 = _fit(tmp_path, COMM, "run", kinds=kinds, iterations=3)  # resumes at 2
    assert s2["iterations"] == 3
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [1, 2, 3] and "loss_snn" in log[0] and "0" in log[1]["val_snn"]
    code = load_code(run / "best_snn.pt")
    assert code.cfg.kind == "snn" and not code.training
    first = load_checkpoint(run / "best_snn.pt", task="comm").state
    _fit(tmp_path, COMM, "run2", iterations=1, lr=1e-12, warmup=1, val_every=1000, log_every=1000, kinds=["snn"],
         init_from={"snn": str(run / "best_snn.pt")})
    second = load_checkpoint(tmp_path / "run2" / "best_snn.pt", task="comm").state
    w = [k for k, v in first.items() if v.is_floating_point() and "weight" in k][0]
    assert torch.allclose(first[w], second[w], atol=1e-6)
    from spikevision.learned import CheckpointError

    with pytest.raises(CheckpointError, match="init_from names models \\['cnn'\\]"):
        _fit(tmp_path, COMM, "run3", kinds=["snn"], init_from={"cnn": "x.pt"})
    with pytest.raises(FileNotFoundError, match="absent"):
        _fit(tmp_path, COMM, "run4", kinds=["snn"], init_from={"snn": str(tmp_path / "absent.pt")})
    with pytest.raises(CheckpointError, match="holds a 'comm' checkpoint"):
        load_checkpoint(run / "best_snn.pt", task="recon")


def test_tensorboard_is_optional(tmp_path):
    """``tensorboard: true`` writes event files where the package is installed, else a clear ImportError."""
    import importlib.util

    pytest.importorskip("spikingjelly")
    if importlib.util.find_spec("tensorboard") is None:
        with pytest.raises(ImportError, match="spikevision\\[tensorboard\\]"):
            _fit(tmp_path, COMM, "tb", kinds=["analog"], iterations=1, tensorboard=True)
    else:
        _fit(tmp_path, COMM, "tb", kinds=["analog"], iterations=1, tensorboard=True)
        assert list((tmp_path / "tb" / "tensorboard").iterdir())
