"""Export: PNG / MP4 / GIF / NPY, atomic, decodable by a second library with the right frame count."""

import numpy as np
import pytest

from spikevision.viz import export_spikes, spike_frames, to_uint8, write_images


@pytest.fixture
def frames(rng):
    return rng.random((12, 25, 31)).astype(np.float32)  # odd sizes on purpose


def test_to_uint8():
    assert to_uint8(np.array([[0.0, 0.5, 1.2, -1]])).tolist() == [[0, 128, 255, 0]]
    u = np.array([[3, 4]], np.uint8)
    assert to_uint8(u) is u
    with pytest.raises(TypeError):
        to_uint8(np.array([[1, 2]], np.int64))
    with pytest.raises(ValueError):
        to_uint8(np.array([[np.nan]]))


def test_mp4_decodes_with_opencv(tmp_path, frames):
    cv2 = pytest.importorskip("cv2")
    out = write_images(tmp_path / "v.mp4", frames, fps=25)
    cap = cv2.VideoCapture(str(out))
    n, shape = 0, None
    while True:
        ok, f = cap.read()
        if not ok:
            break
        n, shape = n + 1, f.shape
    cap.release()
    assert n == len(frames)
    assert shape[:2] == (26, 32)  # padded to even sizes for H.264
    assert not list(tmp_path.glob(".*tmp*"))


def test_gif_png_npy(tmp_path, frames):
    import imageio.v3 as iio
    from PIL import Image

    write_images(tmp_path / "v.gif", frames, fps=10)
    assert iio.imread(tmp_path / "v.gif").shape[:3] == (12, 25, 31)
    write_images(tmp_path / "f.png", frames[3])
    assert np.array_equal(np.asarray(Image.open(tmp_path / "f.png")), to_uint8(frames[3]))
    write_images(tmp_path / "a.npy", frames)
    assert np.array_equal(np.load(tmp_path / "a.npy"), frames)


def test_bad_outputs(tmp_path, frames):
    with pytest.raises(ValueError, match="one frame"):
        write_images(tmp_path / "f.png", frames)
    with pytest.raises(ValueError, match="unknown output"):
        write_images(tmp_path / "f.jpg", frames)
    with pytest.raises(ValueError):
        write_images(tmp_path / "v.mp4", frames[:0])
    with pytest.raises(FileNotFoundError):
        write_images(tmp_path / "missing" / "v.mp4", frames)
    with pytest.raises(ValueError):
        write_images(tmp_path / "v.mp4", np.zeros((2, 2, 2, 2)))


def test_spike_frames_and_export(tmp_path, rng):
    s = np.zeros((6, 1, 1), np.uint8)
    s[::2] = 1
    assert spike_frames(s, mean=2, every=2).ravel().tolist() == [0.5, 0.5, 0.5]
    assert spike_frames(s).ravel().tolist() == [1, 0, 1, 0, 1, 0]
    assert spike_frames(s, mean=7).shape == (0, 1, 1)
    a = (rng.random((30, 8, 10)) < 0.3).astype(np.uint8)
    m = spike_frames(a, mean=5, every=5)
    assert m.shape == (6, 8, 10) and np.allclose(m[1], a[5:10].mean(0))
    export_spikes(tmp_path / "s.npy", a, mean=3, every=3)
    assert np.load(tmp_path / "s.npy").shape == (10, 8, 10)
    with pytest.raises(ValueError):
        spike_frames(a, mean=0)
