"""``spikevision flow`` / ``eval flow`` / ``train flow``."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from spikevision.cli.main import cli
from spikevision.io.flo import read_flo


@pytest.fixture(scope="module")
def spike_file(tmp_path_factory):
    import cv2

    from spikevision.sim import fire

    rng = np.random.default_rng(0)
    tex = cv2.resize(rng.random((12, 14)).astype(np.float32), (80, 72), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    frames = [cv2.warpAffine(tex, np.float32([[1, 0, 0.1 * t - 10], [0, 1, -10]]), (48, 40),
                             borderMode=cv2.BORDER_REFLECT) for t in range(70)]
    p = tmp_path_factory.mktemp("cli") / "s.npy"
    np.save(p, fire(np.stack(frames), seed=1))
    return p


@pytest.mark.parametrize("suffix", [".flo", ".npy", ".png"])
def test_flow_command(tmp_path, spike_file, suffix):
    out = tmp_path / f"f{suffix}"
    r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--dt", "20", "--method", "classical",
                                 "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert info["shape"] == [40, 48, 2] and out.exists()
    if suffix == ".flo":
        assert read_flo(out).shape == (40, 48, 2)
    elif suffix == ".npy":
        assert np.load(out).dtype == np.float32


def test_flow_command_errors(tmp_path, spike_file):
    r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--method", "classical", "-o", str(tmp_path / "f.jpg")])
    assert r.exit_code != 0 and ".flo, .npy or .png" in r.output
    r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "2", "--method", "classical", "-o", str(tmp_path / "f.flo")])
    assert r.exit_code != 0 and "needs frames" in str(r.exception)


def test_eval_flow_json(tmp_path):
    from spikevision.sim import write_dataset

    write_dataset(tmp_path, n_scenes=1, seed=1, height=32, width=40, n_frames=80, gt_times=[30], flow_dts=(20,))
    r = CliRunner().invoke(cli, ["eval", "flow", "--data", str(tmp_path), "--dt", "20", "--method", "classical", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert set(res["scenes"]) == {"scene_00000"} and {"aee", "po"} <= set(res["mean"])
    assert res["options"] == {"still_gate": False}   # the effective setting: off for the baseline
    r = CliRunner().invoke(cli, ["eval", "flow", "--data", str(tmp_path), "--dt", "20", "--method", "classical",
                                 "--still-gate", "on", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["options"] == {"still_gate": True}
    r = CliRunner().invoke(cli, ["eval", "flow", "--data", str(tmp_path), "--dt", "20", "--method", "classical"])
    assert r.exit_code == 0 and "mean" in r.output


def test_train_flow_help():
    r = CliRunner().invoke(cli, ["train", "flow", "--help"])
    assert r.exit_code == 0 and "--config" in r.output


def test_chain_option(tmp_path, spike_file):
    pytest.importorskip("torch")
    from spikevision.weights import registry

    if "flow_spikeflow" not in registry():
        pytest.skip("flow weights not registered")
    outs = {}
    for chain in ("on", "off"):
        out = tmp_path / f"{chain}.npy"
        r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--dt", "20", "--chain", chain,
                                     "--still-gate", "off", "-o", str(out), "--json"])
        assert r.exit_code == 0, r.output
        outs[chain] = np.load(out)
    assert not np.allclose(outs["on"], outs["off"])  # two steps of 10 are not the one step of 20
    for u in (outs["on"], outs["off"]):  # both follow the 2 px motion to the right
        assert np.median(u[8:-8, 8:-8, 0]) == pytest.approx(2.0, abs=0.5)
    r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--method", "classical", "--chain", "on",
                                 "-o", str(tmp_path / "c.flo")])
    assert r.exit_code != 0 and "--chain" in r.output


def test_classical_options(tmp_path, spike_file):
    out = tmp_path / "f.npy"
    r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--dt", "20", "--method", "classical",
                                 "--recon", "atfi", "--preset", "smooth", "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert np.median(np.load(out)[8:-8, 8:-8, 0]) == pytest.approx(2.0, abs=0.5)
    r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--method", "classical", "--recon", "nope",
                                 "-o", str(tmp_path / "g.npy")])
    assert r.exit_code != 0 and "nope" in (r.output + str(r.exception))
    r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--method", "farneback", "--preset", "smooth",
                                 "-o", str(tmp_path / "h.npy")])
    assert r.exit_code != 0 and "--preset" in r.output
    r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--recon", "atfi", "-o", str(tmp_path / "i.npy")])
    assert r.exit_code != 0 and "--recon" in r.output


def test_still_gate_option(tmp_path, spike_file):
    pytest.importorskip("torch")
    from spikevision.weights import registry

    if "flow_spikeflow" not in registry():
        pytest.skip("flow weights not registered")
    outs = {}
    for gate in ("auto", "on", "off"):
        out = tmp_path / f"{gate}.npy"
        r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--dt", "20", "--still-gate", gate,
                                     "-o", str(out)])
        assert r.exit_code == 0, r.output
        outs[gate] = np.load(out)
    # the whole textured scene moves: the gate keeps (almost) all of the flow
    assert np.median(outs["on"][8:-8, 8:-8, 0]) == pytest.approx(np.median(outs["off"][8:-8, 8:-8, 0]), abs=0.05)
    np.testing.assert_array_equal(outs["auto"], outs["on"])   # on by default for spikeflow
    for gate in ("auto", "on"):   # off by default for the classical baseline
        r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--method", "classical", "--still-gate", gate,
                                     "-o", str(tmp_path / f"c_{gate}.npy")])
        assert r.exit_code == 0, r.output
    base = np.load(tmp_path / "c_auto.npy")
    gated = np.load(tmp_path / "c_on.npy")
    # the whole scene moves as with a panning camera: the gate keeps that motion where nothing changes
    assert gated.shape == base.shape
    assert np.median(gated[8:-8, 8:-8, 0]) == pytest.approx(np.median(base[8:-8, 8:-8, 0]), abs=0.1)
    r = CliRunner().invoke(cli, ["flow", str(spike_file), "--t0", "22", "--still-gate", "maybe", "-o", str(tmp_path / "d.flo")])
    assert r.exit_code != 0
