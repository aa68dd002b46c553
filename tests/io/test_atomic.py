import pytest

from spikevision.io.atomic import atomic_open, atomic_path


def test_atomic_open_replaces_only_on_success(tmp_path):
    p = tmp_path / "f.bin"
    with atomic_open(p) as fh:
        fh.write(b"one")
    assert p.read_bytes() == b"one"
    with pytest.raises(RuntimeError):
        with atomic_open(p) as fh:
            fh.write(b"two-partial")
            raise RuntimeError("interrupted")
    assert p.read_bytes() == b"one"
    assert [x.name for x in tmp_path.iterdir()] == ["f.bin"]


def test_atomic_path_and_errors(tmp_path):
    with atomic_path(tmp_path / "a.txt") as tmp:
        assert tmp.parent == tmp_path and tmp.name != "a.txt"
        tmp.write_text("hi")
    assert (tmp_path / "a.txt").read_text() == "hi"
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "missing" / "a.txt"):
            pass
    with pytest.raises(ValueError):
        with atomic_open(tmp_path / "a.txt", "rb"):
            pass
