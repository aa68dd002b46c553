"""datasets.recon / recordings: REDS-style, synth and unlabeled folders, and their errors."""

import shutil

import numpy as np
import pytest
from PIL import Image

from spikevision import write_dat
from spikevision.datasets import (DatasetError, find_recon_items, find_recordings, folder_kind, open_recording,
                                  read_gt, read_recon_item, read_window)


def _reds(root, names=("a",), frames=41, h=12, w=20, gt_shape=None, bits=8):
    (root / "spike").mkdir(parents=True)
    (root / "gt").mkdir()
    rng = np.random.default_rng(0)
    for n in names:
        spikes = (rng.random((frames, h, w)) < 0.3).astype(np.uint8)
        spikes[frames // 2, 0, 0] = 1
        write_dat(root / "spike" / f"{n}.dat", spikes)
        gh, gw = gt_shape or (h, w)
        img = (np.arange(gh * gw).reshape(gh, gw) % 251).astype(np.uint8 if bits == 8 else np.uint16)
        Image.fromarray(img).save(root / "gt" / f"{n}.png")
    return root


def test_reds_folder_and_key_id_variant(tmp_path):
    root = _reds(tmp_path / "r", names=("b_key_id05", "a"))
    items = find_recon_items(root)
    assert [i.name for i in items] == ["a", "b_key_id05"] and folder_kind(root) == "reds"
    win, gt = read_recon_item(items[0], window=41)   # 41-frame clip: GT at its middle frame 20, all frames used
    assert win.shape == (41, 12, 20) and win.dtype == np.uint8 and gt.shape == (12, 20) and gt.dtype == np.float32
    assert gt[0, 5] == pytest.approx(5 / 255)
    with pytest.raises(DatasetError, match="needs frames"):
        read_recon_item(items[0], window=43)


def test_sixteen_bit_gt(tmp_path):
    root = _reds(tmp_path / "r", bits=16)
    _, gt = read_recon_item(find_recon_items(root)[0], window=41)
    assert gt[0, 5] == pytest.approx(5 / 65535)
    assert read_gt(root / "gt" / "a.png", dtype=np.float64).dtype == np.float64


def test_missing_gt_no_pairs_wrong_size(tmp_path):
    root = _reds(tmp_path / "r", names=("a", "b"))
    (root / "gt" / "b.png").unlink()
    with pytest.raises(DatasetError, match="no ground truth gt/NAME.png for: b"):
        find_recon_items(root)
    empty = tmp_path / "e"
    (empty / "spike").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no spike/\\*.dat files"):
        find_recon_items(empty)
    with pytest.raises(DatasetError, match="REDS layout"):
        find_recon_items(tmp_path / "e" / "spike")
    with pytest.raises(FileNotFoundError):
        find_recon_items(tmp_path / "absent")
    wrong = _reds(tmp_path / "w", h=12, w=20, gt_shape=(13, 20))
    with pytest.raises(DatasetError, match="wrong size"):
        read_recon_item(find_recon_items(wrong)[0], window=41)


def test_synth_folder_items(tmp_path):
    from spikevision.sim import write_dataset

    write_dataset(tmp_path / "s", n_scenes=1, height=16, width=24, n_frames=60, gt_times=(10, 30), flow_dts=(10,),
                  seed=1, progress=False)
    assert folder_kind(tmp_path / "s") == "synth"
    items = find_recon_items(tmp_path / "s")
    assert [i.frame for i in items] == [10, 30] and items[0].name.endswith("@10")
    win, gt = read_recon_item(items[1], window=41)
    assert win.shape == (41, 16, 24) and gt.shape == (16, 24)
    with pytest.raises(DatasetError, match="window"):
        read_recon_item(items[0], window=41)   # frame 10 has 10 frames before it, not 20


def test_unlabeled_recordings(tmp_path):
    d = tmp_path / "u"
    d.mkdir()
    spikes = (np.random.default_rng(1).random((50, 8, 10)) < 0.2).astype(np.uint8)
    write_dat(d / "x.dat", spikes)
    np.savez(d / "sub_y.npz", spikes=spikes)
    (d / "notes.txt").write_text("not a recording")
    files = find_recordings(d)
    assert [f.name for f in files] == ["sub_y.npz", "x.dat"] and folder_kind(d) == "unlabeled"
    with pytest.raises(ValueError, match="cannot detect the frame size"):  # no size, no sidecar, too small to detect
        open_recording(d / "x.dat")
    w = read_window(d / "x.dat", 25, 11, height=8, width=10)
    np.testing.assert_array_equal(w, spikes[20:31])
    with pytest.raises(DatasetError, match="outside"):
        read_window(d / "x.dat", 2, 11, height=8, width=10)
    (d / "x.dat").unlink()
    (d / "sub_y.npz").unlink()
    with pytest.raises(DatasetError, match="no spike recordings"):
        find_recordings(d)
