"""Finding inputs (folders, globs, list files) and mirroring their names under OUTDIR."""

import json
from pathlib import Path

import pytest

from spikevision.batch import BatchError, find_inputs, output_names


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "rec"
    for rel in ["a.dat", "b.dat", "day1/c.dat", "day1/c.json", ".hidden.dat", ".cache/d.dat", "notes.txt"]:
        _touch(root / rel)
    return root


def test_folder_recursive_skips_hidden_and_sidecars(tree):
    rels = [i.rel for i in find_inputs([tree])]
    assert rels == ["a.dat", "b.dat", "notes.txt", "day1/c.dat"]
    assert all(i.path.is_absolute() and i.path.is_file() for i in find_inputs(tree))


def test_glob_keeps_subfolders_relative_to_the_fixed_part(tree, monkeypatch):
    monkeypatch.chdir(tree.parent)
    assert [i.rel for i in find_inputs(["rec/*.dat"])] == ["a.dat", "b.dat"]
    assert [i.rel for i in find_inputs(["rec/**/*.dat"])] == ["a.dat", "b.dat", "day1/c.dat"]
    assert [i.rel for i in find_inputs([str(tree / "day1" / "*.dat")])] == ["c.dat"]


def test_output_folder_is_excluded(tree):
    _touch(tree / "out" / "a.npy")
    assert "out/a.npy" in [i.rel for i in find_inputs(tree)]
    assert all(not i.rel.startswith("out/") for i in find_inputs(tree, exclude=tree / "out"))
    assert all(not i.rel.startswith("out/") for i in find_inputs([str(tree / "**" / "*")], exclude=tree / "out"))


def test_list_files_text_jsonl_and_at(tree, tmp_path):
    lst = tmp_path / "lists" / "inputs.txt"
    lst.parent.mkdir()
    lst.write_text(f"# recordings\n{tree / 'a.dat'}\n\n../rec/day1/c.dat\n../rec/missing.dat\n")
    got = find_inputs([lst])
    assert [i.path.name for i in got] == ["a.dat", "c.dat", "missing.dat"]  # a missing entry becomes an error row
    assert [i.rel for i in got] == ["a.dat", "day1/c.dat", "missing.dat"]
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(json.dumps({"input": str(tree / n), "status": "ok"}) for n in ["b.dat", "a.dat"]))
    assert [i.path.name for i in find_inputs(manifest)] == ["b.dat", "a.dat"]
    other = _touch(tmp_path / "paths.anything", f"{tree / 'b.dat'}\n".encode())
    assert [i.path.name for i in find_inputs([f"@{other}"])] == ["b.dat"]
    bad = _touch(tmp_path / "bad.jsonl", b"[1, 2]\n")
    with pytest.raises(BatchError, match="bad.jsonl:1"):
        find_inputs(bad)


def test_duplicates_dropped_single_file_and_empty(tree):
    got = find_inputs([tree / "a.dat", str(tree / "*.dat"), tree / "a.dat"])
    assert [i.path.name for i in got] == ["a.dat", "b.dat"]
    assert got[0].rel == "a.dat"
    empty = tree.parent / "empty"
    empty.mkdir()
    assert find_inputs(empty) == []


def test_missing_inputs_are_errors(tree):
    with pytest.raises(FileNotFoundError, match="input not found"):
        find_inputs([tree / "nope.dat"])
    with pytest.raises(FileNotFoundError, match="no file matches"):
        find_inputs([str(tree / "*.h5")])
    with pytest.raises(FileNotFoundError, match="input list"):
        find_inputs(["@" + str(tree / "nolist.txt")])
    with pytest.raises(BatchError, match="empty"):
        find_inputs([""])


def test_output_names_mirror_and_clash(tree):
    got = find_inputs(tree)
    assert output_names(got, ".npy") == ["a.npy", "b.npy", "notes.npy", "day1/c.npy"]
    assert output_names([], ".npy") == []
    _touch(tree / "a.h5")
    with pytest.raises(BatchError, match="a.npy"):
        output_names(find_inputs(tree), ".npy")
    noext = _touch(tree.parent / "x" / "clip")
    assert output_names(find_inputs(noext), ".json") == ["clip.json"]
