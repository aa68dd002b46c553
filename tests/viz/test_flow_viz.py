"""Flow colour wheel, legend, arrows and videos (spikevision.viz.flow)."""

import numpy as np
import pytest

from spikevision.viz.flow import (color_wheel, flow_arrows, flow_to_color, flow_video_frames, flow_with_legend,
                                  wheel_colors, write_flow_video)


def test_wheel_has_55_colours_starting_red():
    w = wheel_colors()
    assert w.shape == (55, 3)
    assert tuple(w[0]) == (255, 0, 0)


def test_directions_and_saturation():
    f = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [3.0, 0.0]]])
    rgb = flow_to_color(f, max_flow=1.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 6, 3)
    assert tuple(rgb[0, 0]) == (255, 255, 255)          # zero flow is white
    assert tuple(rgb[0, 1]) == (255, 0, 0)              # right: red
    assert rgb[0, 2, 0] > 200 and rgb[0, 2, 1] > 200 and rgb[0, 2, 2] < 50  # down: yellow
    assert rgb[0, 3, 2] > 200 and rgb[0, 3, 0] < 50     # left: cyan/blue
    assert rgb[0, 5].max() < 255                        # beyond the scale: darkened


def test_per_image_vs_fixed_normalisation():
    f = np.zeros((2, 2, 2))
    f[0, 0] = (4.0, 0.0)
    assert np.array_equal(flow_to_color(f, max_flow=None), flow_to_color(f, max_flow=4.0))
    assert not np.array_equal(flow_to_color(f, max_flow=None), flow_to_color(f, max_flow=8.0))
    assert flow_to_color(np.zeros((2, 2, 2)), max_flow=None).min() == 255  # all zero: no division by zero


def test_nan_is_black():
    f = np.zeros((1, 2, 2))
    f[0, 0] = np.nan
    assert tuple(flow_to_color(f, max_flow=1.0)[0, 0]) == (0, 0, 0)


def test_legend_and_overlay():
    leg = color_wheel(64, max_flow=5.0)
    assert leg.shape == (64, 64, 3) and tuple(leg[0, 0]) == (255, 255, 255)
    img = flow_with_legend(np.ones((40, 60, 2)), max_flow=2.0)
    assert img.shape == (40, 60, 3)
    assert color_wheel(1).shape == (1, 1, 3)


def test_arrows(rng):
    img = rng.random((32, 48)).astype(np.float32)
    f = np.zeros((32, 48, 2), np.float32)
    f[..., 0] = 5.0
    out = flow_arrows(img, f, step=8)
    assert out.shape == (32, 48, 3) and out.dtype == np.uint8
    assert (out[..., 0] != out[..., 1]).any()  # coloured arrows drawn
    with pytest.raises(ValueError, match="must match"):
        flow_arrows(img, np.zeros((10, 10, 2)))
    with pytest.raises(ValueError):
        flow_arrows(img, f, step=0)


def test_video(tmp_path):
    frames = flow_video_frames([np.full((16, 20, 2), i, np.float32) for i in range(3)], max_flow=3.0)
    assert frames.shape == (3, 16, 20, 3)
    write_flow_video(tmp_path / "f.gif", frames, fps=5)
    assert (tmp_path / "f.gif").stat().st_size > 0
    with pytest.raises(ValueError, match=".mp4 or .gif"):
        write_flow_video(tmp_path / "f.avi", frames)
    with pytest.raises(ValueError, match="no flow"):
        flow_video_frames([], max_flow=1.0)
    with pytest.raises(TypeError):
        write_flow_video(tmp_path / "f.gif", frames.astype(np.float32))


@pytest.mark.parametrize("bad,err", [(np.zeros((0, 2, 2)), ValueError), (np.zeros((2, 2)), ValueError),
                                     (np.zeros((2, 2, 2), object), TypeError)])
def test_bad_flow(bad, err):
    with pytest.raises(err):
        flow_to_color(bad, max_flow=1.0)


def test_bad_max_flow():
    with pytest.raises(ValueError):
        flow_to_color(np.zeros((2, 2, 2)), max_flow=0.0)
    with pytest.raises(TypeError):
        flow_to_color(np.zeros((2, 2, 2)), max_flow="auto")
