import json

import numpy as np
import pytest

from spikevision.comm.data import CommDataConfig, HELD_OUT, TRAIN_IMAGES, make_batch, texture
from spikevision.comm.evaluate import load_code
from spikevision.comm.train import load_config, train


def test_held_out_not_in_training():
    assert not set(TRAIN_IMAGES) & {h.split(":")[-1] for h in HELD_OUT}


def test_make_batch_shapes_and_seed():
    cfg = CommDataConfig(patch=32, texture_fraction=0.5)
    s, g = make_batch(np.random.default_rng(0), 3, cfg)
    assert s.shape == (3, 41, 32, 32) and s.dtype == np.uint8 and set(np.unique(s)) <= {0, 1}
    assert g.shape == (3, 1, 32, 32) and 0 <= g.min() and g.max() <= 1
    s2, g2 = make_batch(np.random.default_rng(0), 3, cfg)
    assert np.array_equal(s, s2) and np.array_equal(g, g2)
    # spike rate follows the REDS preset: about 0.6 x intensity
    assert abs(s.mean() - 0.6 * g.mean()) < 0.03


def test_texture_range():
    t = texture(np.random.default_rng(1), 40)
    assert t.shape == (40, 40) and t.min() >= 0 and t.max() <= 1


def _cfg(tmp_path, **kw):
    p = tmp_path / "cfg.json"
    p.write_text(json.dumps({"out_dir": str(tmp_path / "run"), "iterations": 2, "batch": 2, "val_samples": 2,
                             "log_every": 1, "val_every": 2, "checkpoint_every": 1, "val_snrs": [0.0],
                             "code": {"symbols_per_position": 8, "steps": 4, "width": 4, "dec_width": 8},
                             "data": {"patch": 32}, **kw}))
    return p


def test_train_resume_and_load(tmp_path):
    cfg = load_config(_cfg(tmp_path))
    s = train(cfg, progress=False)
    assert s["iterations"] == 2
    run = tmp_path / "run"
    assert (run / "last.pt").exists() and (run / "best_snn.pt").exists() and (run / "best_analog.pt").exists()
    s2 = train(load_config(_cfg(tmp_path), iterations=3), progress=False)  # resumes at 2
    assert s2["iterations"] == 3
    lines = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines()]
    assert [r["it"] for r in lines] == [1, 2, 3]
    code = load_code(run / "best_snn.pt")
    assert code.cfg.kind == "snn" and not code.training


def test_config_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown config keys"):
        load_config(_cfg(tmp_path, iteratons=3))
    with pytest.raises(ValueError, match="kinds"):
        load_config(_cfg(tmp_path, kinds=["snn", "lstm"]))
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"data": {"patchsize": 3}}))
    with pytest.raises(ValueError, match="unknown data config"):
        load_config(p)


def test_init_from_starts_from_other_weights(tmp_path):
    import torch

    train(load_config(_cfg(tmp_path)), progress=False)
    first = torch.load(tmp_path / "run" / "best_snn.pt", weights_only=False)["state"]
    p = tmp_path / "cfg2.json"
    cfg = json.loads(_cfg(tmp_path).read_text())
    cfg.update(out_dir=str(tmp_path / "run2"), iterations=1, lr=1e-12, warmup=1, val_every=1000, log_every=1000,
               kinds=["snn"], init_from={"snn": str(tmp_path / "run" / "best_snn.pt")})
    p.write_text(json.dumps(cfg))
    train(load_config(p), progress=False)
    second = torch.load(tmp_path / "run2" / "best_snn.pt", weights_only=False)["state"]
    w = [k for k, v in first.items() if v.is_floating_point() and "weight" in k][0]
    assert torch.allclose(first[w], second[w], atol=1e-6)
    with pytest.raises(ValueError, match="init_from"):
        load_config(_cfg(tmp_path, init_from={"cnn": "x.pt"}))
    cfg.update(out_dir=str(tmp_path / "run3"), init_from={"snn": str(tmp_path / "absent.pt")})
    p.write_text(json.dumps(cfg))
    with pytest.raises(FileNotFoundError, match="absent"):
        train(load_config(p), progress=False)
