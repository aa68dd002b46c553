"""Training samples of the learned reconstructors: shapes, seeding, key-frame samples."""

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("cv2")

from spikevision.recon.learned import data  # noqa: E402
from spikevision.recon.learned.data import ReconDataConfig, make_batch, make_sample  # noqa: E402


@pytest.fixture
def one_image(monkeypatch):
    """A pool of one noise image whose pixel values are all distinct."""
    img = np.random.default_rng(3).permutation(300 * 300).reshape(300, 300).astype(np.float32) / (300 * 300)
    monkeypatch.setattr(data, "image_pool", lambda *a, **k: ((img, img, img, img),))
    return img


def _plain(**kw):
    return ReconDataConfig(patch=24, gain_range=(1.0, 1.0), low_light_fraction=0.0, gamma_range=(1.0, 1.0),
                           still_fraction=0.0, reject_flat=0.0, **kw)


def test_batch_shapes_and_seeding():
    cfg = ReconDataConfig(patch=16, procedural=2)
    a = make_batch(np.random.default_rng(7), 3, cfg)
    b = make_batch(np.random.default_rng(7), 3, cfg)
    spikes, gt, vel = a
    assert spikes.shape == (3, 41, 16, 16) and spikes.dtype == np.uint8 and set(np.unique(spikes)) <= {0, 1}
    assert gt.shape == (3, 1, 16, 16) and vel.shape == (3, 4, 16, 16)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_key_frame_centre_is_an_exact_crop_and_the_others_are_resampled(one_image):
    values = set(one_image.ravel().tolist())
    rng = np.random.default_rng(0)
    for _ in range(5):
        frames, _ = make_sample(rng, _plain(key_frame_fraction=1.0))
        assert set(frames[20].ravel().tolist()) <= values  # whole source pixels, no interpolation
        assert not set(frames[0].ravel().tolist()) <= values  # a moving frame is resampled
    frames, _ = make_sample(np.random.default_rng(0), _plain(key_frame_fraction=0.0))
    assert not set(frames[20].ravel().tolist()) <= values  # ordinary samples resample the centre too


def test_key_frame_velocity_kink(one_image):
    # With a kink, the track before and after the key frame differ: frames at equal distance
    # on both sides are not mirror shifts of each other; the target is the mean velocity.
    cfg = _plain(key_frame_fraction=1.0, max_speed=0.4)
    f0, v0 = make_sample(np.random.default_rng(11), replace(cfg, max_kink=0.0))
    f1, v1 = make_sample(np.random.default_rng(11), replace(cfg, max_kink=0.9))
    assert np.array_equal(f0[20], f1[20]) and np.allclose(v0[:2], v1[:2], atol=1e-6)
    assert np.allclose(v0[2:], 0) and np.hypot(*v1[2:, 0, 0]) > 0  # the change is the kink
    assert np.array_equal(f0[:20].shape, f1[:20].shape) and not np.allclose(f0[0], f1[0])


def test_extra_photos_join_the_pool():
    pytest.importorskip("matplotlib")
    base = data.image_pool(("camera",), 0)
    more = data.image_pool(("camera",), 0, True)
    assert len(more) == len(base) + len(data.EXTRA_PHOTOS)
    for levels in more:
        img = levels[0]
        assert img.dtype == np.float32 and img.ndim == 2 and 0 <= img.min() and img.max() <= 1 and img.std() > 0.05
    assert make_batch(np.random.default_rng(0), 2, ReconDataConfig(patch=16, procedural=0, pool=("camera",),
                                                                    extra_photos=True))[0].shape == (2, 41, 16, 16)


def test_more_photos_join_the_pool():
    pytest.importorskip("sklearn", reason="more_photos reads scikit-learn's sample photos (the train extra)")
    base = data.image_pool(("camera",), 0)
    more = data.image_pool(("camera",), 0, False, True)
    assert len(more) == len(base) + len(data.MORE_PHOTOS)
    for levels in more[len(base):]:
        img = levels[0]
        assert img.shape == (427, 640) and img.dtype == np.float32 and img.std() > 0.05
    cfg = ReconDataConfig(patch=16, procedural=0, pool=("camera",), more_photos=True)
    assert make_batch(np.random.default_rng(0), 2, cfg)[0].shape == (2, 41, 16, 16)


def test_missing_extra_photo_is_a_clear_error(monkeypatch):
    with pytest.raises(RuntimeError, match="no_such_photo.png is not in this installation"):
        data._package_photos((("skimage", "data/no_such_photo.png"),))
    _without_package(monkeypatch, "matplotlib")
    with pytest.raises(RuntimeError, match=r"needs the package 'matplotlib' \(install spikevision\[vision\]\)"):
        data._package_photos(data.EXTRA_PHOTOS)
    with pytest.raises(RuntimeError, match=r"needs the package 'no_such_package_xyz' \(install spikevision\[all\]\)"):
        data._package_photos((("no_such_package_xyz", "b.png"),))
    # the pool reads the photos through the same check
    monkeypatch.setattr(data, "EXTRA_PHOTOS", (("skimage", "data/no_such_photo.png"),))
    data.image_pool.cache_clear()
    with pytest.raises(RuntimeError, match="no_such_photo.png"):
        data.image_pool(("camera",), 0, True)


def _without_package(monkeypatch, name):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == name else real(n, *a))


def test_missing_scikit_learn_names_the_train_extra(monkeypatch):
    _without_package(monkeypatch, "sklearn")
    with pytest.raises(RuntimeError, match=r"needs the package 'sklearn' \(install spikevision\[train\]\)"):
        data._package_photos(data.MORE_PHOTOS)
