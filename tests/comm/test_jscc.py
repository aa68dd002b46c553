import numpy as np
import pytest
import torch

from spikevision.comm import AWGN, BSC, AnalogJSCC, CodeConfig, SpikingJSCC, build_code, channel_uses
from spikevision.comm.nets import pad_to_stride


def _win(b=2, h=20, w=36, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(b, 41, h, w, generator=g) < 0.3).float()


def test_channel_uses_counts_padding():
    assert channel_uses(250, 400, 8) == 16 * 25 * 8
    assert channel_uses(256, 256, 8) == 256 * 256 // 32
    assert channel_uses(1, 1, 4) == 4


def test_spiking_shapes_and_bits(tiny_cfg):
    torch.manual_seed(0)
    code = SpikingJSCC(tiny_cfg).eval()
    x = _win()
    bits = code.encode(x)
    assert bits.shape == (2, channel_uses(20, 36, 8))
    assert set(torch.unique(bits).tolist()) <= {0.0, 1.0}
    out = code(x, AWGN(), 0.0, generator=torch.Generator().manual_seed(0))
    out = out.detach()
    assert out.shape == (2, 1, 20, 36) and float(out.min()) >= 0 and float(out.max()) <= 1
    # encode -> transmit -> decode is the forward pass
    rx = code.transmit(bits, AWGN(), 0.0, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(code.decode(rx, (20, 36)), out)
    # other binary channels plug in unchanged
    assert code(x, BSC(p=0.1), 0.0).shape == out.shape


def test_analog_unit_power(tiny_cfg):
    cfg = CodeConfig(**{**tiny_cfg.to_dict(), "kind": "analog"})
    code = AnalogJSCC(cfg).eval()
    z = code.encode(_win())
    assert torch.allclose(z.pow(2).mean(1), torch.ones(2), atol=1e-5)
    assert code(_win(), AWGN(), 10.0).shape == (2, 1, 20, 36)
    with pytest.raises(ValueError, match="analog"):
        code(_win(), BSC(), 0.0)


def test_surrogate_gradient_reaches_encoder(tiny_cfg):
    torch.manual_seed(0)
    code = SpikingJSCC(tiny_cfg)
    out = code(_win(h=32, w=32), AWGN(), torch.tensor([0.0, 10.0]))
    out.mean().backward()
    g = code.encoder.stem[0].weight.grad
    assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0


def test_deterministic_under_seed(tiny_cfg):
    torch.manual_seed(0)
    code = SpikingJSCC(tiny_cfg).eval()
    a = code(_win(), AWGN(), 0.0, generator=torch.Generator().manual_seed(3))
    b = code(_win(), AWGN(), 0.0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_build_code_parity(tiny_cfg):
    assert isinstance(build_code(tiny_cfg), SpikingJSCC)
    assert isinstance(build_code(CodeConfig(kind="analog", width=4, dec_width=8)), AnalogJSCC)
    assert tiny_cfg.bandwidth == pytest.approx(1 / 32)


def test_pad_to_stride():
    x, size = pad_to_stride(torch.zeros(1, 1, 17, 32))
    assert x.shape[-2:] == (32, 32) and size == (17, 32)


def test_bad_inputs(tiny_cfg):
    code = SpikingJSCC(tiny_cfg)
    with pytest.raises(TypeError):
        code.encode(np.zeros((1, 41, 16, 16)))
    with pytest.raises(ValueError, match="41"):
        code.encode(torch.zeros(1, 40, 16, 16))
    with pytest.raises(ValueError, match="empty"):
        code.encode(torch.zeros(0, 41, 16, 16))
    with pytest.raises(ValueError, match="received"):
        code.decode(torch.zeros(1, 7), (16, 16))
    with pytest.raises(ValueError):
        CodeConfig(kind="snn", symbols_per_position=6, steps=4)
    with pytest.raises(ValueError):
        CodeConfig(kind="rate")
    with pytest.raises(ValueError):
        SpikingJSCC(CodeConfig(kind="analog"))
