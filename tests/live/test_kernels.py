import numpy as np
import pytest

from spikevision import SpikeStream
from spikevision.io import pack_frames, read_dat, write_dat
from spikevision.live import frame_counts, kernels, lane_layout

SIZES = [(13, 21), (4, 8), (250, 400), (3, 5), (1, 1)]


@pytest.mark.parametrize("h, w", SIZES)
@pytest.mark.parametrize("upright", [False, True])
def test_layout_matches_unpack(make_frames, h, w, upright):
    f = make_frames(3, h, w)
    p = pack_frames(f, upright=upright)
    lay = lane_layout(h, w, upright=upright)
    assert lay.kind == ("rows" if upright or h == 1 else "flipped")
    for i in range(3):
        lanes = kernels._byte_lanes()[p[i]].reshape(-1)
        np.testing.assert_array_equal(kernels.lanes_to_image(lanes, lay), f[i])


def test_gather_path(make_frames):
    f = make_frames(1, 5, 7)
    lay = lane_layout(5, 7, upright=False)
    lanes = kernels._byte_lanes()[pack_frames(f)[0]].reshape(-1)
    np.testing.assert_array_equal(lanes[lay.index], f[0])


@pytest.mark.parametrize("h, w", SIZES)
def test_frame_counts_equal_stream_counts(make_frames, tmp_path, backend, h, w):
    f = make_frames(40, h, w)
    path = write_dat(tmp_path / "c.dat", f)
    with read_dat(path, height=h, width=w) as s:
        want = s.spike_counts()
    p = pack_frames(f)
    lay = lane_layout(h, w, upright=False)
    np.testing.assert_array_equal(frame_counts(p, lay, backend=backend), want)
    np.testing.assert_array_equal(want, f.reshape(40, -1).sum(1))


def test_frame_counts_ignores_padding_bits(backend):
    p = np.full((2, 2), 0xFF, np.uint8)  # 3 x 5 = 15 pixels in 2 bytes: one padding bit set
    assert frame_counts(p, lane_layout(3, 5, upright=False), backend=backend).tolist() == [15, 15]


def test_frame_counts_empty_and_bad_input(backend):
    lay = lane_layout(4, 8, upright=False)
    assert frame_counts(np.zeros((0, 4), np.uint8), lay, backend=backend).shape == (0,)
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        frame_counts(np.zeros((2, 5), np.uint8), lay, backend=backend)
    with pytest.raises(ValueError, match="uint8"):
        frame_counts(np.zeros((2, 4), np.int32), lay, backend=backend)


@pytest.mark.parametrize("h, w", [(13, 21), (250, 400), (180, 200)])
def test_add_subtract_lanes(make_frames, backend, h, w):
    f = make_frames(60, h, w)
    p = pack_frames(f)
    lay = lane_layout(h, w, upright=False)
    c = kernels.new_counts(lay)
    kernels.add_frames(c, p, lay, backend=backend)
    np.testing.assert_array_equal(kernels.lanes_to_image(c, lay), f.sum(0))
    kernels.subtract_frames(c, p[:25], lay, backend=backend)
    np.testing.assert_array_equal(kernels.lanes_to_image(c, lay), f[25:].sum(0))


def test_computed_lanes_equal_the_lookup_table(make_frames):
    """The compiled kernel computes a byte's 8 lanes (multiply and masks) where the .dat bit order allows;
    it must give the lookup table's counters."""
    assert kernels._spread_is_lanes()
    if kernels._KERNELS is None:
        pytest.skip("no compiled kernels (numba not installed, or SPIKEVISION_LIVE_BACKEND=numpy)")
    p = np.ascontiguousarray(pack_frames(make_frames(40, 37, 53)))
    lay = lane_layout(37, 53, upright=False)
    a, b = kernels.new_counts(lay), kernels.new_counts(lay)
    kernels._KERNELS["add_spread"](a.view(np.uint64), p, 1)
    kernels._KERNELS["add_lanes"](b.view(np.uint64), p, kernels._lane_lut64(), 1)
    np.testing.assert_array_equal(a, b)
    kernels._KERNELS["add_spread"](a.view(np.uint64), p[:10], -1)
    kernels._KERNELS["add_lanes"](b.view(np.uint64), p[:10], kernels._lane_lut64(), -1)
    np.testing.assert_array_equal(a, b)


def test_bitsliced_sum_matches(make_frames):
    f = make_frames(41, 30, 64)
    p = pack_frames(f)
    lay = lane_layout(30, 64, upright=False)
    np.testing.assert_array_equal(kernels.lanes_to_image(kernels._bitsliced_sum(p), lay), f.sum(0))


def test_spike_stream_counts_reference(make_frames):
    # frame_counts is the packed twin of SpikeStream.spike_counts on in-memory data too.
    f = make_frames(10, 6, 10)
    np.testing.assert_array_equal(frame_counts(pack_frames(f), lane_layout(6, 10, upright=False)),
                                  SpikeStream(f).spike_counts())
