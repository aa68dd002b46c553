"""SPIFT / PHM layout and synthetic-layout readers, on small files made here."""

import numpy as np
import pytest

from spikevision.flow import (SPIFT_SIZE, evaluate_synthetic, find_spift_pairs, iter_spift_pairs, read_spift_pair,
                              synthetic_flow_items)
from spikevision.io.dat import write_dat
from spikevision.io.flo import write_flo


def _make_spift(root, rng, scene="0", dt=20, clips=3, frames=3):
    h, w = SPIFT_SIZE
    spk = root / scene / f"spike_dt{dt}"
    flo = root / scene / f"dt={dt}" / "flow"
    spk.mkdir(parents=True)
    flo.mkdir(parents=True)
    data = []
    for k in range(clips):
        a = (rng.random((frames, h, w)) < 0.2).astype(np.uint8)
        a[0, 0, 0], a[0, -1, 0] = 1, 0      # orientation marker: top-left fires, bottom-left does not
        write_dat(spk / f"{k}.dat", a, upright=True)
        data.append(a)
    flows = []
    for k in range(clips - 1):
        f = rng.normal(size=(h, w, 2)).astype(np.float32)
        write_flo(flo / f"{k:04d}.flo", f)
        flows.append(f)
    return data, flows


def test_spift_layout_roundtrip(tmp_path, rng):
    data, flows = _make_spift(tmp_path, rng)
    pairs = find_spift_pairs(tmp_path, dt=20)
    assert [(p.scene, p.index) for p in pairs] == [("0", 0), ("0", 1)]
    a, b, f = read_spift_pair(pairs[1])
    assert a.shape == (3, 500, 800) and a[0, 0, 0] == 1 and a[0, -1, 0] == 0   # upright
    assert np.array_equal(a, data[1]) and np.array_equal(b, data[2]) and np.array_equal(f, flows[1])
    assert len(list(iter_spift_pairs(tmp_path, dt=20))) == 2


def test_spift_missing_pieces(tmp_path, rng):
    _make_spift(tmp_path, rng, clips=2)
    (tmp_path / "0" / "dt=20" / "flow" / "0000.flo").unlink()
    with pytest.raises(ValueError, match="no SPIFT/PHM pairs"):
        find_spift_pairs(tmp_path, dt=20)
    with pytest.raises(ValueError, match="no SPIFT/PHM pairs"):
        find_spift_pairs(tmp_path, dt=10)
    with pytest.raises(FileNotFoundError):
        find_spift_pairs(tmp_path / "nope", dt=20)
    with pytest.raises(ValueError):
        find_spift_pairs(tmp_path, dt=0)


def test_spift_wrong_flow_size(tmp_path, rng):
    _make_spift(tmp_path, rng, clips=2, frames=1)
    write_flo(tmp_path / "0" / "dt=20" / "flow" / "0000.flo", np.zeros((10, 10, 2), np.float32))
    with pytest.raises(ValueError, match="expected"):
        read_spift_pair(find_spift_pairs(tmp_path, dt=20)[0])


@pytest.fixture(scope="module")
def tiny_synth(tmp_path_factory):
    from spikevision.sim import write_dataset

    root = tmp_path_factory.mktemp("synth")
    write_dataset(root, n_scenes=2, seed=3, height=40, width=48, n_frames=100, gt_times=[30, 50], flow_dts=(10, 20),
                  scene_options={"max_speed": 6.0})
    return root


def test_synthetic_items_and_eval(tiny_synth):
    items = synthetic_flow_items(tiny_synth, dt=20)
    assert {(i.scene, i.t0) for i in items} == {(s, t) for s in ("scene_00000", "scene_00001") for t in (30, 50)}
    res = evaluate_synthetic(tiny_synth, dt=20, method="classical")
    assert set(res["scenes"]) == {"scene_00000", "scene_00001"}
    assert res["mean"]["aee"] == pytest.approx(np.mean([v["aee"] for v in res["scenes"].values()]))
    assert 0 <= res["mean"]["po"] <= 100 and res["skipped"] == 0
    with pytest.raises(ValueError, match="not dt=15"):
        synthetic_flow_items(tiny_synth, dt=15)
