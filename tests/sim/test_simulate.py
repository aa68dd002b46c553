"""simulate / iter_spikes / simulate_to_dat and the input rules (sources)."""

import json

import numpy as np
import pytest

from spikevision import SpikeStream, read_dat
from spikevision.sim import (DEFAULT_STILL_FRAMES, NOISY_PRESET, REDS_PRESET,
                             CameraSettings, fire, iter_spikes, simulate, simulate_to_dat, to_intensity)


def test_still_image_default_length_and_attrs(rng):
    img = rng.random((5, 7))
    s = simulate(img)
    assert isinstance(s, SpikeStream)
    assert s.shape == (DEFAULT_STILL_FRAMES, 5, 7)
    assert s.rate_hz == REDS_PRESET.rate_hz
    assert s.attrs["settings"] == REDS_PRESET.to_dict()
    assert s.attrs["seed"] == 0
    json.dumps(dict(s.attrs))  # serialisable


def test_rate_hz_follows_settings():
    s = simulate(np.zeros((2, 2)), n_frames=3, settings=REDS_PRESET.replace(rate_hz=40_000.0))
    assert s.rate_hz == 40_000.0


def test_sequence_length_and_linear_interpolation():
    a = np.zeros((2, 3, 5), np.float32)
    a[1] = 1.0  # intensity ramps 0 -> 1 over the first 100 frames, then holds 1
    s = simulate(a, frames_per_image=100, settings=REDS_PRESET.replace(random_init=False))
    assert s.shape == (200, 3, 5)
    c = np.asarray(s).sum(axis=(1, 2)) / 15
    # charge over the ramp: 0.6 * sum(j / 100 for j < 100) = 29.7 thresholds
    assert c[:100].sum() == pytest.approx(29.7, abs=1.0)
    assert c[100:].mean() == pytest.approx(0.6, abs=0.02)


def test_sequence_matches_fire_on_interpolated_frames(rng):
    """Parity: the ramp path equals fire() on explicitly interpolated intensities (up to fixed-point rounding)."""
    keys = rng.random((4, 8, 8)).astype(np.float32)
    f = 25
    t = np.arange(4 * f)
    k = np.minimum(t // f, 3)
    frac = ((t % f) / f).astype(np.float32)[:, None, None]
    nxt = keys[np.minimum(k + 1, 3)]
    inten = keys[k] + (nxt - keys[k]) * frac
    a = np.asarray(simulate(keys, frames_per_image=f, seed=3))
    b = fire(inten, seed=3)
    assert (a != b).mean() < 0.002
    assert a.sum() == pytest.approx(b.sum(), abs=3)
    # F = 1: no interpolation at all, identical bits
    assert np.array_equal(np.asarray(simulate(inten, frames_per_image=1, seed=3)), b)


def test_noise_path_through_simulate_equals_fire(rng):
    keys = rng.random((3, 5, 5)).astype(np.float32)
    a = np.asarray(simulate(keys, frames_per_image=1, settings=NOISY_PRESET, seed=9))
    b = fire(keys, settings=NOISY_PRESET, seed=9)
    assert np.array_equal(a, b)


def test_callable_source_and_frames_per_image():
    calls = []

    def light(t):
        calls.append(t)
        return np.full((4, 4), min(1.0, t / 100.0), np.float32)

    s = simulate(light, n_frames=50, seed=1)
    assert s.shape == (50, 4, 4) and calls[:3] == [0.0, 1.0, 2.0]
    calls.clear()
    s2 = simulate(light, n_frames=50, frames_per_image=10, seed=1)
    assert calls == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    assert abs(int(np.asarray(s).sum()) - int(np.asarray(s2).sum())) <= 16
    with pytest.raises(ValueError, match="n_frames"):
        simulate(light)


def test_determinism_and_chunking(rng):
    keys = rng.random((5, 9, 11)).astype(np.float32)
    ref = np.asarray(simulate(keys, frames_per_image=33, seed=4, settings=NOISY_PRESET))
    assert np.array_equal(ref, np.asarray(simulate(keys, frames_per_image=33, seed=4, settings=NOISY_PRESET, chunk=7)))
    parts = list(iter_spikes(keys, frames_per_image=33, seed=4, settings=NOISY_PRESET, chunk=50))
    assert [a for a, _ in parts] == list(range(0, 165, 50))
    assert np.array_equal(np.concatenate([p for _, p in parts]), ref)
    assert ref.tobytes() != np.asarray(simulate(keys, frames_per_image=33, seed=5, settings=NOISY_PRESET)).tobytes()


def test_n_frames_shorter_and_longer_than_the_sequence(rng):
    keys = rng.random((3, 4, 5)).astype(np.float32)
    full = np.asarray(simulate(keys, frames_per_image=10))
    assert np.array_equal(np.asarray(simulate(keys, frames_per_image=10, n_frames=12)), full[:12])
    longer = np.asarray(simulate(keys, frames_per_image=10, n_frames=45))
    assert longer.shape[0] == 45 and np.array_equal(longer[:30], full)


def test_simulate_to_dat_streams_same_bits(tmp_path, rng):
    keys = (rng.random((4, 10, 12)) * 255).astype(np.uint8)
    mem = simulate(keys, frames_per_image=40, seed=2)
    p = simulate_to_dat(keys, tmp_path / "clip.dat", frames_per_image=40, seed=2, chunk=32, progress=False)
    back = read_dat(p, height=10, width=12)
    assert np.array_equal(np.asarray(back), np.asarray(mem))
    meta = json.loads((tmp_path / "clip.json").read_text())
    assert meta["n_frames"] == 160 and meta["height"] == 10 and meta["settings"] == REDS_PRESET.to_dict()
    with pytest.raises(ValueError, match=".dat"):
        simulate_to_dat(keys, tmp_path / "clip.h5")


def test_colour_rule_and_list_forces_a_sequence(rng):
    a = rng.random((5, 6, 3)).astype(np.float32)  # last axis 3: one colour image
    assert simulate(a, n_frames=4).shape == (4, 5, 6)
    assert simulate(list(a), frames_per_image=2).shape == (10, 6, 3)  # a list: 5 grey images


def test_resize_and_colour(rng):
    rgb = (rng.random((20, 30, 3)) * 255).astype(np.uint8)
    s = simulate(rgb, n_frames=10, height=10)
    assert s.shape == (10, 10, 15)
    s = simulate(rgb, n_frames=10, width=60, height=40)
    assert s.shape == (10, 40, 60)


def test_to_intensity_rules():
    assert to_intensity(np.array([[0, 255]], np.uint8)).tolist() == [[0.0, 1.0]]
    assert to_intensity(np.array([[65535]], np.uint16)).tolist() == [[1.0]]
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    assert to_intensity(rgb)[0].tolist() == pytest.approx([0.299, 0.587, 0.114, 1.0], abs=1e-6)
    rgba = np.concatenate([rgb, np.zeros((1, 4, 1), np.uint8)], -1)
    assert np.array_equal(to_intensity(rgba), to_intensity(rgb))
    assert to_intensity(np.array([[True, False]])).tolist() == [[1.0, 0.0]]
    with pytest.raises(ValueError):
        to_intensity(np.array([[1.2]]))
    with pytest.raises(ValueError):
        to_intensity(np.array([[np.nan]]))
    with pytest.raises(TypeError):
        to_intensity(np.array([[1]], np.int64))
    with pytest.raises(ValueError):
        to_intensity(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError):
        to_intensity(np.zeros((0, 3)))


def test_bad_sources(tmp_path):
    with pytest.raises(ValueError):
        simulate(np.zeros((0, 4, 4)))
    with pytest.raises(ValueError):
        simulate([])
    with pytest.raises(TypeError):
        simulate(object())
    with pytest.raises(FileNotFoundError):
        simulate(tmp_path / "missing.png")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match="unknown input"):
        simulate(tmp_path / "x.txt")
    with pytest.raises(ValueError):
        simulate(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError):
        simulate(np.zeros((4, 4)), n_frames=0)
    with pytest.raises(TypeError):
        simulate(np.zeros((4, 4)), frames_per_image=2.5)
    with pytest.raises(ValueError, match="size"):
        simulate([np.zeros((4, 4)), np.zeros((5, 4))], frames_per_image=2)
    with pytest.raises(TypeError):
        simulate(np.zeros((4, 4)), settings=None)


def test_file_inputs(tmp_path, rng):
    imageio = pytest.importorskip("imageio.v3")
    frames = (rng.random((6, 16, 24)) * 255).astype(np.uint8)
    np.save(tmp_path / "seq.npy", frames)
    s = simulate(tmp_path / "seq.npy", frames_per_image=5)
    assert s.shape == (30, 16, 24)
    assert np.array_equal(np.asarray(s), np.asarray(simulate(frames, frames_per_image=5)))
    imageio.imwrite(tmp_path / "still.png", frames[0])
    assert simulate(tmp_path / "still.png", n_frames=7).shape == (7, 16, 24)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, f in enumerate(frames[:3]):
        imageio.imwrite(folder / f"{i:03d}.png", f)
    a = np.asarray(simulate(folder, frames_per_image=4))
    assert np.array_equal(a, np.asarray(simulate(frames[:3], frames_per_image=4)))
    assert np.array_equal(a, np.asarray(simulate([folder / f"{i:03d}.png" for i in range(3)], frames_per_image=4)))


def test_video_input(tmp_path):
    imageio = pytest.importorskip("imageio.v3")
    pytest.importorskip("imageio_ffmpeg")
    yy, xx = np.mgrid[0:32, 0:48]
    frames = np.stack([((np.sin((xx + 2 * k) / 5.0) + 1) * 120).astype(np.uint8) for k in range(8)])
    rgb = np.repeat(frames[..., None], 3, -1)
    imageio.imwrite(tmp_path / "v.mp4", rgb, fps=25, macro_block_size=1)
    imageio.imwrite(tmp_path / "v.gif", frames, duration=40, loop=0)
    for name in ("v.mp4", "v.gif"):
        s = simulate(tmp_path / name, frames_per_image=10)
        assert s.shape == (80, 32, 48), name
        assert 0.05 < s.mean_rate() < 0.6
        assert s.attrs["frames_per_image"] == 10
    p = simulate_to_dat(tmp_path / "v.mp4", tmp_path / "v.dat", frames_per_image=10, n_frames=55)
    assert read_dat(p, height=32, width=48).n_frames == 55


def test_settings_change_output(rng):
    img = rng.random((8, 8))
    a = simulate(img, n_frames=200).mean_rate()
    b = simulate(img, n_frames=200, settings=CameraSettings(gain=30.0)).mean_rate()
    assert b == pytest.approx(a / 2, rel=0.05)


def test_default_frames_per_image(rng):
    from spikevision.sim import DEFAULT_FRAMES_PER_IMAGE

    s = simulate(rng.random((3, 4, 5)).astype(np.float32))
    assert s.shape == (3 * DEFAULT_FRAMES_PER_IMAGE, 4, 5) and s.attrs["frames_per_image"] == DEFAULT_FRAMES_PER_IMAGE


def test_huge_resize_is_refused_before_any_allocation(monkeypatch):
    # found by the CLI fuzz: `simulate img.png --height 37542` resized a 12 x 16 image to
    # 37542 x 50056 (7.5 GB of float32) before the frame count was checked against the budget
    monkeypatch.setenv("SPIKEVISION_MEMORY_BUDGET", "256M")
    with pytest.raises(ValueError, match="memory budget"):
        simulate(np.full((12, 16), 0.5, np.float32), n_frames=1, height=37542)
    s = simulate(np.full((12, 16), 0.5, np.float32), n_frames=2, height=24)  # small resizes still run
    assert s.shape == (2, 24, 32)
