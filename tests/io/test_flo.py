"""Middlebury .flo read/write: round trip, exact bytes, bad files, atomic writes."""

import numpy as np
import pytest

from spikevision import SpikeFormatError
from spikevision.io.flo import FLO_TAG, read_flo, write_flo


def test_roundtrip(tmp_path, rng):
    f = (rng.standard_normal((7, 5, 2)) * 10).astype(np.float32)
    p = write_flo(tmp_path / "a.flo", f)
    g = read_flo(p)
    assert g.dtype == np.float32 and g.shape == (7, 5, 2)
    assert np.array_equal(f, g)


def test_known_bytes(tmp_path):
    f = np.array([[[1.0, -2.0], [0.5, 3.0]]], np.float32)  # H=1, W=2
    raw = write_flo(tmp_path / "k.flo", f).read_bytes()
    assert raw[:4] == b"PIEH"
    assert np.frombuffer(raw[4:12], "<i4").tolist() == [2, 1]  # width, height
    assert np.frombuffer(raw[12:], "<f4").tolist() == [1.0, -2.0, 0.5, 3.0]
    assert len(raw) == 12 + 1 * 2 * 8


def test_float64_and_int_input(tmp_path):
    write_flo(tmp_path / "d.flo", np.ones((2, 3, 2)))
    write_flo(tmp_path / "i.flo", np.ones((2, 3, 2), np.int16))
    assert np.array_equal(read_flo(tmp_path / "d.flo"), read_flo(tmp_path / "i.flo"))


@pytest.mark.parametrize("bad, err", [
    (np.zeros((4, 4)), ValueError), (np.zeros((4, 4, 3)), ValueError), (np.zeros((0, 4, 2)), ValueError),
    (np.full((2, 2, 2), np.nan), ValueError), (np.full((2, 2, 2), np.inf), ValueError),
    (np.zeros((2, 2, 2), bool), TypeError), (np.full((1, 1, 2), 1e300), ValueError),
])
def test_write_bad(tmp_path, bad, err):
    with pytest.raises(err):
        write_flo(tmp_path / "b.flo", bad)
    assert not (tmp_path / "b.flo").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary left behind


def test_read_bad(tmp_path):
    p = tmp_path / "x.flo"
    with pytest.raises(FileNotFoundError):
        read_flo(p)
    p.write_bytes(b"PIE")
    with pytest.raises(SpikeFormatError, match="header"):
        read_flo(p)
    p.write_bytes(np.array([1.0], "<f4").tobytes() + np.array([1, 1], "<i4").tobytes() + bytes(8))
    with pytest.raises(SpikeFormatError, match="tag"):
        read_flo(p)
    hdr = np.array([FLO_TAG], "<f4").tobytes()
    p.write_bytes(hdr + np.array([2, 2], "<i4").tobytes() + bytes(8))
    with pytest.raises(SpikeFormatError, match="needs"):
        read_flo(p)
    p.write_bytes(hdr + np.array([-1, 2], "<i4").tobytes())
    with pytest.raises(SpikeFormatError, match="size"):
        read_flo(p)


def test_overwrite_is_atomic(tmp_path):
    p = write_flo(tmp_path / "o.flo", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError):
        write_flo(p, np.full((2, 2, 2), np.nan))
    assert np.array_equal(read_flo(p), np.zeros((2, 2, 2), np.float32))
