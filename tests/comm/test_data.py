"""Training data of the learned codes: held-out images, seeded batches, textures."""

import numpy as np

from spikevision.comm.data import CommDataConfig, HELD_OUT, TRAIN_IMAGES, make_batch, texture


def test_held_out_not_in_training():
    assert not set(TRAIN_IMAGES) & {h.split(":")[-1] for h in HELD_OUT}


def test_make_batch_shapes_and_seed():
    cfg = CommDataConfig(patch=32, texture_fraction=0.5)
    s, g = make_batch(np.random.default_rng(0), 3, cfg)
    assert s.shape == (3, 41, 32, 32) and s.dtype == np.uint8 and set(np.unique(s)) <= {0, 1}
    assert g.shape == (3, 1, 32, 32) and 0 <= g.min() and g.max() <= 1
    s2, g2 = make_batch(np.random.default_rng(0), 3, cfg)
    assert np.array_equal(s, s2) and np.array_equal(g, g2)
    # spike rate follows the REDS preset: about 0.6 x intensity
    assert abs(s.mean() - 0.6 * g.mean()) < 0.03


def test_texture_range():
    t = texture(np.random.default_rng(1), 40)
    assert t.shape == (40, 40) and t.min() >= 0 and t.max() <= 1
