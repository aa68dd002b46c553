"""Exposure (rate_ratio or "auto") for every method; learned models at rates up to 1 spike/frame; tiles; threads."""

from __future__ import annotations

import numpy as np
import pytest

from spikevision.recon import reconstruct
from spikevision.recon.exposure import AUTO_MIN, estimate_rate_ratio, parse_rate_ratio, resolve_rate_ratio


def _gt():
    from PIL import Image

    from spikevision.samples import sample

    return np.asarray(Image.open(sample().gt).convert("L"), np.float32) / 255.0


@pytest.fixture(scope="module")
def bright():
    """The bundled GT frame seen by a camera whose white fires every frame (rate ratio 1.0), 81 frames."""
    from spikevision.sim import CameraSettings, simulate

    gt = _gt()
    return np.asarray(simulate(gt, settings=CameraSettings(threshold=100.0, gain=100.0), n_frames=81, seed=0)), gt


def test_estimate_known_values(rng):
    assert estimate_rate_ratio((rng.random((60, 16, 16)) < 0.95).astype(np.uint8)) == pytest.approx(1.0)
    frames = np.zeros((60, 16, 16), np.uint8)
    frames[::2, :4, :4] = 1  # a bright patch at 0.5 spike/frame, the rest dark
    assert estimate_rate_ratio(frames) == pytest.approx(0.5, abs=0.06)
    assert estimate_rate_ratio(np.zeros((30, 8, 8), np.uint8)) == AUTO_MIN


def test_estimate_bad_input():
    with pytest.raises(ValueError, match="empty"):
        estimate_rate_ratio(np.zeros((0, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="percentile"):
        estimate_rate_ratio(np.ones((5, 4, 4), np.uint8), percentile=100)
    with pytest.raises(ValueError, match="auto"):
        parse_rate_ratio("bright")
    with pytest.raises(ValueError):
        parse_rate_ratio(-1.0)
    assert parse_rate_ratio(" AUTO ") == "auto" and parse_rate_ratio("0.8") == 0.8
    assert resolve_rate_ratio(0.6, np.ones((3, 2, 2), np.uint8)) == 0.6


def test_reds_sample_auto_is_near_reds_convention():
    from spikevision.io.dat import read_dat
    from spikevision.samples import sample

    s = sample()
    with read_dat(s.dat, height=s.height, width=s.width) as st:
        assert 0.45 < estimate_rate_ratio(st) < 0.7


@pytest.mark.parametrize("method", ["tfp", "tfi", "tfstp", "atfi", "cnn"])
def test_auto_exposure_does_not_clip_bright_recordings(bright, method):
    spikes, gt = bright
    fixed = reconstruct(spikes, method=method, at=40, rate_ratio=0.6)
    auto = reconstruct(spikes, method=method, at=40, rate_ratio="auto")
    white = lambda img: float((np.round(img * 255) >= 255).mean())  # noqa: E731
    assert white(fixed) > 0.05  # the REDS convention clips a bright recording
    if method in ("tfp", "atfi", "cnn"):
        assert white(auto) < 0.01  # the bar: under 1 % of pixels at 255
    else:  # one interval (TFI) or a short synapse memory (TFSTP) reads rates > 0.5 as 1: less, not no clipping
        assert white(auto) <= white(fixed)
    # shading kept: the reconstruction follows the GT's grey levels
    assert np.corrcoef(auto.ravel(), gt.ravel())[0, 1] > 0.85


def test_learned_scale_is_exact_at_the_models_own_ratio(bright):
    from spikevision.recon.learned import reconstruct_learned

    win = bright[0][20:61, :64, :96]
    default = reconstruct_learned(win, model="cnn")
    same = reconstruct_learned(win, model="cnn", rate_ratio=0.6)
    np.testing.assert_array_equal(default, same)
    one = reconstruct_learned(win, model="cnn", rate_ratio=1.0)
    assert float((default >= 1).mean()) > 0.05 > float((one >= 1).mean())
    # below the clip the images differ by the exposure factor exactly
    ok = default < 0.999
    np.testing.assert_allclose(one[ok], default[ok] * 0.6, atol=1e-6)
    with pytest.raises(ValueError, match="auto"):
        reconstruct_learned(win, model="cnn", rate_ratio="auto")


@pytest.mark.parametrize("model,min_db", [("cnn", 45.0), ("snn", 38.0)])
def test_tiles_match_the_whole_frame(model, min_db):
    """Tiled and whole images agree within the documented tolerance: PSNR between them >= 45 dB (CNN),
    >= 38 dB (SNN: its spikes flip on rounding-level differences; the same frame with 8 more columns,
    cropped, already differs at ~48 dB), and the same PSNR against the GT within 0.2 dB."""
    from spikevision.io.dat import read_dat
    from spikevision.metrics import psnr
    from spikevision.recon.learned import reconstruct_learned
    from spikevision.samples import sample

    pytest.importorskip("spikingjelly") if model == "snn" else None
    s = sample()
    with read_dat(s.dat, height=s.height, width=s.width) as st:
        win = st.window(50, 41)[:, 64:160, 96:224]
    gt = _gt()[64:160, 96:224]
    whole = reconstruct_learned(win, model=model, tile=0, threads=1)
    tiled = reconstruct_learned(win, model=model, tile=48, threads=1)
    assert psnr(tiled, whole, data_range=1.0) >= min_db
    assert abs(psnr(tiled, gt, data_range=1.0) - psnr(whole, gt, data_range=1.0)) < 0.2


def test_tile_bad_input():
    from spikevision.recon.learned import reconstruct_learned

    with pytest.raises(ValueError, match="tile"):
        reconstruct_learned(np.zeros((41, 8, 8), np.uint8), model="cnn", tile=-1)


def test_tile_spans_cover_each_pixel_once():
    from spikevision.recon.learned.api import _tile_spans

    spans = _tile_spans(250, 96, 32)
    kept = np.concatenate([np.arange(a, b) for _, _, a, b in spans])
    np.testing.assert_array_equal(kept, np.arange(250))
    assert all(lo <= a and b <= hi for lo, hi, a, b in spans)


def test_threads_rule(monkeypatch):
    from spikevision import _threads

    assert _threads.inference_threads(3) == 3
    monkeypatch.setenv(_threads.ENV_THREADS, "2")
    assert _threads.inference_threads() == 2
    monkeypatch.setenv(_threads.ENV_THREADS, "many")
    with pytest.raises(ValueError, match="SPIKEVISION_THREADS"):
        _threads.inference_threads()
    monkeypatch.delenv(_threads.ENV_THREADS)
    monkeypatch.setattr(_threads, "_CACHE", {"time": -1e9, "value": None})
    monkeypatch.setattr(_threads, "_allowed_cpus", lambda: [0, 1])
    monkeypatch.setattr(_threads, "busy_cores", lambda cpus, **_: 1)
    assert _threads.inference_threads() == 1  # one of two cores busy: one thread
    with pytest.raises(ValueError):
        _threads.inference_threads(0)


def test_busy_cores_counts_within_range():
    from spikevision._threads import _allowed_cpus, busy_cores

    cpus = _allowed_cpus()
    assert 0 <= busy_cores(cpus, sample_s=0.01) <= len(cpus)
