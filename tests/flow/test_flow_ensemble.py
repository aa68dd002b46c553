"""The learned flow's geometric self-ensemble (``ensemble=``) and the grid symmetries behind it."""

import numpy as np
import pytest
from click.testing import CliRunner

from spikevision._symmetry import SYMMETRIES, check_ensemble, flow_from_symmetry, to_symmetry
from spikevision.flow import compose_flows, estimate_flow


def _map_point(x, y, sym, h, w):
    """Where the symmetry ``sym`` of an ``h x w`` grid sends the point (x right, y down)."""
    transpose, flip_rows, flip_cols = sym
    if transpose:
        x, y, h, w = y, x, w, h
    if flip_rows:
        y = (h - 1) - y
    if flip_cols:
        x = (w - 1) - x
    return x, y


@pytest.mark.parametrize("sym", SYMMETRIES)
def test_flow_from_symmetry_undoes_each_symmetry(sym):
    """A flow field seen on the transformed grid, mapped back, is the original field: for each pixel p
    moved by f(p), the transformed pixel S(p) is moved to S(p + f(p))."""
    h, w = 5, 7
    rng = np.random.default_rng(0)
    f = rng.normal(size=(h, w, 2)).astype(np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    sx, sy = _map_point(xs, ys, sym, h, w)
    ex, ey = _map_point(xs + f[..., 0], ys + f[..., 1], sym, h, w)
    seen = np.zeros((w, h, 2) if sym[0] else (h, w, 2), np.float32)
    seen[sy.astype(int), sx.astype(int)] = np.stack([ex - sx, ey - sy], -1)
    back = flow_from_symmetry(seen, sym)
    assert back.shape == f.shape and back.dtype == np.float32
    np.testing.assert_allclose(back, f, atol=1e-6)
    # and to_symmetry moves a pixel's value to where _map_point sends it
    img = rng.random((h, w))
    np.testing.assert_array_equal(to_symmetry(img, sym)[sy.astype(int), sx.astype(int)], img)


def test_symmetries_are_the_eight_of_the_grid_and_sizes_are_checked():
    assert len(set(SYMMETRIES)) == 8 and SYMMETRIES[0] == (False, False, False)
    assert check_ensemble(4) == 4 and check_ensemble(np.int64(8)) == 8
    for bad in (0, 3, 16, True, 2.0, "2", None):
        with pytest.raises(ValueError, match="ensemble must be one of"):
            check_ensemble(bad)


@pytest.mark.parametrize("recon", ["tfp", "tfi", "atfi"])
def test_equivariant_warm_start_images(recon, translating_spikes):
    """The ensemble computes the warm-start images once and transforms them: this is exact only for
    reconstructions that treat every pixel alike, the ones listed in ``_EQUIVARIANT_RECONS``."""
    from spikevision.flow.api import _EQUIVARIANT_RECONS
    from spikevision.flow.classical import init_image

    assert recon in _EQUIVARIANT_RECONS
    w = translating_spikes(n=41, h=24, w=32, seed=3)
    img = init_image(w, recon=recon)
    for sym in SYMMETRIES:
        np.testing.assert_allclose(init_image(to_symmetry(w, sym), recon=recon), to_symmetry(img, sym), atol=1e-6)


@pytest.fixture(scope="module")
def spikes(translating_spikes):
    return translating_spikes()


def test_ensemble_is_the_median_of_the_mapped_back_estimates(spikes, tiny_checkpoint):
    """ensemble=2 (the default) at dt = 20 (chained): the median of four estimates, chained and one-step,
    on the original windows and the windows turned by half a turn, each mapped back; ensemble=1 is the
    plain chain."""
    from spikevision.flow.api import DEFAULT_ENSEMBLE, FLOW_SYMMETRIES, _learned_pairs

    # the flow's order: the same eight symmetries, the half turn second; the same sets of 4 and 8
    assert sorted(FLOW_SYMMETRIES) == sorted(SYMMETRIES) and FLOW_SYMMETRIES[1] == (False, True, True)
    assert set(FLOW_SYMMETRIES[:4]) == set(SYMMETRIES[:4])
    kw = dict(weights=str(tiny_checkpoint), still_gate=False)
    windows = [np.ascontiguousarray(spikes[t - 10 : t + 11]) for t in (35, 45, 55)]
    members = []
    for sym in FLOW_SYMMETRIES[:2]:
        a, b, c = _learned_pairs([to_symmetry(w, sym) for w in windows], [(0, 1), (1, 2), (0, 2)], dt=10,
                                 weights=str(tiny_checkpoint))
        members += [flow_from_symmetry(compose_flows(a, b), sym), flow_from_symmetry(c, sym)]
    got = estimate_flow(spikes, 35, 20, ensemble=2, **kw)
    assert got.shape == (64, 96, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, np.median(np.stack(members), 0), atol=1e-4)
    assert DEFAULT_ENSEMBLE == 2
    np.testing.assert_allclose(estimate_flow(spikes, 35, 20, **kw), got, atol=1e-5)
    a, b = _learned_pairs(windows, [(0, 1), (1, 2)], dt=10, weights=str(tiny_checkpoint))
    np.testing.assert_allclose(estimate_flow(spikes, 35, 20, ensemble=1, **kw), compose_flows(a, b), atol=1e-5)
    # an untrained network is not symmetric: the flipped run is a different estimate
    assert not np.allclose(members[0], members[2], atol=1e-3)
    # one step (dt = 10): the median of the symmetries' one-step estimates
    one = [flow_from_symmetry(_learned_pairs([to_symmetry(w, s) for w in windows[:2]], [(0, 1)], dt=10,
                                             weights=str(tiny_checkpoint))[0], s) for s in SYMMETRIES[:4]]
    np.testing.assert_allclose(estimate_flow(spikes, 35, 10, ensemble=4, **kw), np.median(np.stack(one), 0), atol=1e-4)


def test_ensemble_rejects_bad_values_and_other_methods(spikes, tiny_checkpoint):
    from spikevision.flow import flow_between

    for bad in (3, 0, True, "8"):
        with pytest.raises(ValueError, match="ensemble must be one of"):
            estimate_flow(spikes, 35, 20, weights=str(tiny_checkpoint), ensemble=bad)
    with pytest.raises(ValueError, match="ensemble applies to method 'spikeflow' only"):
        estimate_flow(spikes, 35, 20, method="classical", ensemble=2)
    with pytest.raises(ValueError, match="ensemble applies to method 'spikeflow' only"):
        flow_between(spikes[25:66], spikes[45:86], dt=20, method="classical", ensemble=4)
    # the ensemble path checks its input like the single estimate: wrong sizes, too short, empty, not 0/1
    ck = str(tiny_checkpoint)
    with pytest.raises(ValueError, match="same shape"):
        flow_between(spikes[25:46], spikes[45:66, :32], dt=20, weights=ck, ensemble=2)
    with pytest.raises(ValueError, match="needs frames"):
        estimate_flow(spikes[:40], 35, 20, weights=ck, ensemble=8)
    with pytest.raises(ValueError, match="empty"):
        estimate_flow(np.zeros((90, 0, 96), np.uint8), 35, 20, weights=ck, ensemble=2)
    with pytest.raises(TypeError, match="0/1"):
        estimate_flow(spikes.astype(np.float32) * 0.5, 35, 20, weights=ck, ensemble=2)
    # ensemble=1 is accepted everywhere (it is the plain estimate)
    np.testing.assert_array_equal(estimate_flow(spikes, 35, 20, method="classical", ensemble=1),
                                  estimate_flow(spikes, 35, 20, method="classical"))


def test_ensemble_cli_option(tmp_path, translating_spikes):
    from spikevision.cli.main import cli
    from spikevision.sim import write_dataset

    spikes = tmp_path / "s.npy"
    np.save(spikes, translating_spikes(n=70, h=40, w=48))
    r = CliRunner().invoke(cli, ["flow", str(spikes), "--t0", "22", "--method", "classical", "--ensemble", "2",
                                 "-o", str(tmp_path / "c.flo")])
    assert r.exit_code != 0 and "--ensemble" in r.output
    r = CliRunner().invoke(cli, ["flow", str(spikes), "--t0", "22", "--ensemble", "3", "-o", str(tmp_path / "c.flo")])
    assert r.exit_code != 0 and "3" in r.output
    assert not (tmp_path / "c.flo").exists()
    write_dataset(tmp_path / "d", n_scenes=1, seed=1, height=32, width=40, n_frames=80, gt_times=[30], flow_dts=(10,))
    pytest.importorskip("torch")
    from spikevision.weights import registry

    if "flow_spikeflow" not in registry():
        pytest.skip("flow weights not registered")
    import json

    r = CliRunner().invoke(cli, ["eval", "flow", "--data", str(tmp_path / "d"), "--dt", "10", "--ensemble", "2", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["options"]["ensemble"] == 2 and res["mean"]["aee"] >= 0
    # without --ensemble the JSON states the default actually used, and --ensemble 1 is one estimate
    r = CliRunner().invoke(cli, ["eval", "flow", "--data", str(tmp_path / "d"), "--dt", "10", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["options"]["ensemble"] == 2
    assert json.loads(r.output)["mean"] == res["mean"]
    r = CliRunner().invoke(cli, ["eval", "flow", "--data", str(tmp_path / "d"), "--dt", "10", "--ensemble", "1", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["options"]["ensemble"] == 1
    out = tmp_path / "e.npy"
    r = CliRunner().invoke(cli, ["flow", str(spikes), "--t0", "22", "--dt", "10", "--ensemble", "2", "-o", str(out)])
    assert r.exit_code == 0, r.output
    flow = np.load(out)
    assert flow.shape == (40, 48, 2) and np.isfinite(flow).all()
    assert np.median(flow[8:-8, 8:-8, 0]) == pytest.approx(1.5, abs=0.5)   # 0.15 px/frame x 10 frames


def test_ensemble_members_run_side_by_side_with_the_same_result(spikes, tiny_checkpoint):
    """threads=2 runs the symmetries in two threads, each single-threaded: the same flow as one after the
    other, and torch's and OpenCV's thread counts are restored afterwards."""
    torch = pytest.importorskip("torch")
    import cv2

    kw = dict(weights=str(tiny_checkpoint), ensemble=4)
    before = torch.get_num_threads(), cv2.getNumThreads()
    one = estimate_flow(spikes, 35, 20, threads=1, **kw)
    torch.set_num_threads(before[0])
    two = estimate_flow(spikes, 35, 20, threads=2, **kw)
    np.testing.assert_allclose(one, two, atol=1e-5)
    assert (torch.get_num_threads(), cv2.getNumThreads()) == before
