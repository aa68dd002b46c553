"""HDF5 container and .npy/.npz: self-describing, lazy, byte-exact conversions."""

import json

import numpy as np
import pytest

from spikevision import SpikeFormatError, SpikeStream, load, read_dat, read_h5, save, write_dat, write_h5

pytest.importorskip("h5py")


def spikes(rng, t=40, h=9, w=13):
    return (rng.random((t, h, w)) < 0.3).astype(np.uint8)


def test_h5_round_trip_with_metadata(tmp_path, rng):
    a = spikes(rng)
    s = SpikeStream(a, rate_hz=40_000, attrs={"scene": "cat", "n": 3}, first_frame=7)
    write_h5(tmp_path / "s.h5", s)
    with read_h5(tmp_path / "s.h5") as r:
        assert r.shape == a.shape and r.rate_hz == 40_000 and r.first_frame == 7
        assert dict(r.attrs) == {"scene": "cat", "n": 3}
        assert np.array_equal(np.asarray(r), a)
        assert np.array_equal(r.frames(10, 20), a[10:20])
        assert np.array_equal(r.spike_counts(), a.reshape(40, -1).sum(1))


def test_dat_h5_dat_is_byte_exact(tmp_path, rng):
    raw = rng.integers(0, 256, size=(12, 250 * 400 // 8), dtype=np.uint8)
    raw.tofile(tmp_path / "a.dat")
    s = read_dat(tmp_path / "a.dat", sensor="vidar")
    save(tmp_path / "a.h5", s)
    import h5py

    with h5py.File(tmp_path / "a.h5") as f:
        assert f["spikes"].attrs["rows"] == "bottom-up"
        assert f["spikes"].attrs["height"] == 250 and f["spikes"].attrs["width"] == 400
    with load(tmp_path / "a.h5") as r:
        save(tmp_path / "b.dat", r)
    assert (tmp_path / "b.dat").read_bytes() == (tmp_path / "a.dat").read_bytes()


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".h5", ".dat"])
def test_save_load_every_format(tmp_path, rng, suffix):
    a = spikes(rng, h=8, w=16)
    p = save(tmp_path / f"x{suffix}", SpikeStream(a, rate_hz=30_000))
    s = load(p, height=8, width=16)
    assert np.array_equal(np.asarray(s), a)
    if suffix in (".npz", ".h5"):
        assert s.rate_hz == 30_000
    s.close()


def test_npz_with_spk_key(tmp_path, rng):
    a = spikes(rng)
    np.savez(tmp_path / "u.npz", spk=a, label=3)
    assert np.array_equal(np.asarray(load(tmp_path / "u.npz")), a)
    np.savez(tmp_path / "bad.npz", other=a)
    with pytest.raises(SpikeFormatError, match="keys are"):
        load(tmp_path / "bad.npz")


def test_format_errors(tmp_path, rng):
    with pytest.raises(ValueError, match="unknown spike file type"):
        load(tmp_path / "x.txt")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "x.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(SpikeFormatError, match="not a readable HDF5"):
        read_h5(tmp_path / "junk.h5")
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(SpikeFormatError, match="no '/spikes'"):
        read_h5(tmp_path / "other.h5")
    np.save(tmp_path / "f.npy", np.zeros((2, 3, 3), np.float32))
    with pytest.raises(SpikeFormatError, match="uint8/bool"):
        load(tmp_path / "f.npy")
    with pytest.raises(SpikeFormatError, match="empty"):
        save(tmp_path / "e.npz", np.zeros((0, 2, 2), np.uint8))
    with pytest.raises(SpikeFormatError, match="empty"):
        write_h5(tmp_path / "e.h5", np.zeros((0, 2, 2), np.uint8))
    assert not (tmp_path / "e.npz").exists() and not (tmp_path / "e.h5").exists()


def test_uhsr_real_sample(uhsr_sample):
    s = load(uhsr_sample)
    assert s.shape == (200, 250, 250)
    assert s.mean_rate() == pytest.approx(0.031, abs=0.002)
