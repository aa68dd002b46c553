"""Dataset export: layout, index, exact GT round trip through the files, determinism, bad input."""

import json

import numpy as np
import pytest

pytest.importorskip("PIL")

from spikevision.io.flo import read_flo  # noqa: E402
from spikevision.sim import REDS_PRESET, open_dataset, random_scene, write_dataset, write_scene  # noqa: E402


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    idx = write_dataset(root, n_scenes=2, seed=7, height=32, width=40, n_frames=90, gt_every=30, flow_dts=(10, 20))
    return root, idx


def test_layout_and_index(ds):
    root, idx = ds
    index = json.loads(idx.read_text())
    assert index["format"] == "spikevision-synthetic/1" and index["n_scenes"] == 2
    assert index["gt_times"] == [30, 60] and index["flow_dts"] == [10, 20]
    assert index["camera_settings"] == REDS_PRESET.to_dict()
    for sc in index["scenes"]:
        d = root / sc["name"]
        assert (d / "spikes.dat").stat().st_size == 90 * 32 * 40 // 8
        meta = json.loads((d / "meta.json").read_text())
        assert [g["t"] for g in meta["gt"]] == [30, 60]
        assert {(f["t0"], f["dt"]) for f in meta["flows"]} == {(30, 10), (30, 20), (60, 10), (60, 20)}
        for f in meta["flows"]:
            assert (d / f["flo"]).is_file() and (d / f["valid"]).is_file()
    assert not list(root.rglob("*.tmp*"))


def test_files_hold_the_scene_ground_truth(ds):
    root, _ = ds
    data = open_dataset(root)
    assert len(data) == 2
    meta = data.meta(0)
    scene = random_scene(seed=meta["scene_seed"], height=32, width=40, duration=90.0, max_speed=10.0,
                         low_light_fraction=0.2)
    gt = data.gt(0, 30)
    assert np.abs(gt - scene.intensity(30.0)).max() <= 0.5 / 255 + 1e-6
    flow, valid = data.flow(0, 30, 20)
    f2, v2 = scene.flow(30.0, 50.0)
    assert np.array_equal(flow, f2) and np.array_equal(valid, v2)
    assert np.array_equal(read_flo(root / "scene_00000" / "flow" / "000030_dt20.flo"), f2)
    spikes = data.spikes(0)
    assert spikes.shape == (90, 32, 40)
    with pytest.raises(KeyError):
        data.gt(0, 31)
    with pytest.raises(KeyError):
        data.flow(0, 30, 5)


def test_same_seed_same_bytes(ds, tmp_path):
    root, _ = ds
    write_dataset(tmp_path, n_scenes=2, seed=7, height=32, width=40, n_frames=90, gt_every=30, flow_dts=(10, 20))
    for rel in ("index.json", "scene_00001/spikes.dat", "scene_00001/gt/000060.png", "scene_00001/flow/000060_dt10.flo"):
        assert (root / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_write_scene_16bit_and_options(tmp_path):
    sc = random_scene(seed=2, height=16, width=24, brightness=0.5)
    meta = write_scene(sc, tmp_path / "s", n_frames=40, gt_times=[0, 39], flow_dts=[5], png_bits=16,
                       frames_per_image=4, seed=3)
    from PIL import Image

    a = np.asarray(Image.open(tmp_path / "s" / "gt" / "000039.png"))
    assert a.dtype == np.uint16
    assert np.abs(a / 65535.0 - sc.intensity(39.0)).max() < 1e-4
    assert [f["t0"] for f in meta["flows"]] == [0]  # 39 + 5 is past the end


@pytest.mark.parametrize("kw, err", [
    ({"n_scenes": 0}, ValueError), ({"n_scenes": 1, "png_bits": 12}, ValueError),
    ({"n_scenes": 1, "gt_times": [500]}, ValueError), ({"n_scenes": 1, "flow_dts": [0]}, ValueError),
    ({"n_scenes": 1, "scene_options": {"seed": 3}}, ValueError), ({"n_scenes": 1, "settings": "reds"}, TypeError),
    ({"n_scenes": 1, "gt_times": [1.5]}, TypeError),
])
def test_bad_input(tmp_path, kw, err):
    with pytest.raises(err):
        write_dataset(tmp_path, height=8, width=8, n_frames=20, **kw)


def test_open_dataset_bad(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_dataset(tmp_path)
    (tmp_path / "index.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError):
        open_dataset(tmp_path)
