"""Synthetic scenes: exact intensity, exact flow (warping checks), occlusion masks, variety, bad input."""

import math

import numpy as np
import pytest

from spikevision.sim import TEXTURES, Layer, Motion, Scene, Shape, Texture, make_texture, random_scene, warp_backward


def translating_scene(v=(0.25, -0.15), h=40, w=60):
    bg = Layer(Shape("plane"), make_texture("noise", size=(h + 20, w + 20), seed=1), Motion(center=(w / 2, h / 2)))
    disc = Layer(Shape("ellipse", (10.0, 7.0)), make_texture("checker", size=(30, 30), seed=2),
                 Motion(center=(20.0, 20.0), velocity=v))
    return Scene(h, w, bg, (disc,), brightness=0.8)


def test_intensity_shape_range_and_determinism():
    sc = random_scene(seed=5, height=48, width=64)
    a = sc.intensity(12.5)
    assert a.shape == (48, 64) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    assert np.array_equal(a, random_scene(seed=5, height=48, width=64).intensity(12.5))
    assert not np.array_equal(a, random_scene(seed=6, height=48, width=64).intensity(12.5))
    assert np.array_equal(sc(3.0), sc.intensity(3.0))
    assert sc.frames([1.0, 2.0]).shape == (2, 48, 64)


def test_translation_flow_known_values():
    sc = translating_scene()
    flow, valid = sc.flow(10.0, 30.0)
    lab = sc.labels(10.0)
    on_disc = lab == 1
    assert on_disc.any() and (~on_disc).any()
    assert np.allclose(flow[on_disc], [5.0, -3.0], atol=1e-5)
    assert np.allclose(flow[~on_disc], 0.0, atol=1e-6)
    # background pixels covered by the disc at t1 are occluded
    lab1 = sc.labels(30.0)
    newly_covered = (lab == 0) & (lab1 == 1)
    assert newly_covered.any() and not valid[newly_covered].any()
    assert valid[(lab == 0) & (lab1 == 0)].all()


def test_integer_shift_warp_is_exact():
    sc = translating_scene(v=(0.2, 0.1))  # 20 frames -> (4, 2) px
    f, valid = sc.flow(0.0, 20.0)
    warped, inside = warp_backward(sc.intensity(20.0), f)
    i0 = sc.intensity(0.0)
    assert valid.mean() > 0.8
    assert np.abs(warped - i0)[valid].max() < 1e-5


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("dt", [10, 20])
def test_random_scene_warp_matches_on_valid_pixels(seed, dt):
    sc = random_scene(seed=seed, height=64, width=80, max_speed=10.0)
    t0 = 100.0
    flow, valid = sc.flow(t0, t0 + dt)
    i0, i1 = sc.intensity(t0), sc.intensity(t0 + dt)
    warped, _ = warp_backward(i1, flow)
    err = np.abs(warped - i0)[valid]
    assert valid.mean() > 0.5
    # bilinear warping of the t1 frame: only interpolation error remains
    assert np.median(err) < 2e-3 * sc.brightness + 1e-6
    assert err.mean() < 0.25 * np.abs(i1 - i0)[valid].mean() + 1e-6 or np.abs(i1 - i0).max() < 1e-4


def test_flow_exact_at_landing_points():
    """The surface point under each valid pixel at t0 shows the same value at x + flow at t1 (no interpolation)."""
    sc = random_scene(seed=7, height=50, width=70, max_rotation=8.0, max_zoom=0.08)
    t0, t1 = 40.0, 60.0
    flow, valid = sc.flow(t0, t1)
    y, x = np.mgrid[0:50, 0:70].astype(np.float64)
    x1, y1 = x + flow[..., 0], y + flow[..., 1]
    lab1 = sc.labels_at(x1, y1, t1)
    vals1 = np.empty(x.shape, np.float32)
    for i, layer in enumerate(sc.all_layers):
        m = lab1 == i
        vals1[m] = layer.texture.sample(*layer.motion.to_local(x1[m], y1[m], t1))
    ref = sc.intensity(t0) / np.float32(sc.brightness)
    assert np.abs(vals1 - ref)[valid].max() < 1e-4


def test_rotation_and_scale_flow():
    bg = Layer(Shape("plane"), make_texture("gradient", size=(50, 50), seed=0), Motion(center=(20.0, 20.0)))
    sq = Layer(Shape("polygon", np.array([[15.0, -15.0], [15.0, 15.0], [-15.0, 15.0], [-15.0, -15.0]])),
               make_texture("grating", size=(40, 40), seed=0),
               Motion(center=(20.0, 20.0), angular_velocity=math.radians(90) / 10, scale_rate=math.log(1.1) / 10))
    sc = Scene(41, 41, bg, (sq,))
    flow, valid = sc.flow(0.0, 10.0)
    # pixel (row 20, col 25): 5 px right of the centre -> rotated 90 deg (y down) and scaled 1.1 -> (20, 25.5)
    assert flow[20, 25] == pytest.approx([-5.0, 5.5], abs=1e-4)
    assert valid[20, 25]


def test_variety_by_seed():
    scenes = [random_scene(seed=s, height=32, width=32) for s in range(12)]
    kinds = {la.texture.kind for sc in scenes for la in sc.layers}
    assert len(kinds) >= 4
    assert len({len(sc.layers) for sc in scenes}) >= 3
    br = [sc.brightness for sc in scenes]
    assert min(br) < 0.2 and max(br) > 0.5
    speeds = [math.hypot(*la.motion.velocity) * 20 for sc in scenes for la in sc.layers]
    assert max(speeds) <= 10.0 and min(speeds) < 3.0
    d = scenes[0].describe()
    assert d["seed"] == 0 and len(d["layers"]) == len(scenes[0].layers)


def test_low_light_and_explicit_brightness():
    sc = random_scene(seed=1, height=16, width=16, brightness=0.05)
    assert sc.intensity(0.0).max() <= 0.05 + 1e-6


@pytest.mark.parametrize("kind", TEXTURES)
def test_textures(kind):
    t = make_texture(kind, size=(20, 30), seed=3)
    assert t.raster.shape == (20, 30) and t.raster.dtype == np.float32
    assert 0 <= t.raster.min() and t.raster.max() <= 1
    assert np.array_equal(t.raster, make_texture(kind, size=(20, 30), seed=3).raster)


def test_texture_sampling_is_continuous_across_mirror_borders():
    t = Texture(np.arange(12, dtype=np.float32).reshape(3, 4))
    x = np.linspace(-10, 10, 2001)
    v = t.sample(x, np.zeros_like(x))
    assert np.abs(np.diff(v)).max() < 0.02


def test_polygon_orientation_is_normalised():
    sq = [[1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0]]
    a, b = Shape("polygon", sq), Shape("polygon", sq[::-1])
    pts = np.array([0.0, 0.5, 2.0]), np.array([0.0, -0.5, 0.0])
    assert a.contains(*pts).tolist() == b.contains(*pts).tolist() == [True, True, False]


def test_zero_layers_and_static_scene():
    sc = random_scene(seed=0, height=20, width=20, n_layers=0, moving_background=0.0)
    f, valid = sc.flow(0.0, 20.0)
    assert np.all(f == 0) and valid.all()


@pytest.mark.parametrize("kw, err", [
    ({"height": 0}, ValueError), ({"width": 2.5}, TypeError), ({"seed": -1}, TypeError),
    ({"max_speed": -1}, ValueError), ({"textures": ("marble",)}, ValueError), ({"shapes": ()}, ValueError),
    ({"brightness": 1.5}, ValueError), ({"n_layers": (3, 1)}, ValueError), ({"low_light_fraction": 2}, ValueError),
])
def test_random_scene_bad_input(kw, err):
    with pytest.raises(err):
        random_scene(**kw)


def test_scene_bad_times_and_objects():
    sc = random_scene(seed=0, height=8, width=8)
    with pytest.raises(ValueError):
        sc.intensity(float("nan"))
    with pytest.raises(TypeError):
        sc.flow("a", 1.0)
    with pytest.raises(ValueError):
        Motion(scale=0.0)
    with pytest.raises(ValueError):
        Texture(np.zeros((2, 2)))  # float64
    with pytest.raises(ValueError):
        make_texture("marble", size=(4, 4))
    with pytest.raises(ValueError):
        Scene(8, 8, Layer(Shape("ellipse", (1, 1)), sc.background.texture, Motion()))
    with pytest.raises(ValueError):
        Shape("polygon", [[0, 0], [1, 1]])
    with pytest.raises(ValueError):
        Shape("star")
    with pytest.raises(ValueError):
        warp_backward(np.zeros((4, 4)), np.zeros((4, 5, 2)))
    with pytest.raises(ValueError):
        warp_backward(np.zeros((2, 2)), np.full((2, 2, 2), np.nan))


def test_crop_is_the_same_pixels_and_flow_of_the_full_scene():
    full = random_scene(seed=11, height=96, width=128, max_rotation=8.0, max_zoom=0.08)
    part = full.crop(20, 33, 48, 64)
    assert (part.height, part.width) == (48, 64)
    for t in (150.0, 170.5):
        np.testing.assert_allclose(part.intensity(t), full.intensity(t)[20:68, 33:97], atol=1e-6)
        np.testing.assert_array_equal(part.labels(t), full.labels(t)[20:68, 33:97])
    f_full, v_full = full.flow(150.0, 170.0)
    f_part, v_part = part.flow(150.0, 170.0)
    np.testing.assert_allclose(f_part, f_full[20:68, 33:97], atol=1e-4)
    # a point valid in the crop is valid in the full scene; points leaving the crop are not valid in it
    assert not (v_part & ~v_full[20:68, 33:97]).any()
    assert v_part.mean() > 0.5
    assert part.crop(0, 0, 48, 64).intensity(150.0).shape == (48, 64)


@pytest.mark.parametrize("box", [(-1, 0, 8, 8), (0, 0, 97, 8), (90, 0, 8, 8), (0, 125, 8, 8), (0, 0, 0, 8)])
def test_crop_outside_the_scene_is_an_error(box):
    with pytest.raises(ValueError):
        random_scene(seed=1, height=96, width=128).crop(*box)
