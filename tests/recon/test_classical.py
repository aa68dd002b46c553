"""TFP, TFI and TFSTP: known values, naive references, single/whole parity, classes, bad input."""

import numpy as np
import pytest

from spikevision import SpikeStream, read_dat
from spikevision.recon import TFI, TFP, TFSTP, STPParams, frame_indices, tfi, tfp, tfstp
from spikevision.recon.classical import REDS_RATE_RATIO


def naive_tfp(a, t, w, r):
    lo = t - w // 2
    return np.clip(a[lo:lo + w].mean(axis=0) / r, 0, 1)


def naive_tfi(a, t, w, r):
    """Per-pixel loops: last spike <= t and first > t inside the window, edges when missing."""
    h = w // 2
    out = np.zeros(a.shape[1:])
    for y in range(a.shape[1]):
        for x in range(a.shape[2]):
            s = np.nonzero(a[t - h:t - h + w, y, x])[0] + t - h
            p, n = s[s <= t], s[s > t]
            pv = p.max() if len(p) else t - h - 1
            nv = n.min() if len(n) else t - h + w
            out[y, x] = min(1.0, 1.0 / (nv - pv) / r)
    return out


@pytest.fixture
def spikes(rng):
    return (rng.random((70, 5, 6)) < 0.25).astype(np.uint8)


def test_known_values():
    s = np.zeros((41, 1, 2), np.uint8)
    s[::4, 0, 0] = 1
    s[::2, 0, 1] = 1
    assert np.allclose(tfp(s, at=20, rate_ratio=1.0), [[11 / 41, 21 / 41]])
    assert np.allclose(tfi(s, at=20, rate_ratio=1.0), [[0.25, 0.5]])
    # constant intervals: the STP state moves towards the fixed points of the true rate
    # (u has not fully converged after 20 frames with tau_f = 10, hence the tolerance)
    assert np.allclose(tfstp(s, at=20, rate_ratio=1.0), [[0.25, 0.5]], atol=0.01)
    long_ = np.zeros((201, 1, 1), np.uint8)
    long_[::4] = 1
    assert tfstp(long_, at=100, window=201, rate_ratio=1.0)[0, 0] == pytest.approx(0.25, abs=1e-4)
    # scaling and clipping
    full = np.ones((41, 1, 1), np.uint8)
    assert tfp(full, at=20, rate_ratio=0.6)[0, 0] == 1.0
    assert tfp(full, at=20, rate_ratio=2.0)[0, 0] == pytest.approx(0.5)


def test_no_spike_in_reach_values():
    s = np.zeros((41, 1, 3), np.uint8)
    s[5, 0, 1] = 1  # one spike before t only
    img = tfi(s, at=20, window=41, rate_ratio=1.0)
    assert img[0, 0] == pytest.approx(1 / 42)  # no spike at all: 1 / (window + 1)
    assert img[0, 1] == pytest.approx(1 / (41 - 5))  # next missing -> window end (frame 41)
    assert tfp(s, at=20)[0, 0] == 0.0
    assert tfstp(s, at=20, rate_ratio=1.0)[0, 0] == pytest.approx(1 / 42)


@pytest.mark.parametrize("window", [1, 2, 5, 41])
@pytest.mark.parametrize("every", [1, 3, 50])
def test_whole_stream_matches_naive_and_single(spikes, window, every):
    r = 0.7
    times = frame_indices(len(spikes), every=every, window=window)
    vp = tfp(spikes, every=every, window=window, rate_ratio=r)
    vi = tfi(SpikeStream(spikes), every=every, window=window, rate_ratio=r)
    assert vp.shape == vi.shape == (len(times), 5, 6)
    for i, t in enumerate(times):
        t = int(t)
        assert np.allclose(vp[i], naive_tfp(spikes, t, window, r), atol=1e-6)
        assert np.allclose(vi[i], naive_tfi(spikes, t, window, r), atol=1e-6)
        assert np.array_equal(vp[i], tfp(spikes, at=t, window=window, rate_ratio=r))
        assert np.array_equal(vi[i], tfi(spikes, at=t, window=window, rate_ratio=r))


def test_tfstp_single_whole_parity(spikes):
    v = tfstp(spikes, every=2, window=21)
    for i, t in enumerate(frame_indices(len(spikes), every=2, window=21)):
        assert np.array_equal(v[i], tfstp(spikes, at=int(t), window=21))


def test_output_range_and_dtype(spikes):
    for f in (tfp, tfi, tfstp):
        out = f(spikes, every=4)
        assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


def test_class_function_parity(spikes):
    assert np.array_equal(TFP(window=11, rate_ratio=0.5)(spikes, every=2), tfp(spikes, every=2, window=11, rate_ratio=0.5))
    assert np.array_equal(TFI(window=11)(spikes, at=30), tfi(spikes, at=30, window=11))
    p = STPParams(tau_d=2.0)
    assert np.array_equal(TFSTP(params=p)(spikes, at=30), tfstp(spikes, at=30, params=p))


def test_long_window_counts_do_not_overflow(rng):
    a = (rng.random((700, 2, 3)) < 0.9).astype(np.uint8)
    v = tfp(a, every=7, window=301, rate_ratio=1.0)
    for i, t in enumerate(frame_indices(700, every=7, window=301)):
        assert np.allclose(v[i], naive_tfp(a, int(t), 301, 1.0), atol=1e-6)
    vi = tfi(a, every=50, window=301)
    assert np.allclose(vi[0], naive_tfi(a, 150, 301, REDS_RATE_RATIO), atol=1e-6)


@pytest.mark.parametrize("f", [tfp, tfi, tfstp])
def test_bad_input(f, spikes):
    with pytest.raises(ValueError):
        f(spikes, at=30, window=0)
    with pytest.raises(TypeError):
        f(spikes, at=30, window=4.5)
    with pytest.raises(ValueError):
        f(spikes, at=30, rate_ratio=-1)
    with pytest.raises(ValueError):
        f(spikes, at=30, rate_ratio=float("nan"))
    with pytest.raises(ValueError):
        f(spikes * 2, at=30)
    with pytest.raises(ValueError):
        f(spikes[0], at=0)
    with pytest.raises(TypeError):
        f(spikes.astype(float), at=30)
    with pytest.raises(ValueError):
        f(spikes, at=30, every=2)
    with pytest.raises(ValueError):
        f(spikes, at=69)


def test_stp_params_checked():
    with pytest.raises(ValueError):
        STPParams(U=1.5)
    with pytest.raises(ValueError):
        STPParams(tau_d=0)
    with pytest.raises(TypeError):
        tfstp(np.zeros((41, 2, 2), np.uint8), at=20, params={"U": 0.1})


def test_bundled_sample_reference_protocol():
    """TFP of the bundled REDS clip equals the reference (mean of 41 frames / 0.6) and scores ~23.5 dB."""
    from PIL import Image

    from spikevision.metrics import psnr
    from spikevision.samples import sample

    smp = sample()
    s = read_dat(smp.dat, height=smp.height, width=smp.width)
    gt = np.asarray(Image.open(smp.gt), dtype=np.float64) / 255
    a = np.asarray(s)
    ref = np.clip(a[30:71].astype(np.float64).mean(axis=0) / 0.6, 0, 1)
    img = tfp(s, at=smp.gt_frame)
    assert np.abs(img - ref).max() < 1e-6
    assert psnr(img, gt, data_range=1.0) == pytest.approx(23.50, abs=0.02)
    assert psnr(tfi(s, at=50), gt, data_range=1.0) > psnr(img, gt, data_range=1.0)
