"""Size detection, sidecars, headers and the 1000x1000 padded layout on files made here."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from spikevision._checks import SpikeFormatError
from spikevision.io.dat import pack_frames, write_dat
from spikevision.io.formats import load
from spikevision.io import read_sidecar
from spikevision.io.sensor import LAYOUTS, SizeWarning, detect_size, open_dat


def _scene(h: int, w: int) -> np.ndarray:
    from PIL import Image

    from spikevision.samples import sample

    img = Image.open(sample().gt).convert("L").resize((w, h))
    return np.asarray(img, np.float32) / 255.0


def _spikes(h: int, w: int, n: int) -> np.ndarray:
    from spikevision.sim import CameraSettings, simulate

    return np.asarray(simulate(_scene(h, w), settings=CameraSettings(threshold=100.0, gain=100.0, shot_noise=True), n_frames=n, seed=1))


@pytest.mark.parametrize("h,w", [(250, 400), (180, 320), (96, 136)])
def test_detect_sizes(tmp_path, h, w):
    p = tmp_path / "clip.dat"
    write_dat(p, _spikes(h, w, 60))
    g = detect_size(p)
    assert (g.height, g.width) == (h, w) and g.layout == "plain"
    s = load(p)  # no size, no sidecar: detected
    assert s.shape == (60, h, w) and s.attrs["size_from"] == "detected"


def test_bundled_sample_detected():
    from spikevision.samples import sample

    g = detect_size(sample().dat)
    assert (g.height, g.width) == (250, 400)


def test_padded_1000_layout(tmp_path):
    spikes = _spikes(1000, 1000, 24)
    lay = LAYOUTS["sps1000"]
    stored = np.zeros((24, 1000, lay.stored_width), np.uint8)
    (a0, a1), (b0, b1) = lay.keep
    stored[:, :, a0:a1], stored[:, :, b0:b1] = spikes[:, :, :500], spikes[:, :, 500:]
    stored[:, :, a1:b0] = (np.arange(1000)[None, :, None] >> np.arange(b0 - a1)[None, None, :]) & 1  # line numbers
    p = tmp_path / "cam.dat"
    p.write_bytes(pack_frames(stored).tobytes())
    s = open_dat(p, layout="sps1000")
    assert s.shape == (24, 1000, 1000)
    np.testing.assert_array_equal(s.frames(0, 3), spikes[:3])
    assert s.spike_counts(0, 2).tolist() == spikes[:2].reshape(2, -1).sum(1).tolist()
    auto = open_dat(p, sensor="auto")
    assert auto.shape == (24, 1000, 1000) and auto.attrs["layout"] == "sps1000"
    with pytest.warns(SizeWarning, match="sps1000"), pytest.raises(SpikeFormatError, match="not a multiple"):
        open_dat(p, sensor="1000x1000")  # the pixel size, but the file is stored 1024 wide


def test_header_bytes(tmp_path):
    spikes = _spikes(64, 96, 40)
    p = tmp_path / "h.dat"
    p.write_bytes(b"SPK\x00" * 8 + pack_frames(spikes).tobytes())
    with pytest.raises(SpikeFormatError, match="--header-bytes 32"):
        open_dat(p, height=64, width=96)
    s = open_dat(p, height=64, width=96, header_bytes=32)
    np.testing.assert_array_equal(s.to_numpy(), spikes)
    assert (detect_size(p, header_bytes=32).height, detect_size(p, header_bytes=32).width) == (64, 96)


def test_sidecar_used_and_checked(tmp_path):
    spikes = (np.random.default_rng(0).random((10, 12, 16)) < 0.3).astype(np.uint8)
    p = tmp_path / "sim.dat"
    write_dat(p, spikes, upright=True)
    (tmp_path / "sim.json").write_text(json.dumps({"height": 12, "width": 16, "n_frames": 10, "rate_hz": 40000.0, "upright": True}))
    s = load(p)
    assert s.shape == (10, 12, 16) and s.rate_hz == 40000.0 and s.attrs["size_from"] == "sidecar"
    np.testing.assert_array_equal(s.to_numpy(), spikes)
    (tmp_path / "sim.json").write_text("{not json")
    with pytest.raises(SpikeFormatError, match="sim.json"):
        read_sidecar(p)


def test_simulate_sidecar_read_back(tmp_path):
    from spikevision.sim import simulate_to_dat

    p = simulate_to_dat(_scene(40, 56), tmp_path / "s.dat", n_frames=20, seed=0)
    assert load(p).shape == (20, 40, 56)


def test_wrong_explicit_size_warns(tmp_path):
    p = tmp_path / "clip.dat"
    write_dat(p, _spikes(120, 160, 40))
    with pytest.warns(SizeWarning, match="120x160"):
        load(p, height=160, width=120)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SizeWarning)
        assert load(p, height=120, width=160).shape == (40, 120, 160)


def test_structureless_data_is_a_clear_error_and_no_warning(tmp_path, rng):
    p = tmp_path / "noise.dat"
    write_dat(p, (rng.random((40, 32, 48)) < 0.3).astype(np.uint8))
    with pytest.raises(SpikeFormatError, match="--sensor HxW"):
        detect_size(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SizeWarning)
        assert load(p, height=32, width=48).shape == (40, 32, 48)


def test_bad_options(tmp_path):
    p = tmp_path / "x.dat"
    p.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="layout"):
        open_dat(p, layout="nope")
    with pytest.raises(SpikeFormatError, match="header_bytes"):
        open_dat(p, height=8, width=8, header_bytes=64)
    with pytest.raises(SpikeFormatError):
        detect_size(p)


def test_detect_size_on_structureless_data_is_a_clear_error(tmp_path):
    # Constant bytes score NaN and noise scores <= 0 for every frame length: a SpikeFormatError, not a
    # StopIteration from an empty candidate list (found by the fuzz suite).
    for name, raw in (("const.dat", b"\xff" * 356), ("zeros.dat", bytes(4096)),
                      ("noise.dat", np.random.default_rng(3).integers(0, 256, 356, dtype=np.uint8).tobytes())):
        p = tmp_path / name
        p.write_bytes(raw)
        with pytest.raises(SpikeFormatError, match="cannot detect|too few"):
            detect_size(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SizeWarning)
        assert load(tmp_path / "noise.dat", height=9, width=8, drop_partial=True).shape[1:] == (9, 8)
