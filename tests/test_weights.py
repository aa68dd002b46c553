"""Weights registry: size and SHA-256 verified; corrupt or missing files give clear errors."""

import shutil

import pytest

from spikevision import weights as W


def test_every_registered_file_verifies():
    for name in W.registry():
        assert W.weights_path(name).is_file()


def test_corrupt_and_missing(tmp_path):
    f = tmp_path / "m.pt"
    f.write_bytes(b"0123456789")
    entry = {"file": "m.pt", "bytes": 10, "sha256": W.sha256_of(f)}
    assert W.verify_file(f, entry) == f
    f.write_bytes(b"0123456780")
    with pytest.raises(W.WeightsError, match="SHA-256"):
        W.verify_file(f, entry)
    f.write_bytes(b"012")
    with pytest.raises(W.WeightsError, match="3 bytes"):
        W.verify_file(f, entry)
    with pytest.raises(W.WeightsError, match="missing"):
        W.verify_file(tmp_path / "nope.pt", entry)
    with pytest.raises(W.WeightsError, match="unknown weights"):
        W.weights_path("no-such-model")


def test_registered_weights_corrupt_copy(tmp_path):
    reg = W.registry()
    if not reg:
        pytest.skip("no weights registered yet")
    name, entry = sorted(reg.items())[0]
    shutil.copy(W.weights_path(name), tmp_path / entry["file"])
    assert W.weights_path(name, directory=tmp_path)
    with open(tmp_path / entry["file"], "r+b") as fh:
        fh.seek(entry["bytes"] // 2)
        b = fh.read(1)
        fh.seek(entry["bytes"] // 2)
        fh.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(W.WeightsError, match="corrupt"):
        W.weights_path(name, directory=tmp_path)
