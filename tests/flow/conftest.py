"""Fixtures shared by the flow tests."""

import pytest


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A small untrained spikeflow checkpoint (21-frame windows, dts 10 and 20) for fast API tests."""
    torch = pytest.importorskip("torch")
    from spikevision.flow.net import FlowNetConfig, SpikeFlowNet

    cfg = FlowNetConfig(widths=(8, 8, 8), feature_dim=8, hidden=8, context=8, learned_channels=4, iters=2)
    torch.manual_seed(0)
    net = SpikeFlowNet(cfg)
    p = tmp_path_factory.mktemp("w") / "tiny.pt"
    torch.save({"model": net.state_dict(), "model_name": "spikeflow", "model_args": cfg.to_dict(), "dts": [10, 20]}, p)
    return p
