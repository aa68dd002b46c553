"""ATFI, the adaptive multi-interval method."""

import numpy as np
import pytest

from spikevision import read_dat
from spikevision.recon import ATFI, atfi, frame_indices, tfp


def integrate_and_fire(intensity, rate_ratio=0.6, phase=None):
    """Deterministic spike camera: accumulate rate_ratio * intensity per frame, fire at 1."""
    t, h, w = intensity.shape
    acc = np.zeros((h, w)) if phase is None else phase.copy()
    out = np.zeros((t, h, w), np.uint8)
    for i in range(t):
        acc += rate_ratio * intensity[i]
        out[i] = acc >= 1
        acc[out[i].astype(bool)] -= 1
    return out


def test_static_scene_is_nearly_exact(rng):
    truth = rng.uniform(0.2, 1.0, (6, 8))
    s = integrate_and_fire(np.broadcast_to(truth, (81, 6, 8)), phase=rng.random((6, 8)))
    err_a = np.abs(atfi(s, at=40) - truth).mean()
    err_p = np.abs(tfp(s, at=40) - truth).mean()
    assert err_a < err_p / 2


def test_step_change_adapts():
    inten = np.full((81, 1, 1), 0.3)
    inten[38:] = 0.9  # the pixel brightens two frames before t = 40
    s = integrate_and_fire(inten)
    assert atfi(s, at=45)[0, 0] == pytest.approx(0.9, abs=0.1)
    assert tfp(s, at=45)[0, 0] < 0.75  # the fixed window mixes both levels


def test_single_whole_parity_and_class(rng):
    s = (rng.random((80, 5, 6)) < 0.35).astype(np.uint8)
    v = atfi(s, every=3)
    for i, t in enumerate(frame_indices(80, every=3, window=41)):
        assert np.array_equal(v[i], atfi(s, at=int(t)))
    assert np.array_equal(ATFI(tolerance=2.0)(s, at=40), atfi(s, at=40, tolerance=2.0))
    assert v.dtype == np.float32 and v.min() >= 0 and v.max() <= 1


def test_dark_pixels_fall_back_to_tfp():
    s = np.zeros((41, 1, 2), np.uint8)
    s[3, 0, 0] = 1
    s[10, 0, 0] = 1  # spikes only before t
    out = atfi(s, at=20)
    assert out[0, 0] == pytest.approx(tfp(s, at=20)[0, 0])
    assert out[0, 1] == 0.0


def test_bad_input(rng):
    s = (rng.random((50, 3, 3)) < 0.3).astype(np.uint8)
    with pytest.raises(ValueError):
        atfi(s, at=25, tolerance=-1)
    with pytest.raises(ValueError):
        atfi(s, at=25, max_intervals=0)
    with pytest.raises(ValueError):
        atfi(s, at=25, window=40_000)


def test_beats_tfp_on_bundled_sample():
    from PIL import Image

    from spikevision.metrics import psnr
    from spikevision.samples import sample

    smp = sample()
    s = read_dat(smp.dat, height=smp.height, width=smp.width)
    gt = np.asarray(Image.open(smp.gt), dtype=np.float64) / 255
    assert psnr(atfi(s, at=50), gt, data_range=1.0) > psnr(tfp(s, at=50), gt, data_range=1.0) + 3


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("k", [1, 3, 12])
def test_single_output_scan_matches_the_shared_register_scan(forward, k):
    # One output takes a direct path (spikes ranked by running count); several share a shift register.
    from spikevision.recon.adaptive import _scan

    rng = np.random.default_rng(k)
    frames = (rng.random((60, 7, 9)) < rng.uniform(0.02, 0.6, (7, 9))).astype(np.uint8)
    for window in (1, 2, 21, 41):
        for t in (window // 2 + 1, 30, 58 - (window - 1 - window // 2)):
            one = _scan(frames, np.array([t]), window=window, k=k, forward=forward)
            two = _scan(frames, np.array([t, t + 1]) if forward else np.array([t - 1, t]), window=window, k=k,
                        forward=forward)
            assert np.array_equal(one[0], two[0] if forward else two[1]), (window, t)


@pytest.mark.parametrize("seed", range(6))
def test_compiled_kernel_gives_the_numpy_bytes(seed):
    """The compiled kernel (numba) and the NumPy kernel agree to the byte on random streams and settings,
    short windows (spike masks) and long ones (> 127 frames: spike times)."""
    from functools import partial

    from spikevision.recon import _blocks, adaptive

    if adaptive._compiled() is None:
        pytest.skip("no compiled kernel here (numba not installed, or SPIKEVISION_RECON_BACKEND=numpy)")
    rng = np.random.default_rng(seed)
    for _ in range(6):
        t, h, w = int(rng.integers(5, 300)), int(rng.integers(1, 17)), int(rng.integers(1, 17))
        p = rng.random((h, w)) * rng.choice([0.05, 0.3, 0.9])
        s = (rng.random((t, h, w)) < p).astype(np.uint8)
        window = int(rng.integers(1, t + 1))
        kw = dict(window=window, rate_ratio=float(rng.choice([0.3, 0.6, 1.0])), tolerance=float(rng.choice([0.0, 1.0, 2.5])),
                  rel_tolerance=float(rng.choice([0.0, 0.05, 0.2])), max_intervals=int(rng.integers(1, 16)))
        ref = partial(adaptive._atfi_kernel_numpy, **kw)
        whole = _blocks.run(s, ref, at=None, every=1, window=window, progress=False, desc="atfi", max_outputs=16)
        assert atfi(s, every=1, **kw).tobytes() == whole.tobytes()
        at = int(rng.integers(window // 2, t - window + window // 2 + 1))
        one = _blocks.run(s, ref, at=at, every=None, window=window, progress=False, desc="atfi")
        assert atfi(s, at=at, **kw).tobytes() == one.tobytes()
