"""SpikeStream: shapes, slicing, time, chunks, conversions, bad input."""

import numpy as np
import pytest

from spikevision import SpikeFormatError, SpikeStream
from spikevision.stream import DenseSource


def make(rng, t=50, h=6, w=10):
    return (rng.random((t, h, w)) < 0.3).astype(np.uint8)


def test_shape_and_metadata(rng):
    a = make(rng)
    s = SpikeStream(a, rate_hz=40_000, attrs={"scene": "x"})
    assert s.shape == (50, 6, 10) and len(s) == 50
    assert s.height == 6 and s.width == 10
    assert s.duration_s == pytest.approx(50 / 40_000)
    assert s.attrs["scene"] == "x"
    with pytest.raises(TypeError):
        s.attrs["scene"] = "y"  # read-only
    assert "T=50" in repr(s)


def test_asarray_roundtrip_and_dtypes(rng):
    a = make(rng)
    s = SpikeStream(a.astype(bool))
    out = np.asarray(s)
    assert out.dtype == np.uint8 and np.array_equal(out, a)
    assert s.to_numpy(np.bool_).dtype == np.bool_
    assert np.asarray(s, dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError):
        s.frames(dtype=np.float32)


def test_int_and_slice_indexing(rng):
    a = make(rng)
    s = SpikeStream(a)
    assert np.array_equal(s[3], a[3]) and np.array_equal(s[-1], a[-1])
    sub = s[10:20]
    assert isinstance(sub, SpikeStream) and sub.shape == (10, 6, 10)
    assert sub.first_frame == 10 and np.array_equal(np.asarray(sub), a[10:20])
    assert np.array_equal(np.asarray(sub[2:4]), a[12:14]) and sub[2:4].first_frame == 12
    stepped = s[0:20:5]
    assert np.array_equal(np.asarray(stepped), a[0:20:5]) and stepped.rate_hz == s.rate_hz / 5
    assert s[30:10].shape == (0, 6, 10)
    with pytest.raises(IndexError):
        s[50]
    with pytest.raises(TypeError):
        s["a"]


def test_time_slice(rng):
    a = make(rng, t=100)
    s = SpikeStream(a, rate_hz=1000)
    sub = s.time_slice(0.010, 0.020)
    assert sub.first_frame == 10 and len(sub) == 10
    with pytest.raises(ValueError):
        s.time_slice(0.02, 0.01)
    with pytest.raises(ValueError):
        s.time_slice(float("nan"), 0.01)


def test_window_and_chunks(rng):
    a = make(rng, t=60)
    s = SpikeStream(a)
    assert np.array_equal(s.window(30, 41), a[10:51])
    with pytest.raises(ValueError, match="needs frames"):
        s.window(5, 41)
    got = list(s.chunks(16))
    assert [i for i, _ in got] == [0, 16, 32, 48]
    assert np.array_equal(np.concatenate([c for _, c in got]), a)
    with pytest.raises(ValueError):
        list(s.chunks(0))


def test_counts_and_mean_rate(rng):
    a = make(rng)
    s = SpikeStream(a)
    assert np.array_equal(s.spike_counts(), a.reshape(50, -1).sum(1))
    assert s.mean_rate() == pytest.approx(a.mean())
    assert np.isnan(SpikeStream(np.zeros((0, 2, 2), np.uint8)).mean_rate())


def test_to_torch(rng):
    torch = pytest.importorskip("torch")
    a = make(rng)
    t = SpikeStream(a).to_torch(5, 9)
    assert t.dtype == torch.float32 and tuple(t.shape) == (4, 6, 10)
    assert np.array_equal(t.numpy(), a[5:9])


@pytest.mark.parametrize(
    "bad, exc",
    [
        (np.zeros((4, 4)), SpikeFormatError),  # 2-D
        (np.full((2, 3, 3), 0.5), TypeError),  # float
        (np.full((2, 3, 3), 2, np.int32), SpikeFormatError),  # not 0/1
        (np.full((2, 3, 3), -1, np.int8), SpikeFormatError),
        ("nope", TypeError),
    ],
)
def test_bad_arrays(bad, exc):
    with pytest.raises(exc):
        SpikeStream(bad)


def test_bad_settings(rng):
    with pytest.raises(ValueError):
        SpikeStream(make(rng), rate_hz=0)
    with pytest.raises(ValueError):
        SpikeStream(make(rng), rate_hz=float("nan"))
    with pytest.raises(TypeError):
        SpikeStream(object())


def test_dense_source_protocol(rng):
    a = make(rng)
    src = DenseSource(a)
    assert len(src) == 50 and src.decode(3, 5).flags["C_CONTIGUOUS"]
    assert np.array_equal(src.counts(0, 50), a.reshape(50, -1).sum(1))
