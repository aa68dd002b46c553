"""Fixtures shared by the flow tests."""

import numpy as np
import pytest

SHIFT = (0.15, 0.1)  # px per spike frame: (3, 2) px over dt = 20


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A small untrained spikeflow checkpoint (21-frame windows, dts 10 and 20) for fast API tests."""
    torch = pytest.importorskip("torch")
    from spikevision.flow.net import FlowNetConfig, SpikeFlowNet
    from spikevision.learned import Checkpoint, save_checkpoint

    cfg = FlowNetConfig(widths=(8, 8, 8), feature_dim=8, hidden=8, context=8, learned_channels=4, iters=2)
    torch.manual_seed(0)
    net = SpikeFlowNet(cfg)
    p = tmp_path_factory.mktemp("w") / "tiny.pt"
    save_checkpoint(p, Checkpoint("flow", "spikeflow", cfg.to_dict(), net.state_dict(), {"dts": [10, 20]}))
    return p


def _texture(rng, h, w):
    import cv2

    g = rng.random((h // 6 + 2, w // 6 + 2)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _translating_spikes(n=90, h=64, w=96, seed=0):
    import cv2

    from spikevision.sim import fire

    rng = np.random.default_rng(seed)
    tex = _texture(rng, h + 40, w + 40)
    frames = []
    for t in range(n):
        m = np.float32([[1, 0, SHIFT[0] * t - 20], [0, 1, SHIFT[1] * t - 20]])
        frames.append(cv2.warpAffine(tex, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return fire(np.stack(frames).clip(0, 1), seed=seed)


@pytest.fixture(scope="session")
def translating_spikes():
    """``make(n=90, h=64, w=96, seed=0)``: 0/1 spikes ``(n, h, w)`` of a smooth random texture translating by
    ``SHIFT`` = (0.15, 0.1) px per frame (right, down)."""
    return _translating_spikes
