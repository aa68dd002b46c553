"""MOTChallenge text files: round trip, short rows, empty files, bad files."""

import numpy as np
import pytest

from spikevision._checks import SpikeFormatError
from spikevision.io.mot import read_mot, write_mot


def test_round_trip(tmp_path):
    rows = np.array([[1, 1, 10.5, 20.25, 30, 40, 0.9, -1, -1, -1], [11, 2, 0, 0, 5, 5, 1, 1, 0.5, -1]])
    p = write_mot(tmp_path / "t.txt", rows)
    back = read_mot(p)
    np.testing.assert_allclose(back, rows, atol=1e-2)
    assert p.read_text().splitlines()[0].startswith("1,1,10.50,20.25,30.00,40.00,0.9")


def test_six_columns_and_empty(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("3, 7, 1, 2, 3, 4\n\n")
    np.testing.assert_array_equal(read_mot(p), [[3, 7, 1, 2, 3, 4, 1, -1, -1, -1]])
    (tmp_path / "e.txt").write_text("")
    assert read_mot(tmp_path / "e.txt").shape == (0, 10)
    assert read_mot(write_mot(tmp_path / "w.txt", np.zeros((0, 10)))).shape == (0, 10)


@pytest.mark.parametrize("text, match", [("1,1,a,2,3,4\n", "line 1"), ("1,1,2\n", "6 to 10"),
                                         ("0,1,1,1,1,1\n", "1-based"), ("1,1,1,1,-5,1\n", "sizes")])
def test_bad_files(tmp_path, text, match):
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(SpikeFormatError, match=match):
        read_mot(p)


def test_bad_rows_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="MOTChallenge rows"):
        write_mot(tmp_path / "x.txt", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        write_mot(tmp_path / "x.txt", np.full((1, 10), np.nan))
    with pytest.raises(OSError):
        read_mot(tmp_path / "missing.txt")
