"""Panels as arrays: raw, mean, reconstructions, rate map, hot pixels, pixel trace, flow, PNG."""

from __future__ import annotations

import io

import numpy as np
import pytest

from spikevision import SpikeStream
from spikevision.recon import reconstruct
pytest.importorskip("cv2", reason="the viewer's pictures need the 'vision' extra (OpenCV)")
pytest.importorskip("scipy", reason="the viewer's hot-pixel map needs the 'vision' extra (SciPy)")

from spikevision.view.render import (flow_image, frame_image, hot_pixels, panel_methods, pixel_trace, png_bytes,
                                     rate_map_rgb, window_mean)


def test_panel_methods_start_with_view_kinds():
    m = panel_methods()
    assert m[:2] == ["raw", "mean"] and "tfp" in m and "atfi" in m


def test_frame_image_raw_mean_and_recon(spikes):
    s = SpikeStream(spikes)
    np.testing.assert_array_equal(frame_image(s, 7, method="raw"), spikes[7].astype(np.float32))
    np.testing.assert_allclose(frame_image(s, 50, method="mean", window=11), spikes[45:56].mean(0), atol=1e-6)
    np.testing.assert_array_equal(frame_image(s, 50, method="tfp", window=21),
                                  reconstruct(s, method="tfp", at=50, window=21))
    np.testing.assert_array_equal(frame_image(s, 50, method="mean", window=1), spikes[50])


@pytest.mark.parametrize("kw, err", [({"t": 120, "method": "raw"}, ValueError), ({"t": -1, "method": "raw"}, ValueError),
                                     ({"t": 3, "method": "tfp"}, ValueError), ({"t": 5, "method": "nope"}, ValueError),
                                     ({"t": 50, "method": "mean", "window": 0}, ValueError),
                                     ({"t": 2, "method": "mean", "window": 41}, ValueError)])
def test_frame_image_bad_input(spikes, kw, err):
    with pytest.raises(err):
        frame_image(SpikeStream(spikes), kw.pop("t"), **kw)


def test_window_mean_known_values_and_chunks():
    a = np.zeros((600, 2, 2), np.uint8)
    a[::3, 0, 0] = 1
    a[:, 1, 1] = 1
    m = window_mean(SpikeStream(a), 0, 600)          # > one 256-frame chunk
    np.testing.assert_allclose(m, [[1 / 3, 0], [0, 1]], atol=1e-6)
    with pytest.raises(ValueError):
        window_mean(SpikeStream(a), 10, 10)


def test_hot_pixels_flags_lone_fast_pixel_not_bright_region(spikes):
    r = window_mean(SpikeStream(spikes), 0, 120)
    h = hot_pixels(r)
    assert list(zip(h.rows.tolist(), h.cols.tolist())) == [(5, 30)]
    d = h.as_dict()
    assert d["count"] == 1 and d["pixels"][0][:2] == [5, 30]
    flat = hot_pixels(np.full((4, 4), 0.3))
    assert len(flat.rows) == 0
    with pytest.raises(ValueError):
        hot_pixels(np.zeros((0, 3)))


def test_rate_map_rgb_marks_hot_red(spikes):
    r = window_mean(SpikeStream(spikes), 0, 120)
    rgb = rate_map_rgb(r, hot_pixels(r))
    assert rgb.shape == (24, 32, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[5, 30]) == (255, 0, 0)
    assert rgb[0, 0, 0] == rgb[0, 0, 1] == rgb[0, 0, 2]
    assert rate_map_rgb(np.zeros((3, 3))).max() == 0


def test_pixel_trace_known_values():
    a = np.zeros((700, 3, 4), np.uint8)
    a[[10, 13, 300, 650], 2, 1] = 1
    d = pixel_trace(SpikeStream(a), 2, 1, 0, 700)
    assert d["spikes"] == [10, 13, 300, 650] and d["intervals"] == [3, 287, 350]
    assert d["rate"] == pytest.approx(4 / 700) and d["mean_interval"] == pytest.approx(640 / 3)
    d = pixel_trace(SpikeStream(a), 2, 1, 12, 20)
    assert d["spikes"] == [13] and d["intervals"] == [] and d["mean_interval"] is None
    with pytest.raises(ValueError):
        pixel_trace(SpikeStream(a), 3, 0, 0, 10)
    with pytest.raises(ValueError):
        pixel_trace(SpikeStream(a), 0, 0, 0, 701)


def test_flow_image_colour_and_arrows(spikes):
    pytest.importorskip("cv2")
    s = SpikeStream(np.concatenate([spikes, spikes]))
    col = flow_image(s, 40, 20, method="classical")
    assert col.shape == (24, 32, 3) and col.dtype == np.uint8
    arr = flow_image(s, 40, 20, method="classical", arrows=True)
    assert arr.shape == (24, 32, 3)
    with pytest.raises(ValueError):
        flow_image(s, 5, 20, method="classical")
    with pytest.raises(ValueError):
        flow_image(s, 40, 20, method="nope")


def test_png_bytes_round_trip():
    from PIL import Image

    img = np.array([[0.0, 0.5, 1.2], [0.2, 0.998, -1]], np.float32)
    out = np.asarray(Image.open(io.BytesIO(png_bytes(img))))
    np.testing.assert_array_equal(out, [[0, 128, 255], [51, 254, 0]])
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    back = np.asarray(Image.open(io.BytesIO(png_bytes(rgb))))
    np.testing.assert_array_equal(back, rgb)
    with pytest.raises(TypeError):
        png_bytes(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError):
        png_bytes(np.zeros((2, 2, 2, 2), np.float32))
