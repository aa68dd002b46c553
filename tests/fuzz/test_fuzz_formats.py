"""Property-based fuzzing of every reader: 0 crashes, 0 hangs, 0 foreign exceptions, 0 accepted garbage.

"Accepted garbage" is checked against an independent oracle in each family:
random ``.dat`` bytes must decode to exactly the bits an unpacking written
here gives; mutated files must either be refused or read back exactly as
the original; round trips must be exact.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spikevision import SpikeStream
from spikevision.io import load, read_dat, read_flo, save, write_flo

from .conftest import budget
from .harness import outcome

TMP = Path(tempfile.mkdtemp(prefix="sv-fuzz-"))
_names = itertools.count()


def fresh(suffix: str) -> Path:
    return TMP / f"f{next(_names)}{suffix}"


def oracle_unpack(raw: bytes, h: int, w: int, n: int) -> np.ndarray:
    """Independent reading of the .dat layout: per frame, bit p%8 of byte p//8, rows bottom-to-top."""
    nb = (h * w + 7) // 8
    out = np.zeros((n, h, w), np.uint8)
    for t in range(n):
        fr = np.frombuffer(raw, np.uint8, nb, t * nb)
        bits = np.array([(fr[p // 8] >> (p % 8)) & 1 for p in range(h * w)], np.uint8)
        out[t] = bits.reshape(h, w)[::-1]
    return out


def read_all(path: Path, **kw):
    with load(path, **kw) as s:
        return np.asarray(s), s.spike_counts(), s.rate_hz, dict(s.attrs), s.shape


def mutate(raw: bytes, data: st.DataObject) -> bytes:
    m = bytearray(raw)
    kind = data.draw(st.sampled_from(["flip", "byte", "truncate", "extend", "splice"]))
    if kind == "flip" and m:
        for _ in range(data.draw(st.integers(1, 4))):
            j = data.draw(st.integers(0, len(m) - 1))
            m[j] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "byte" and m:
        j = data.draw(st.integers(0, len(m) - 1))
        m[j] = data.draw(st.integers(0, 255))
    elif kind == "truncate":
        m = m[: data.draw(st.integers(0, len(m)))]
    elif kind == "extend":
        m += data.draw(st.binary(max_size=64))
    elif kind == "splice" and m:
        j = data.draw(st.integers(0, len(m)))
        m[j:j] = data.draw(st.binary(min_size=1, max_size=16))
    return bytes(m)


frames_st = st.tuples(st.integers(1, 12), st.integers(1, 9), st.integers(1, 13), st.integers(0, 2**32 - 1)).map(
    lambda a: np.random.default_rng(a[3]).integers(0, 2, a[:3], dtype=np.uint8))


# ----------------------------------------------------------------------------------------- .dat
@budget()
@given(h=st.integers(1, 20), w=st.integers(1, 20), drop=st.booleans(), data=st.data())
def test_dat_random_bytes(h, w, drop, data):
    nb = (h * w + 7) // 8
    if data.draw(st.booleans()):  # whole frames half of the time, any length otherwise
        k = data.draw(st.integers(1, 8))
        raw = data.draw(st.binary(min_size=k * nb, max_size=k * nb))
    else:
        raw = data.draw(st.binary(max_size=600))
    p = fresh(".dat")
    p.write_bytes(raw)
    ok, res = outcome("dat-random", lambda: read_all(p, height=h, width=w, drop_partial=drop))
    nb = (h * w + 7) // 8
    n, rest = divmod(len(raw), nb)
    if not ok:
        assert n == 0 or (rest and not drop), f"refused a valid file: {res}"
        return
    arr, counts, *_ = res
    assert n > 0 and (drop or not rest)
    want = oracle_unpack(raw, h, w, n)
    assert np.array_equal(arr, want) and np.array_equal(counts, want.reshape(n, -1).sum(1))


@budget()
@given(a=frames_st, data=st.data())
def test_dat_mutated(a, data):
    p = fresh(".dat")
    save(p, a)
    raw = mutate(p.read_bytes(), data)
    p.write_bytes(raw)
    t, h, w = a.shape
    ok, res = outcome("dat-mutated", lambda: read_all(p, height=h, width=w))
    nb = (h * w + 7) // 8
    if ok:
        assert len(raw) % nb == 0
        assert np.array_equal(res[0], oracle_unpack(raw, h, w, len(raw) // nb))
    else:
        assert len(raw) % nb or not raw


# ----------------------------------------------------------------------------------------- stream indexing
big_int = st.one_of(st.integers(-50, 50), st.integers(-(2**70), 2**70))
maybe_int = st.one_of(st.none(), big_int)
anyfloat = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e-3, 1e-2))


@budget()
@given(a=frames_st, ops=st.lists(st.tuples(st.sampled_from(["int", "slice", "time", "frames", "window", "chunks",
                                                               "counts"]), big_int, maybe_int, maybe_int, anyfloat,
                                             anyfloat), min_size=1, max_size=6), lazy=st.booleans())
def test_stream_indexing(a, ops, lazy):
    if lazy:
        p = fresh(".dat")
        save(p, a)
        s = read_dat(p, height=a.shape[1], width=a.shape[2])
    else:
        s = SpikeStream(a)
    for op, i, b, c, x, y in ops:
        def run():
            if op == "int":
                return s[i]
            if op == "slice":
                return np.asarray(s[b:c:(i or 1)])
            if op == "time":
                return np.asarray(s.time_slice(x, y))
            if op == "frames":
                return s.frames(b, c)
            if op == "window":
                return s.window(i, c if c is not None else 1)
            if op == "chunks":
                return [f for _, f in s.chunks(c if c is not None else 1, start=b, stop=i)][:3]
            return s.spike_counts(b, c)
        ok, res = outcome("stream-indexing", run)
        if not ok:
            continue
        if op == "int":
            assert np.array_equal(res, a[i])
        elif op == "slice":
            assert np.array_equal(res, a[b:c:(i or 1)])
        elif op == "frames":
            assert np.array_equal(res, a[b:c])
        elif op == "counts":
            assert np.array_equal(res, a[b:c].sum(axis=(1, 2)))
        elif op == "time":
            assert res.ndim == 3 and res.shape[1:] == a.shape[1:] and set(np.unique(res)) <= {0, 1}
    s.close()


# ----------------------------------------------------------------------------------------- round trips
@budget()
@given(a=frames_st, suffix=st.sampled_from([".dat", ".npy", ".npz", ".h5"]),
       rate=st.floats(1e-3, 1e9), attrs=st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8),
                                                       max_size=3), upright=st.booleans())
def test_round_trips(a, suffix, rate, attrs, upright):
    p = fresh(suffix)
    s = SpikeStream(a, rate_hz=rate, attrs=attrs)
    ok, res = outcome("round-trip", lambda: (save(p, s, upright=upright),
                                             read_all(p, height=a.shape[1], width=a.shape[2], upright=upright)))
    assert ok, res
    arr, counts, r, got_attrs, shape = res[1]
    assert np.array_equal(arr, a) and shape == a.shape
    if suffix in (".npz", ".h5"):
        assert r == rate and {k: v for k, v in got_attrs.items() if k != "source"} == json.loads(json.dumps(attrs))


# ----------------------------------------------------------------------------------------- .npy / .npz
@budget()
@given(a=frames_st, data=st.data())
def test_npy_mutated(a, data):
    p = fresh(".npy")
    save(p, a)
    p.write_bytes(mutate(p.read_bytes(), data))
    ok, res = outcome("npy", lambda: read_all(p))
    if ok:
        ref = np.load(p, allow_pickle=False)  # the trusted parser, only on files we accepted
        assert ref.ndim == 3 and np.array_equal(res[0], ref.view(np.uint8)) and res[0].max() <= 1


header_val = st.one_of(st.integers(-5, 2**65), st.text(max_size=6), st.floats(), st.none(), st.booleans())


@budget()
@given(descr=st.sampled_from(["|u1", "|b1", "<i8", "<f4", "O", "|S3", "zz", "<u2"]), fortran=header_val | st.booleans(),
       shape=st.lists(header_val, max_size=4), extra=st.binary(max_size=64), junk=st.text(max_size=12))
def test_npy_random_headers(descr, fortran, shape, extra, junk):
    p = fresh(".npy")
    text = "{'descr': %r, 'fortran_order': %r, 'shape': %r, %s}" % (descr, fortran, tuple(shape), junk)
    h = text.encode("latin-1", "replace").ljust(118) + b"\n"
    p.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + extra)
    ok, res = outcome("npy", lambda: read_all(p))
    if ok:
        ref = np.load(p, allow_pickle=False)
        assert np.array_equal(res[0], ref.view(np.uint8)) and res[0].max() <= 1


@budget()
@given(a=frames_st, rate=st.floats(1, 1e6), data=st.data())
def test_npz_mutated(a, rate, data):
    p = fresh(".npz")
    save(p, SpikeStream(a, rate_hz=rate, attrs={"k": 1}))
    p.write_bytes(mutate(p.read_bytes(), data))
    ok, res = outcome("npz", lambda: read_all(p))
    if ok:
        arr, _, r, attrs, _ = res
        assert np.array_equal(arr, a) and r == rate and attrs.get("k") == 1


@budget()
@given(members=st.dictionaries(st.sampled_from(["spikes", "spk", "rate_hz", "attrs_json", "rate_hy", "x"]),
                               st.sampled_from(["bin", "seven", "float", "str", "badjson", "scalar0", "empty"]),
                               max_size=4))
def test_npz_structure(members):
    vals = {"bin": np.ones((2, 2, 3), np.uint8), "seven": np.full((2, 2, 3), 7, np.uint8),
            "float": np.zeros((2, 2, 3), np.float32), "str": np.str_("{}"), "badjson": np.str_("{x"),
            "scalar0": np.float64(0.0), "empty": np.zeros((0, 2, 3), np.uint8)}
    p = fresh(".npz")
    np.savez(p, **{k: vals[v] for k, v in members.items()})
    ok, res = outcome("npz", lambda: read_all(p))
    if ok:
        arr, _, r, attrs, _ = res
        assert arr.max() <= 1 and arr.shape[0] > 0 and r > 0
        if "spikes" in members:
            assert set(members) == {"spikes", "rate_hz", "attrs_json"}


# ----------------------------------------------------------------------------------------- .flo
@budget()
@given(h=st.integers(1, 6), w=st.integers(1, 6), seed=st.integers(0, 99), data=st.data(), rand=st.booleans())
def test_flo(h, w, seed, data, rand):
    p = fresh(".flo")
    flow = np.random.default_rng(seed).normal(size=(h, w, 2)).astype(np.float32)
    write_flo(p, flow)
    raw = data.draw(st.binary(max_size=200)) if rand else mutate(p.read_bytes(), data)
    p.write_bytes(raw)
    ok, res = outcome("flo", lambda: read_flo(p))
    if ok:
        ww, hh = struct.unpack("<ii", raw[4:12])
        assert raw[:4] == b"PIEH" and len(raw) == 12 + 8 * ww * hh and res.shape == (hh, ww, 2)
        assert np.array_equal(res.view(np.uint32), np.frombuffer(raw, "<f4", offset=12).reshape(hh, ww, 2).view(np.uint32))


# ----------------------------------------------------------------------------------------- .h5
h5py = pytest.importorskip("h5py")


@budget(0.5)
@given(a=frames_st, data=st.data())
def test_h5_bytes_mutated(a, data):
    p = fresh(".h5")
    save(p, SpikeStream(a, rate_hz=30000.0, attrs={"k": 1}))
    p.write_bytes(mutate(p.read_bytes(), data))
    ok, res = outcome("h5-bytes", lambda: read_all(p))
    if ok:
        arr, _, r, attrs, _ = res
        assert np.array_equal(arr, a) and r == 30000.0 and attrs.get("k") == 1


_ATTR_VALUES = st.one_of(st.integers(-3, 2**40), st.floats(), st.text(max_size=10), st.binary(max_size=6),
                         st.sampled_from(["spikevision.spikes", "little", "bottom-up", "top-down", "{}", 7.9, 0.0]),
                         st.lists(st.integers(0, 3), min_size=1, max_size=3))


@budget(0.5)
@given(a=frames_st, edits=st.lists(st.tuples(st.sampled_from(
    ["set", "del", "group", "softlink", "extlink", "dtype", "shape", "nofletcher", "contiguous", "version1"]),
    st.sampled_from(["format", "format_version", "height", "width", "rate_hz", "rows", "bitorder", "first_frame",
                     "attrs_json", "meta_sha256"]), _ATTR_VALUES), max_size=3))
def test_h5_structure(a, edits):
    from spikevision.io.container import metadata_digest

    p = fresh(".h5")
    save(p, SpikeStream(a, rate_hz=30000.0))
    with h5py.File(p, "r") as f:
        ds = f["spikes"]
        packed, attrs = ds[:], {k: ds.attrs[k] for k in ds.attrs}
    layout = dict(data=packed, chunks=(min(64, len(a)), packed.shape[1]), compression="gzip", fletcher32=True)
    link = None
    for kind, key, val in edits:
        if kind == "set":
            attrs[key] = val
        elif kind == "del":
            attrs.pop(key, None)
        elif kind in ("group", "softlink", "extlink"):
            link = kind
        elif kind == "dtype":
            layout["data"] = layout["data"].astype(np.int16)
        elif kind == "shape":
            layout["data"] = layout["data"][:, :-1] if layout["data"].shape[1] > 1 else layout["data"][:0]
            layout["chunks"] = None
        elif kind == "nofletcher":
            layout["fletcher32"] = False
        elif kind == "contiguous":
            layout.update(chunks=None, compression=None, fletcher32=False)
        elif kind == "version1":
            attrs["format_version"] = 1
            attrs.pop("meta_sha256", None)
    with h5py.File(p, "w") as f:
        if link == "group":
            f.create_group("spikes")
        elif link == "softlink":
            f["spikes"] = h5py.SoftLink("/missing")
        elif link == "extlink":
            f["spikes"] = h5py.ExternalLink("missing.h5", "/spikes")
        else:
            d = layout["data"]
            kw = {} if d.size == 0 else dict(chunks=layout["chunks"], compression=layout["compression"],
                                             fletcher32=layout["fletcher32"])
            ds = f.create_dataset("spikes", data=d, **kw)
            for k, v in attrs.items():
                ds.attrs[k] = v
    ok, res = outcome("h5-structure", lambda: read_all(p))
    if ok:
        arr, _, r, got_attrs, shape = res
        assert np.array_equal(arr, a) and r == 30000.0, "accepted a changed file with changed content"
        assert metadata_digest is not None
