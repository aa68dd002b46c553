import json
from fractions import Fraction

import numpy as np
import pytest
import torch
from PIL import Image

from spikevision.comm import (AnalogJSCC, CodeConfig, Sample, SpikingJSCC, evaluate, load_samples, parse_bandwidth,
                              parse_snrs, plot_results, results_table, send)
from spikevision.comm.evaluate import code_name


@pytest.fixture
def codes(tiny_cfg):
    torch.manual_seed(0)
    return {"snn": SpikingJSCC(tiny_cfg).eval(),
            "analog": AnalogJSCC(CodeConfig(**{**tiny_cfg.to_dict(), "kind": "analog"})).eval()}


@pytest.fixture
def image_dir(tmp_path):
    yy, xx = np.mgrid[0:40, 0:56]
    Image.fromarray((127 + 100 * np.sin(xx / 4) * np.cos(yy / 6)).astype(np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.full((24, 24, 3), 90, np.uint8)).save(tmp_path / "b.jpg")
    (tmp_path / "notes.txt").write_text("ignored")
    return tmp_path


def test_parse_snrs():
    assert parse_snrs("-5:20:5") == [-5, 0, 5, 10, 15, 20]
    assert parse_snrs("0,10") == [0, 10]
    assert parse_snrs([1, 2.5]) == [1.0, 2.5]
    for bad in ("5:0:1", "a:b:c", "", "0:10:0", "1,x"):
        with pytest.raises(ValueError):
            parse_snrs(bad)


def test_parse_bandwidth():
    assert parse_bandwidth("1/32") == Fraction(1, 32)
    assert parse_bandwidth(0.0625) == Fraction(1, 16)
    assert code_name("snn", "1/32") == "comm_snn_bw32"
    for bad in ("0", "2", "1/3", "x"):
        with pytest.raises(ValueError):
            parse_bandwidth(bad)


def test_load_image_folder(image_dir):
    s = load_samples(image_dir, seed=1)
    assert [x.name for x in s] == ["a", "b"]
    assert s[0].window.shape == (41, 40, 56) and s[0].window.dtype == np.uint8
    assert s[1].gt.shape == (24, 24) and s[1].gt.dtype == np.float32
    assert abs(s[0].window.mean() - 0.6 * s[0].gt.mean()) < 0.02
    small = load_samples(image_dir, max_side=28)
    assert max(small[0].gt.shape) == 28


def test_load_reds_style(tmp_path):
    from spikevision.io.dat import write_dat

    (tmp_path / "spike").mkdir()
    (tmp_path / "gt").mkdir()
    rng = np.random.default_rng(0)
    write_dat(tmp_path / "spike" / "clip.dat", (rng.random((45, 250, 400)) < 0.3).astype(np.uint8))
    Image.fromarray(np.full((250, 400), 128, np.uint8)).save(tmp_path / "gt" / "clip.png")
    s = load_samples(tmp_path)
    assert s[0].window.shape == (41, 250, 400) and s[0].gt.shape == (250, 400)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_samples(tmp_path / "missing")
    with pytest.raises(ValueError, match="neither"):
        load_samples(tmp_path)


def test_evaluate_rows(image_dir, codes):
    samples = load_samples(image_dir)
    rows = evaluate(samples, channel="awgn", snrs=[0.0, 20.0], codes=codes,
                    methods=["spiking_jscc", "analog_jscc", "separate_ideal"])
    assert len(rows) == 6
    r = rows[0]
    assert {"method", "channel", "snr_db", "bandwidth", "psnr", "ssim"} <= set(r)
    assert r["bandwidth"] == pytest.approx((48 * 64 + 32 * 32) * 8 / 256 / (40 * 56 + 24 * 24), abs=1e-5)
    sep = [x for x in rows if x["method"] == "separate_ideal"]
    assert all("failures" in x for x in sep)
    json.dumps({"results": rows})
    # deterministic
    assert evaluate(samples, channel="awgn", snrs=[0.0], codes=codes, methods=["spiking_jscc"])[0] == rows[0]
    table = results_table(rows)
    assert "spiking_jscc" in table and "20" in table
    img = plot_results(rows)
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8


def test_evaluate_binary_channel_skips_analog(codes):
    rng = np.random.default_rng(0)
    gt = np.full((16, 16), 0.5, np.float32)
    smp = [Sample("flat", (rng.random((41, 16, 16)) < 0.3).astype(np.uint8), gt)]
    rows = evaluate(smp, channel="bsc", snrs=[0.0], codes=codes, methods=["spiking_jscc", "analog_jscc"])
    assert [r["method"] for r in rows] == ["spiking_jscc"]


def test_evaluate_errors(codes):
    with pytest.raises(ValueError, match="no samples"):
        evaluate([], codes=codes)
    smp = [Sample("x", np.zeros((41, 16, 16), np.uint8), np.zeros((16, 16), np.float32))]
    with pytest.raises(ValueError, match="methods"):
        evaluate(smp, methods=["magic"], codes=codes)
    with pytest.raises(ValueError, match="symbols"):
        evaluate(smp, bandwidth="1/16", codes=codes, methods=["spiking_jscc"])


def test_send_parity_with_code(codes):
    rng = np.random.default_rng(0)
    win = (rng.random((41, 24, 40)) < 0.3).astype(np.uint8)
    img = send(win, snr_db=5.0, code=codes["snn"], seed=2)
    assert img.shape == (24, 40) and img.dtype == np.float32
    with torch.inference_mode():
        ref = codes["snn"](torch.from_numpy(win[None]).float(), __import__("spikevision.comm", fromlist=["AWGN"]).AWGN(),
                           5.0, generator=torch.Generator().manual_seed(2))[0, 0].numpy()
    assert np.array_equal(img, ref)
    sep = send(win, snr_db=20.0, method="separate_ideal")
    assert sep.shape == (24, 40)
    with pytest.raises(TypeError):
        send(win.astype(np.float32), snr_db=0.0, code=codes["snn"])
    with pytest.raises(ValueError):
        send(win[:40], snr_db=0.0, code=codes["snn"])
    with pytest.raises(ValueError):
        send(win, snr_db=0.0, method="telepathy")
    with pytest.raises(ValueError):
        send(np.zeros((41, 0, 4), np.uint8), snr_db=0.0, code=codes["snn"])


@pytest.mark.parametrize("name", ["comm_snn_bw32", "comm_analog_bw32"])
def test_shipped_weights(name):
    from spikevision.comm import load_code
    from spikevision.weights import registry

    if name not in registry():
        pytest.skip(f"{name} not shipped yet")
    code = load_code(name)
    assert code.cfg.symbols_per_position == 8 and not code.training
    assert sum(p.numel() for p in code.parameters()) < 2_000_000
    rng = np.random.default_rng(0)
    img = np.tile(np.linspace(0.2, 0.8, 48, dtype=np.float32), (32, 1))
    win = (rng.random((41, 32, 48)) < 0.6 * img).astype(np.uint8)
    out = send(win, snr_db=20.0, code=code)
    assert out.shape == (32, 48)
    assert float(np.mean((out - img) ** 2)) < 0.02  # a smooth ramp comes back recognisably
