"""One CLI vocabulary: -o/--out, --at, folders of PNGs, flow ranges, comm send's numbers, the demo's edges."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from spikevision.cli.main import cli


@pytest.fixture
def clip(tmp_path):
    from spikevision.samples import sample

    p = tmp_path / "clip.dat"
    shutil.copy(sample().dat, p)
    return p


def run(*args):
    res = CliRunner().invoke(cli, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res


def test_reconstruct_png_sequence_named_by_frame(clip, tmp_path):
    out = tmp_path / "frames"
    run("reconstruct", clip, "--sensor", "vidar", "-m", "tfp", "--every", "20", "-o", f"{out}/", "-q")
    assert sorted(p.name for p in out.iterdir()) == [f"frame_{t:06d}.png" for t in (20, 40, 60, 80)]


def test_reconstruct_json_auto_exposure_and_old_output_spelling(clip, tmp_path):
    res = CliRunner().invoke(cli, ["reconstruct", str(clip), "--sensor", "vidar", "--at", "50",
                                   "--output", str(tmp_path / "f.png"), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout.strip().splitlines()[-1])
    assert d["rate_ratio_mode"] == "auto" and 0.4 < d["rate_ratio"] < 0.7 and d["frames"] == [50]
    assert (tmp_path / "f.png").is_file()


def test_reconstruct_fixed_rate_ratio_and_bad_value(clip, tmp_path):
    run("reconstruct", clip, "--at", "50", "--rate-ratio", "0.6", "-o", tmp_path / "f.png")
    res = CliRunner().invoke(cli, ["reconstruct", str(clip), "--at", "50", "--rate-ratio", "bright",
                                   "-o", str(tmp_path / "g.png")])
    assert res.exit_code != 0 and "auto" in res.output


def test_context_error_is_not_off_by_one(clip, tmp_path):
    from spikevision.recon.registry import _check_at

    with pytest.raises(ValueError, match="frames 20 to 80 \\(inclusive\\)"):
        _check_at(81, 101, 41)
    assert _check_at(80, 101, 41) == 80
    with pytest.raises(ValueError, match="only 30 frames"):
        _check_at(15, 30, 41)


def test_flow_at_and_range_outputs(clip, tmp_path):
    run("flow", clip, "--at", "30", "--dt", "20", "--method", "classical", "--arrows", "-o", tmp_path / "a.png")
    run("flow", clip, "--t0", "30", "--dt", "20", "--method", "classical", "-o", tmp_path / "c.npy")
    assert np.load(tmp_path / "c.npy").shape == (250, 400, 2)
    res = run("flow", clip, "--every", "20", "--dt", "20", "--method", "classical", "-o", tmp_path / "v.npy", "--json")
    d = json.loads(res.stdout.strip().splitlines()[-1])
    assert d["starts"] == [20, 40, 60] and np.load(tmp_path / "v.npy").shape == (3, 250, 400, 2)
    run("flow", clip, "--every", "20", "--dt", "20", "--method", "classical", "--arrows", "-o", tmp_path / "v.gif", "-q")
    run("flow", clip, "--every", "20", "--dt", "20", "--method", "classical", "-o", f"{tmp_path / 'fl'}/", "-q")
    assert len(list((tmp_path / "fl").glob("flow_*.png"))) == 3
    res = CliRunner().invoke(cli, ["flow", str(clip), "--every", "20", "--method", "classical", "-o", str(tmp_path / "x.flo")])
    assert res.exit_code != 0 and "with --every" in res.output


def test_comm_send_prints_numbers(clip, tmp_path):
    res = run("comm", "send", clip, "--sensor", "vidar", "--at", "50", "--snr", "10", "-o", tmp_path / "r.png", "--json")
    d = json.loads(res.stdout.strip().splitlines()[-1])
    assert d["channel_uses"] > 0 and 10 < d["psnr_vs_sender"] < 60 and 0 < d["ssim_vs_sender"] <= 1
    res = CliRunner().invoke(cli, ["comm", "send", str(clip), "--at", "90", "--snr", "0", "-o", str(tmp_path / "r.png")])
    assert res.exit_code != 0 and "20 <= at <= 80" in res.output


def test_eval_recon_reads_synth(tmp_path):
    from spikevision.sim import write_dataset

    write_dataset(tmp_path / "synth", n_scenes=2, seed=0, height=48, width=64, n_frames=100, gt_every=50)
    res = run("eval", "recon", "--data", tmp_path / "synth", "-m", "tfp", "--json")
    d = json.loads(res.stdout[res.stdout.index("{"):])
    assert len(d["files"]) == 2 and all(f["frame"] == 50 for f in d["files"]) and d["mean"]["psnr"] > 10


def test_demo_keeps_results_when_a_method_fails(tmp_path, monkeypatch):
    import spikevision.recon as recon

    real = recon.reconstruct

    def flaky(stream, *, method, **kw):
        if method == "tfi":
            raise RuntimeError("boom")
        return real(stream, method=method, **kw)

    monkeypatch.setattr(recon, "reconstruct", flaky)
    res = run("demo", "-o", tmp_path / "d", "--methods", "tfp,tfi,atfi", "-q")
    d = json.loads((tmp_path / "d" / "results.json").read_text())
    assert set(d["scores"]) == {"tfp", "atfi"} and "boom" in d["failed"]["tfi"] and "FAILED" in res.output
    from PIL import Image

    grid = np.asarray(Image.open(tmp_path / "d" / "comparison.png"))
    assert grid.ndim == 3 and grid.shape[1] < 1300  # a grid, not a 2,400 px strip


def test_demo_hint_names_loguru_and_the_extra(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_loguru(name, *a, **kw):
        if name == "loguru" or name.startswith("spikingjelly"):
            raise ModuleNotFoundError("No module named 'loguru'", name="loguru")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_loguru)
    res = run("demo", "-o", tmp_path / "d", "--methods", "tfp,snn", "-q")
    assert "loguru" in res.output and "spikevision[snn]" in res.output and "spikingjelly==2.0.0" in res.output
    d = json.loads((tmp_path / "d" / "results.json").read_text())
    assert "tfp" in d["scores"] and "snn" in d["skipped"]
