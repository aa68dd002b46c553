"""CLI: reconstruct (png/mp4/npy), export-spikes, eval recon (table and JSON) on a REDS-style folder."""

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from spikevision import read_dat, write_dat
from spikevision.cli.main import cli
from spikevision.samples import sample


@pytest.fixture(scope="module")
def reds_dir(tmp_path_factory):
    """A REDS-style folder from the bundled sample (101 frames: the GT frame 50 is the middle)."""
    smp = sample()
    root = tmp_path_factory.mktemp("reds")
    (root / "spike").mkdir()
    (root / "gt").mkdir()
    s = read_dat(smp.dat, height=smp.height, width=smp.width)
    write_dat(root / "spike" / "clip.dat", np.asarray(s))
    shutil.copy(smp.gt, root / "gt" / "clip.png")
    return root


def test_eval_recon_json_default_protocol(reds_dir):
    res = CliRunner().invoke(cli, ["eval", "recon", "--data", str(reds_dir), "--method", "tfp", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["method"] == "tfp" and d["window"] == 41
    assert [f["name"] for f in d["files"]] == ["clip"]
    assert d["files"][0]["psnr"] == pytest.approx(23.50, abs=0.02)
    assert 0 < d["mean"]["ssim"] < 1 and d["mean"]["psnr"] == d["files"][0]["psnr"]


def test_eval_recon_table_and_window(reds_dir):
    res = CliRunner().invoke(cli, ["eval", "recon", "--data", str(reds_dir), "--method", "atfi", "--window", "31"])
    assert res.exit_code == 0, res.output
    assert "mean" in res.output and "clip" in res.output and "window 31" in res.output


def test_eval_recon_bad_folder(tmp_path):
    res = CliRunner().invoke(cli, ["eval", "recon", "--data", str(tmp_path)])
    assert res.exit_code != 0 and "REDS layout" in res.output


def test_reconstruct_outputs(reds_dir, tmp_path):
    dat = str(reds_dir / "spike" / "clip.dat")
    r = CliRunner()
    res = r.invoke(cli, ["reconstruct", dat, "--sensor", "vidar", "-m", "tfi", "--at", "50", "-o", str(tmp_path / "a.png")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a.png").is_file()
    res = r.invoke(cli, ["reconstruct", dat, "--sensor", "vidar", "--every", "10", "-q", "-o", str(tmp_path / "a.npy")])
    assert res.exit_code == 0, res.output
    assert np.load(tmp_path / "a.npy").shape == (7, 250, 400)  # frames 20, 30, ..., 80
    res = r.invoke(cli, ["reconstruct", dat, "--sensor", "vidar", "--every", "20", "-q", "-o", str(tmp_path / "a.mp4")])
    assert res.exit_code == 0, res.output
    res = r.invoke(cli, ["export-spikes", dat, "--sensor", "vidar", "--mean", "10", "--every", "10", "-q",
                         "-o", str(tmp_path / "s.gif")])
    assert res.exit_code == 0, res.output and (tmp_path / "s.gif").is_file()


def test_reconstruct_usage_errors(reds_dir, tmp_path):
    dat = str(reds_dir / "spike" / "clip.dat")
    r = CliRunner()
    for args in (["--at", "50", "--every", "2", "-o", "x.png"], ["-o", "x.png"], ["--every", "2", "-o", str(tmp_path / "x.png")],
                 ["--at", "50", "-o", str(tmp_path / "x.jpg")], ["--at", "50"]):
        res = r.invoke(cli, ["reconstruct", dat, "--sensor", "vidar", *args])
        assert res.exit_code == 2, (args, res.output)
    res = r.invoke(cli, ["reconstruct", "--list-methods"])
    assert res.exit_code == 0 and "tfstp" in res.output


def test_ensemble_option(reds_dir, tmp_path):
    r = CliRunner()
    res = r.invoke(cli, ["eval", "recon", "--data", str(reds_dir), "--method", "tfp", "--ensemble", "2"])
    assert res.exit_code == 2 and "no ensemble option" in res.output
    dat = str(reds_dir / "spike" / "clip.dat")
    res = r.invoke(cli, ["reconstruct", dat, "--sensor", "vidar", "-m", "tfi", "--at", "50", "--ensemble", "2",
                         "-o", str(tmp_path / "a.png")])
    assert res.exit_code == 2 and "no ensemble option" in res.output
    res = r.invoke(cli, ["eval", "recon", "--data", str(reds_dir), "--method", "cnn", "--ensemble", "3"])
    assert res.exit_code == 2  # not a choice
    pytest.importorskip("torch")
    from spikevision.weights import registry

    if "recon_cnn" not in registry():
        pytest.skip("recon_cnn weights not shipped")
    one = json.loads(r.invoke(cli, ["eval", "recon", "--data", str(reds_dir), "--method", "cnn", "--json"]).output)
    res = r.invoke(cli, ["eval", "recon", "--data", str(reds_dir), "--method", "cnn", "--ensemble", "2", "--json"])
    assert res.exit_code == 0, res.output
    two = json.loads(res.output)
    assert one["ensemble"] is None and two["ensemble"] == 2
    assert two["mean"]["psnr"] != one["mean"]["psnr"] and abs(two["mean"]["psnr"] - one["mean"]["psnr"]) < 1.0
    res = r.invoke(cli, ["reconstruct", dat, "--sensor", "vidar", "-m", "cnn", "--at", "50", "--ensemble", "2", "-q",
                         "-o", str(tmp_path / "c.npy")])
    assert res.exit_code == 0, res.output and np.load(tmp_path / "c.npy").shape == (250, 400)
