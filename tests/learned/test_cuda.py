"""Training on a GPU: runs where CUDA exists (with bf16 mixed precision), skips with the reason elsewhere."""

import json

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def test_fit_on_cuda_with_mixed_precision(tmp_path):
    from spikevision.learned import fit, load_checkpoint, load_config
    from spikevision.recon.learned import load_model

    p = tmp_path / "c.json"
    p.write_text(json.dumps({"task": "recon", "model": "cnn", "model_args": {"width": 4, "vel_width": 4}, "batch": 4,
                             "iterations": 3, "val_samples": 2, "log_every": 1, "val_every": 3, "amp": "bf16",
                             "data": {"patch": 32, "procedural": 2}}))
    s = fit(load_config(p), out=tmp_path / "run", device="cuda", progress=False)
    assert s["iterations"] == 3
    ck = load_checkpoint(tmp_path / "run" / "best.pt", task="recon")
    assert all(v.device.type == "cpu" for v in ck.state.values())   # checkpoints load anywhere
    assert load_model("cnn", str(tmp_path / "run" / "best.pt")) is not None
