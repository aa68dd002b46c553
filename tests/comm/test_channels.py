import math

import numpy as np
import pytest
import torch

from spikevision.comm import (AWGN, BEC, BSC, Rayleigh, bec_erasure_for_snr, bpsk_ber, make_channel, normalize_power,
                              snr_to_noise_std, transmit_analog, transmit_bits)
from spikevision.comm.channels import hard_bits


def _bits(n=20000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 2.0 * torch.randint(0, 2, (4, n), generator=g).float() - 1.0


def test_noise_std_convention():
    assert snr_to_noise_std(0.0) == 1.0
    assert snr_to_noise_std(20.0) == pytest.approx(0.1)
    assert bpsk_ber(0.0) == pytest.approx(0.158655, abs=1e-5)  # Q(1)


def test_awgn_soft_bits_known_values():
    x = _bits()
    g = torch.Generator().manual_seed(1)
    soft = transmit_bits(x, AWGN(), 0.0, generator=g)
    assert soft.shape == x.shape and soft.abs().max() <= 1
    # hard decisions of the soft bits err at the BPSK BER
    err = float((torch.sign(soft) != x).float().mean())
    assert err == pytest.approx(bpsk_ber(0.0), abs=0.01)
    # the soft bit is the posterior mean: E[x * soft] = E[soft^2]
    assert float((x * soft).mean()) == pytest.approx(float((soft * soft).mean()), abs=0.01)
    assert torch.equal(transmit_bits(x, AWGN(), 0.0, generator=torch.Generator().manual_seed(1)), soft)


def test_awgn_high_snr_is_clean():
    x = _bits(1000)
    assert torch.equal(torch.sign(transmit_bits(x, AWGN(), 30.0)), x)


def test_bsc_flip_rate_and_value():
    x = _bits()
    soft = transmit_bits(x, BSC(p=0.2), 0.0, generator=torch.Generator().manual_seed(2))
    assert np.allclose(np.unique(soft.abs().numpy()), 0.6)
    assert float((torch.sign(soft) != x).float().mean()) == pytest.approx(0.2, abs=0.01)
    # p unset: BER of hard BPSK at the SNR
    soft = transmit_bits(x, BSC(), 0.0, generator=torch.Generator().manual_seed(2))
    assert float((torch.sign(soft) != x).float().mean()) == pytest.approx(bpsk_ber(0.0), abs=0.01)


def test_bec_erasures():
    x = _bits()
    soft = transmit_bits(x, BEC(eps=0.3), 0.0, generator=torch.Generator().manual_seed(3))
    assert float((soft == 0).float().mean()) == pytest.approx(0.3, abs=0.01)
    assert torch.equal(soft[soft != 0], x[soft != 0])
    assert bec_erasure_for_snr(0.0) == pytest.approx(1 - 0.4859, abs=1e-3)


def test_rayleigh_gain_per_sample():
    x = torch.ones(4000, 8)
    soft_csi = transmit_bits(x, Rayleigh(csi=True), 40.0, generator=torch.Generator().manual_seed(4))
    assert soft_csi.shape == x.shape
    z = normalize_power(torch.randn(4000, 64, generator=torch.Generator().manual_seed(5)))
    y = transmit_analog(z, Rayleigh(csi=False), 60.0, generator=torch.Generator().manual_seed(6))
    h = (y * z).mean(1)  # per-sample gain estimate (noise negligible)
    assert float((h ** 2).mean()) == pytest.approx(1.0, abs=0.08)  # E[h^2] = 1
    assert float(h.std()) > 0.2
    y_csi = transmit_analog(z, Rayleigh(csi=True), 60.0, generator=torch.Generator().manual_seed(6))
    assert float(((y_csi - z) ** 2).mean()) < 1e-3


def test_per_sample_snr_and_gradient():
    x = _bits(64).requires_grad_(True)
    snr = torch.tensor([-5.0, 0.0, 10.0, 20.0])
    soft = transmit_bits(x, AWGN(), snr, generator=torch.Generator().manual_seed(7))
    soft.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # noisier samples are less confident
    conf = soft.detach().abs().mean(1)
    assert conf[0] < conf[3]
    z = torch.randn(4, 16, requires_grad=True)
    transmit_analog(normalize_power(z), AWGN(), snr).sum().backward()
    assert torch.isfinite(z.grad).all()


def test_gradcheck_awgn_soft_bit():
    x = torch.tensor([[0.3, -0.7, 1.0]], dtype=torch.float64, requires_grad=True)
    f = lambda v: transmit_bits(v, AWGN(), 3.0, generator=torch.Generator().manual_seed(0))
    assert torch.autograd.gradcheck(f, (x,))


def test_normalize_power_known_values():
    z = normalize_power(torch.tensor([[3.0, 4.0], [0.0, 2.0]]))
    assert torch.allclose(z.pow(2).mean(1), torch.ones(2))
    assert torch.allclose(z[0], torch.tensor([3.0, 4.0]) / math.sqrt(12.5))


def test_empty_batch_shapes():
    x = torch.zeros(0, 5)
    assert transmit_bits(x, AWGN(), 0.0).shape == (0, 5)
    assert transmit_bits(torch.zeros(3, 0), BSC(p=0.1), 0.0).shape == (3, 0)
    with pytest.raises(ValueError):
        normalize_power(torch.zeros(2, 0))


def test_hard_bits():
    assert hard_bits(torch.tensor([-0.5, 0.0, 0.2])).tolist() == [0, 0, 1]


def test_make_channel():
    assert make_channel("awgn") == AWGN()
    assert make_channel("rayleigh-nocsi") == Rayleigh(csi=False)
    with pytest.raises(ValueError, match="channel must be one of"):
        make_channel("wifi")


def test_bad_inputs():
    with pytest.raises(TypeError):
        transmit_bits(np.ones(3), AWGN(), 0.0)
    with pytest.raises(TypeError):
        transmit_bits(torch.ones(3, dtype=torch.int64), AWGN(), 0.0)
    with pytest.raises(ValueError):
        transmit_bits(torch.tensor(1.0), AWGN(), 0.0)
    with pytest.raises(ValueError, match="finite"):
        transmit_bits(torch.ones(2, 3), AWGN(), float("nan"))
    with pytest.raises(TypeError):
        transmit_bits(torch.ones(2, 3), "awgn", 0.0)
    with pytest.raises(ValueError, match="per-sample SNR"):
        transmit_bits(torch.ones(2, 3), AWGN(), torch.zeros(3))
    with pytest.raises(ValueError, match="one SNR"):
        transmit_bits(torch.ones(2, 3), BSC(), torch.zeros(2))
    with pytest.raises(ValueError, match="analog"):
        transmit_analog(torch.ones(2, 3), BSC(), 0.0)
    with pytest.raises(ValueError):
        BSC(p=0.7)
    with pytest.raises(ValueError):
        BEC(eps=1.5)


def test_matches_sionna_binary_channels():
    """Cross-check: our BSC/BEC flip and erasure rates agree with Sionna's binary channels."""
    ch = pytest.importorskip("sionna.phy.channel")
    x01 = torch.randint(0, 2, (4, 20000), generator=torch.Generator().manual_seed(8)).float()
    ys = ch.BinarySymmetricChannel()(x01, 0.1)
    ours = transmit_bits(2 * x01 - 1, BSC(p=0.1), 0.0, generator=torch.Generator().manual_seed(9))
    assert float((ys != x01).float().mean()) == pytest.approx(float((torch.sign(ours) != 2 * x01 - 1).float().mean()), abs=0.01)
    ye = ch.BinaryErasureChannel()(x01, 0.2)  # erasures marked -1
    oe = transmit_bits(2 * x01 - 1, BEC(eps=0.2), 0.0, generator=torch.Generator().manual_seed(9))
    assert float((ye == -1).float().mean()) == pytest.approx(float((oe == 0).float().mean()), abs=0.01)
