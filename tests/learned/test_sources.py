"""Sample sources and batches: crops of GT folders, windows of unlabeled recordings, per-sample seeding, shards."""

import numpy as np
import pytest

from spikevision import write_dat
from spikevision.datasets import DatasetError
from spikevision.learned.data import MixedSamples, shard_indices
from spikevision.learned.sources import GTCrops, RecordingWindows, augment


def test_gt_crops_and_errors(reds_folders):
    train, _ = reds_folders
    src = GTCrops(str(train), patch=32, window=41)
    win, gt = src.sample(np.random.default_rng(0))
    assert win.shape == (41, 32, 32) and win.dtype == np.uint8 and gt.shape == (1, 32, 32) and gt.dtype == np.float32
    again = src.sample(np.random.default_rng(0))
    assert np.array_equal(again[0], win) and np.array_equal(again[1], gt)   # the generator decides everything
    with pytest.raises(DatasetError, match="smaller than the 64-pixel crops"):
        GTCrops(str(train), patch=64, window=41)
    with pytest.raises(DatasetError, match="does not fit"):
        GTCrops(str(train), patch=32, window=43)


def test_recording_windows(tmp_path):
    spikes = (np.random.default_rng(2).random((60, 20, 30)) < 0.2).astype(np.uint8)
    write_dat(tmp_path / "a.dat", spikes)
    src = RecordingWindows(str(tmp_path), patch=16, window=11, sensor="20x30")
    w = src.sample(np.random.default_rng(1))
    assert w.shape == (11, 16, 16) and w.dtype == np.uint8
    with pytest.raises(DatasetError, match="too small"):
        RecordingWindows(str(tmp_path), patch=32, window=11, sensor="20x30")


def test_augment_applies_one_map_to_all():
    a = np.arange(2 * 4 * 4).reshape(2, 4, 4)
    for seed in range(8):
        x, y = augment(np.random.default_rng(seed), a, a[:1] * 10)
        assert np.array_equal(x[:1] * 10, y) and sorted(x.ravel()) == sorted(a.ravel())


def test_shards_and_mixing():
    assert list(shard_indices(2, 4, batch=4, rank=1, world=2)) == [[10, 11], [14, 15]]
    assert list(shard_indices(0, 1, batch=4)) == [[0, 1, 2, 3]]
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        list(shard_indices(0, 1, batch=3, world=2))

    class Const:
        def __init__(self, v):
            self.v = v

        def sample(self, rng):
            return self.v

    mix = MixedSamples([Const("a"), Const("b")], [3.0, 1.0], seed=0)
    got = [mix[i] for i in range(400)]
    assert got == [mix[i] for i in range(400)] and 0.65 < got.count("a") / 400 < 0.85
