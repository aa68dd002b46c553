import numpy as np
import pytest

from spikevision.comm import AWGN, BEC, BSC, Rayleigh, SeparateSettings, biawgn_capacity, ldpc_rate, separate_coding
from spikevision.comm.separate import RATE_LADDER, failure_image

FAST = SeparateSettings(codecs=("webp",), scales=(1.0, 0.5, 0.25))


@pytest.fixture
def img():
    yy, xx = np.mgrid[0:64, 0:96].astype(np.float32)
    return (0.45 + 0.35 * np.sin(xx / 6.0) * np.cos(yy / 9.0)).astype(np.float32)


def test_ideal_budget_is_capacity(img):
    n = 2000
    r = separate_coding(img, channel=AWGN(), snr_db=0.0, n_uses=n, settings=FAST)
    assert r.budget_bytes == int(n * biawgn_capacity(0.0) // 8)
    assert r.ok and r.payload_bytes <= r.budget_bytes and r.image.shape == img.shape


def test_cliff_to_mean_gray(img):
    r = separate_coding(img, channel=AWGN(), snr_db=-15.0, n_uses=400, settings=FAST)
    assert not r.ok
    assert np.allclose(r.image, img.mean())
    assert np.allclose(failure_image(img), img.mean())


def test_ideal_better_with_snr(img):
    errs = []
    for snr in (-5.0, 0.0, 10.0):
        r = separate_coding(img, channel=AWGN(), snr_db=snr, n_uses=3000, settings=FAST)
        errs.append(float(np.mean((r.image - img) ** 2)))
    assert errs[0] >= errs[1] >= errs[2]


def test_ideal_binary_channels_and_fading(img):
    assert separate_coding(img, channel=BSC(), snr_db=10.0, n_uses=3000, settings=FAST).ok
    assert separate_coding(img, channel=BEC(eps=0.5), snr_db=0.0, n_uses=3000, settings=FAST).budget_bytes == 187
    oks = [separate_coding(img, channel=Rayleigh(), snr_db=10.0, n_uses=3000, settings=FAST, seed=s).ok for s in range(30)]
    assert 15 <= sum(oks) <= 30  # about 10 % outage


def test_rate_ladder_sorted():
    eff = [r / m for r, m in RATE_LADDER]
    assert eff == sorted(eff) and min(eff) == pytest.approx(0.05) and max(eff) == pytest.approx(0.9)


def test_ldpc_rates_and_transmission(img):
    pytest.importorskip("sionna")
    n = 1200
    assert ldpc_rate(AWGN(), 10.0, n, trials=4) == (0.9, 1)
    assert ldpc_rate(AWGN(), -25.0, n, trials=4) is None  # below every rate's capacity: no simulation needed
    r = separate_coding(img, channel=AWGN(), snr_db=10.0, n_uses=n, bound="ldpc",
                        settings=SeparateSettings(codecs=("webp",), scales=(0.5, 0.25), trials=4))
    assert r.ok and r.rate == pytest.approx(0.9) and r.payload_bytes <= r.budget_bytes
    ideal = separate_coding(img, channel=AWGN(), snr_db=10.0, n_uses=n, settings=FAST)
    assert r.budget_bytes < ideal.budget_bytes  # a real code carries less than capacity


def test_bad_inputs(img):
    with pytest.raises(ValueError):
        separate_coding(img, channel=AWGN(), snr_db=0.0, n_uses=0)
    with pytest.raises(ValueError):
        separate_coding(img, channel=AWGN(), snr_db=0.0, n_uses=100, bound="shannon")
    with pytest.raises(ValueError):
        separate_coding(np.zeros((4, 4, 3), np.float32), channel=AWGN(), snr_db=0.0, n_uses=100)
