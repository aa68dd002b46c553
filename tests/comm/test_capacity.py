import math

import pytest

from spikevision.comm import AWGN, BEC, BSC, Rayleigh, bec_capacity, biawgn_capacity, binary_capacity, bsc_capacity, gaussian_capacity
from spikevision.comm.capacity import h2


def test_known_values():
    # BI-AWGN values of the published capacity curve (real BPSK, Es/sigma^2)
    assert biawgn_capacity(0.0) == pytest.approx(0.4859, abs=2e-4)
    assert biawgn_capacity(-5.0) == pytest.approx(0.1977, abs=2e-4)
    assert biawgn_capacity(5.0) == pytest.approx(0.8592, abs=2e-4)
    assert biawgn_capacity(20.0) == pytest.approx(1.0, abs=1e-6)
    assert bsc_capacity(0.11) == pytest.approx(0.5, abs=1e-3)
    assert bsc_capacity(0.5) == 0.0 and bsc_capacity(0.0) == 1.0
    assert bec_capacity(0.25) == 0.75
    assert gaussian_capacity(0.0) == pytest.approx(0.5)
    assert gaussian_capacity(0.0, complex_use=True) == pytest.approx(1.0)


def test_bounds_and_monotone():
    prev = 0.0
    for s in range(-15, 21, 5):
        c = biawgn_capacity(float(s))
        assert prev <= c <= min(1.0, gaussian_capacity(float(s))) + 1e-9
        prev = c


def test_low_snr_binary_close_to_gaussian():
    # at low SNR BPSK loses almost nothing against Gaussian inputs
    assert biawgn_capacity(-15.0) == pytest.approx(gaussian_capacity(-15.0), rel=0.03)


def test_h2_symmetric():
    assert h2(0.2) == pytest.approx(h2(0.8))
    assert h2(0.5) == pytest.approx(1.0)


def test_binary_capacity_per_channel():
    assert binary_capacity(AWGN(), 0.0) == pytest.approx(biawgn_capacity(0.0))
    assert binary_capacity(Rayleigh(), 0.0) == pytest.approx(biawgn_capacity(0.0))
    assert binary_capacity(BSC(p=0.11), 0.0) == pytest.approx(0.5, abs=1e-3)
    assert binary_capacity(BEC(eps=0.3), 0.0) == pytest.approx(0.7)
    # hard decisions lose capacity; the capacity-matched BEC keeps it
    assert binary_capacity(BSC(), 0.0) < binary_capacity(AWGN(), 0.0)
    assert binary_capacity(BEC(), 0.0) == pytest.approx(biawgn_capacity(0.0))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_bad_snr(bad):
    with pytest.raises(ValueError):
        biawgn_capacity(bad)


def test_bad_probabilities():
    with pytest.raises(ValueError):
        bsc_capacity(1.5)
    with pytest.raises(ValueError):
        bec_capacity(-0.1)
    with pytest.raises(TypeError):
        biawgn_capacity("3")
    with pytest.raises(TypeError):
        binary_capacity("awgn", 0.0)
    assert math.isfinite(biawgn_capacity(-30.0))
