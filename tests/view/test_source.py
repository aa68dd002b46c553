"""The viewer's sources: one file, a folder, counts by popcount, fresh maps per snapshot of an .npy."""

from __future__ import annotations

import numpy as np
import pytest

from spikevision import SpikeStream
from spikevision.io import save, write_dat
from spikevision.view import Catalog, FileSource, LoadOptions, ViewSource, open_catalog
from spikevision.view import source as source_mod


def test_file_source_info_and_frames(dat_file, spikes):
    src = FileSource(dat_file, LoadOptions(height=24, width=32))
    assert isinstance(src, ViewSource)
    info = src.info()
    assert (info.frames, info.height, info.width, info.rate_hz) == (120, 24, 32, 20000.0)
    assert info.as_dict()["duration_s"] == pytest.approx(120 / 20000)
    assert info.name == "clip.dat"
    np.testing.assert_array_equal(src.snapshot().frames(10, 20), spikes[10:20])


def test_counts_equal_spike_counts_and_are_cached(dat_file, spikes, monkeypatch):
    monkeypatch.setattr(source_mod, "COUNT_CHUNK_BYTES", 96 * 7)  # 7 frames per slice: several slices
    src = FileSource(dat_file, LoadOptions(height=24, width=32))
    np.testing.assert_array_equal(src.counts(0, 120), spikes.reshape(120, -1).sum(1))
    np.testing.assert_array_equal(src.counts(30, 40), spikes[30:40].reshape(10, -1).sum(1))
    assert src.counts(5, 5).shape == (0,)
    assert src._counts is not None


def test_snapshot_is_a_fresh_map_for_npy_and_kept_for_dat_and_npz(dat_file, tmp_path, spikes, monkeypatch):
    src = FileSource(dat_file, LoadOptions(height=24, width=32))
    assert src.snapshot() is src.snapshot()          # read with pread: opened (and its size checked) once
    import spikevision.view.source as source

    monkeypatch.setattr(source, "load", lambda *a, **k: pytest.fail("a .dat must not be opened per request"))
    np.testing.assert_array_equal(src.snapshot().frames(0, 3), spikes[:3])
    monkeypatch.undo()
    save(tmp_path / "clip.npy", spikes)
    y = FileSource(tmp_path / "clip.npy")
    assert y.snapshot() is not y.snapshot()          # memory-mapped: a fresh map per request
    p = tmp_path / "clip.npz"
    save(p, spikes)
    z = FileSource(p)
    assert z.snapshot() is z.snapshot()
    assert z.info().frames == 120


def test_npy_and_h5_open(tmp_path, spikes):
    pytest.importorskip("h5py")
    for name in ("a.npy", "a.h5"):
        save(tmp_path / name, spikes)
        src = FileSource(tmp_path / name)
        np.testing.assert_array_equal(src.snapshot().frames(0, 3), spikes[:3])


def test_folder_catalog_lists_files_and_errors(tmp_path, spikes):
    folder = tmp_path / "f"
    folder.mkdir()
    write_dat(folder / "b.dat", SpikeStream(spikes))
    (folder / "a.dat").write_bytes(b"\x00" * 5)          # not a whole frame
    (folder / "notes.txt").write_text("ignored")
    cat = open_catalog(folder, LoadOptions(height=24, width=32))
    listing = cat.listing()
    assert [f["name"] for f in listing] == ["a.dat", "b.dat"]
    assert "error" in listing[0] and listing[1]["frames"] == 120
    assert str(folder) not in listing[0]["error"]        # no folder paths in what clients see
    assert cat.first_open() == 1
    with pytest.raises(ValueError, match="could not be opened"):
        cat.get(0)
    with pytest.raises(LookupError):
        cat.get(2)
    assert cat.get(1).info().frames == 120


def test_catalog_errors(tmp_path, dat_file):
    with pytest.raises(FileNotFoundError):
        open_catalog(tmp_path / "missing.dat")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no spike files"):
        open_catalog(empty)
    assert open_catalog(dat_file).get(0).info().frames > 0  # size from the sidecar write_dat leaves
    noise = tmp_path / "noise.dat"                        # no sidecar, no size the data show
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="frame size"):
        open_catalog(noise)
    with pytest.raises(ValueError):
        Catalog([])
