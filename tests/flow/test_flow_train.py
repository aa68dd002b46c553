"""Training loop: runs, logs, checkpoints, resumes; config checks."""

import json

import pytest

torch = pytest.importorskip("torch")

from spikevision.flow.train import load_config, sequence_loss, train  # noqa: E402

TINY = {"model_args": {"widths": [8, 8, 8], "feature_dim": 8, "hidden": 8, "context": 8, "learned_channels": 4,
                       "iters": 2, "window": 9},
        "batch": 2, "size": 32, "val_samples": 1, "pool": 3, "log_every": 1, "val_every": 2, "checkpoint_every": 1,
        "scene": {"sim_fraction": 0.0}}


def test_train_and_resume(tmp_path):
    cfg_path = tmp_path / "c.json"
    cfg_path.write_text(json.dumps({**TINY, "out_dir": str(tmp_path / "run"), "iterations": 2}))
    s = train(load_config(cfg_path), progress=False)
    assert s["iterations"] == 2 and (tmp_path / "run" / "best.pt").exists()
    s = train(load_config(cfg_path, iterations=3), progress=False)
    assert s["iterations"] == 3
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [1, 2, 3] and "val_aee" in log[1]
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert best["model_name"] == "spikeflow" and best["model_args"]["window"] == 9


def test_new_run_from_other_weights(tmp_path):
    first = tmp_path / "a.json"
    first.write_text(json.dumps({**TINY, "out_dir": str(tmp_path / "a"), "iterations": 2}))
    train(load_config(first), progress=False)
    second = tmp_path / "b.json"  # lr 0: the weights stay those it started from
    second.write_text(json.dumps({**TINY, "out_dir": str(tmp_path / "b"), "iterations": 1, "lr": 0.0, "lr_min": 0.0,
                                  "init_from": str(tmp_path / "a" / "last.pt")}))
    s = train(load_config(second), progress=False)
    assert s["iterations"] == 1
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_config_errors(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"iterationz": 3}))
    with pytest.raises(ValueError, match="unknown config keys"):
        load_config(p)
    p.write_text(json.dumps({"scene": {"speed": 3}}))
    with pytest.raises(ValueError, match="unknown scene config keys"):
        load_config(p)


def test_sequence_loss_weights_last_most():
    gt = torch.zeros(1, 2, 4, 4)
    valid = torch.ones(1, 4, 4, dtype=torch.bool)
    preds = [torch.ones(1, 2, 4, 4), torch.zeros(1, 2, 4, 4)]
    assert float(sequence_loss(preds, gt, valid, gamma=0.5)) == pytest.approx(0.5)
    assert float(sequence_loss(preds[::-1], gt, valid, gamma=0.5)) == pytest.approx(1.0)


def test_sequence_loss_after_the_gate():
    preds = [torch.ones(1, 2, 2, 2)]
    gt = torch.zeros(1, 2, 2, 2)
    valid = torch.ones(1, 2, 2, dtype=torch.bool)
    gate = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    assert float(sequence_loss(preds, gt, valid)) == pytest.approx(1.0)
    assert float(sequence_loss(preds, gt, valid, gate=gate)) == pytest.approx(0.25)   # only the kept pixel counts


def test_train_with_the_still_gate(tmp_path):
    import numpy as np

    from spikevision.flow.still import TRAINING_GATE, StillGate, still_gate_weight
    from spikevision.flow.train import _augment, _gate, validation_set

    cfg = load_config(None, **TINY, out_dir=str(tmp_path / "g"), iterations=2, still_gate=True)
    val = validation_set(cfg)
    w1, w2, _, _, _, gate = val[0]
    # the loss keeps the gate the shipped weights were trained with, whatever the inference default
    assert TRAINING_GATE == StillGate(sigma=4.0, low=0.03, high=0.04, camera=None)
    np.testing.assert_array_equal(gate[0], still_gate_weight(w1[0], w2[0], dt=cfg.dts[0], gate=TRAINING_GATE))
    assert (_gate(load_config(None, **TINY), w1[0], w2[0], 10) == 1).all()   # off: ones
    rng = np.random.default_rng(0)
    g = np.arange(32 * 32, dtype=np.float32).reshape(32, 32)
    va = g > 500
    for _ in range(8):   # the gate is flipped / transposed with the mask
        out = _augment(rng, w1[0], w2[0], np.zeros((2, 32, 32), np.float32), va, np.zeros((2, 32, 32), np.float32), g)
        np.testing.assert_array_equal(out[3], out[5] > 500)
    s = train(cfg, progress=False)
    assert s["iterations"] == 2 and np.isfinite(s["best_val_aee"])
    with pytest.raises(ValueError, match="still_gate"):
        load_config(None, still_gate="yes")
