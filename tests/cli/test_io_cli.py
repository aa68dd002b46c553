"""CLI: info (text and JSON, popcount-based), convert, --version, --help, errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from spikevision import read_dat, write_dat
from spikevision.cli.main import cli, main


@pytest.fixture
def dat(tmp_path, rng):
    a = (rng.random((64, 250, 400)) < 0.25).astype(np.uint8)
    p = write_dat(tmp_path / "clip.dat", a)
    return p, a


def test_info_json(dat):
    p, a = dat
    res = CliRunner().invoke(cli, ["info", str(p), "--height", "250", "--width", "400", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["frames"] == 64 and d["height"] == 250 and d["width"] == 400
    assert d["mean_rate"] == pytest.approx(a.mean())
    rates = a.reshape(64, -1).mean(1)
    assert d["frame_rate_min"] == pytest.approx(rates.min()) and d["frame_rate_max"] == pytest.approx(rates.max())
    assert d["duration_s"] == pytest.approx(64 / 20000)
    assert d["total_spikes"] == int(a.sum())


def test_info_text_and_sensor(dat):
    p, _ = dat
    res = CliRunner().invoke(cli, ["info", str(p), "--sensor", "vidar"])
    assert res.exit_code == 0 and "frames       64" in res.output


def test_convert_and_cut(dat, tmp_path):
    p, a = dat
    r = CliRunner().invoke(cli, ["convert", str(p), str(tmp_path / "c.npy"), "--sensor", "vidar", "--start", "10", "--stop", "20"])
    assert r.exit_code == 0, r.output
    assert np.array_equal(np.load(tmp_path / "c.npy"), a[10:20])
    r = CliRunner().invoke(cli, ["convert", str(p), str(tmp_path / "c.h5"), "--sensor", "vidar"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["convert", str(tmp_path / "c.h5"), str(tmp_path / "back.dat")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "back.dat").read_bytes() == p.read_bytes()


def test_errors_are_one_line(dat, tmp_path, capsys):
    p, _ = dat
    with pytest.raises(SystemExit) as e:
        main(["info", str(p)])
    assert e.value.code == 2
    assert "--height" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["info", str(p), "--height", "251", "--width", "400"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "not a multiple" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        main(["info", str(tmp_path / "missing.dat"), "--sensor", "vidar"])
    assert e.value.code == 2 and "not found" in capsys.readouterr().err


def test_version_and_help():
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0 and "spikevision" in r.output
    for name, cmd in cli.commands.items():
        r = CliRunner().invoke(cli, [name, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output, name
        for sub in getattr(cmd, "commands", {}):
            r = CliRunner().invoke(cli, [name, sub, "--help"])
            assert r.exit_code == 0 and "Usage" in r.output, (name, sub)


def test_cli_start_up_does_not_import_heavy_libraries():
    code = "import sys; import spikevision.cli.main; print(sorted(m for m in ('torch','cv2','imageio','skimage','h5py','matplotlib','scipy','spikingjelly') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_demo(tmp_path):
    r = CliRunner().invoke(cli, ["demo", "-o", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "d" / "results.json").read_text())
    assert res["info"]["frames"] == 101
    assert res["scores"]["tfp"]["psnr"] == pytest.approx(23.5, abs=0.3)
    assert res["scores"]["atfi"]["psnr"] > res["scores"]["tfp"]["psnr"]
    for name in ["tfp.png", "comparison.png", "tfp_window9.mp4"]:
        assert (tmp_path / "d" / name).stat().st_size > 0
