"""CLI: simulate (image, .npy, video; .dat streaming + metadata; other formats), synth; help and errors."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from spikevision import load, read_dat
from spikevision.cli.main import cli
from spikevision.sim import REDS_PRESET, simulate


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_help_lists_commands():
    res = run("--help")
    assert "simulate" in res.output and "synth" in res.output
    res = run("simulate", "--help")
    assert res.exit_code == 0 and "--threshold" in res.output and "--frames" in res.output


def test_simulate_npy_to_dat_matches_api(tmp_path, rng):
    a = (rng.random((3, 12, 16)) * 255).astype(np.uint8)
    np.save(tmp_path / "in.npy", a)
    res = run("simulate", tmp_path / "in.npy", "-o", tmp_path / "out.dat", "--frames-per-image", "5", "--seed", "3", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["frames"] == 15 and d["settings"] == REDS_PRESET.to_dict()
    got = np.asarray(read_dat(tmp_path / "out.dat", height=12, width=16))
    assert np.array_equal(got, np.asarray(simulate(a, frames_per_image=5, seed=3)))
    meta = json.loads((tmp_path / "out.json").read_text())
    assert meta["height"] == 12 and meta["seed"] == 3


def test_simulate_still_image_default_length_and_options(tmp_path, rng):
    iio = pytest.importorskip("imageio.v3")
    iio.imwrite(tmp_path / "still.png", (rng.random((10, 14, 3)) * 255).astype(np.uint8))
    res = run("simulate", tmp_path / "still.png", "-o", tmp_path / "s.npz", "--json", "--gain", "30",
              "--threshold-spread", "0.02", "--shot-noise", "--hot-pixels", "0.01")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["frames"] == 1000 and d["settings"]["gain"] == 30.0 and d["settings"]["shot_noise"] is True
    s = load(tmp_path / "s.npz")
    assert s.shape == (1000, 10, 14) and s.attrs["settings"]["hot_pixel_fraction"] == 0.01


def test_simulate_video(tmp_path):
    iio = pytest.importorskip("imageio.v3")
    frames = (np.linspace(0, 1, 5)[:, None, None] * np.ones((5, 16, 16)) * 200).astype(np.uint8)
    iio.imwrite(tmp_path / "v.gif", frames, duration=40, loop=0)
    res = run("simulate", tmp_path / "v.gif", "-o", tmp_path / "v.dat", "--frames", "77", "--frames-per-image", "10")
    assert res.exit_code == 0, res.output
    assert read_dat(tmp_path / "v.dat", height=16, width=16).n_frames == 77


def test_simulate_errors(tmp_path):
    assert run("simulate", tmp_path / "missing.png", "-o", tmp_path / "x.dat").exit_code != 0
    (tmp_path / "x.txt").write_text("x")
    res = run("simulate", tmp_path / "x.txt", "-o", tmp_path / "x.dat")
    assert res.exit_code != 0 and isinstance(res.exception, ValueError)
    res = run("simulate", tmp_path / "x.txt", "-o", tmp_path / "x.dat", "--gain", "-1")
    assert res.exit_code == 2


def test_synth(tmp_path):
    pytest.importorskip("PIL")
    res = run("synth", "-o", tmp_path / "ds", "--scenes", "2", "--seed", "4", "--height", "24", "--width", "32",
              "--frames", "60", "--gt-every", "20", "--dt", "10", "--json", "--layers", "2")
    assert res.exit_code == 0, res.output
    index = json.loads(res.output)
    assert index["n_scenes"] == 2 and index["flow_dts"] == [10] and index["gt_times"] == [20, 40]
    assert all(s["n_layers"] == 2 for s in index["scenes"])
    assert (tmp_path / "ds" / "scene_00001" / "flow" / "000040_dt10.flo").is_file()
