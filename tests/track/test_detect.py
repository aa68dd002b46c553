"""Detection: cell rates (packed and dense paths agree), background model, boxes of foreground cells."""

import numpy as np
import pytest

from spikevision import write_dat
from spikevision.io.dat import read_dat
from spikevision.track import BackgroundModel, DetectorSettings, cell_rates, detect_cells


def test_cell_rates_known_values():
    s = np.zeros((10, 8, 16), np.uint8)
    s[:5, :4, :8] = 1          # top-left cell fires in half of the frames
    r = cell_rates(s, 0, 10, cell=(4, 8))
    assert r.shape == (2, 2) and r.dtype == np.float32
    assert r[0, 0] == pytest.approx(0.5) and r[1:, :].sum() == 0 and r[0, 1] == 0


def test_cell_rates_border_cells_use_their_area():
    s = np.ones((4, 6, 10), np.uint8)   # partial cells at the bottom and right
    r = cell_rates(s, 0, 4, cell=(4, 8))
    assert r.shape == (2, 2)
    np.testing.assert_allclose(r, 1.0)


@pytest.mark.parametrize("upright", [False, True])
def test_packed_path_matches_dense(tmp_path, rng, upright):
    a = (rng.random((30, 24, 40)) < 0.3).astype(np.uint8)
    p = write_dat(tmp_path / "c.dat", a, upright=upright)
    with read_dat(p, height=24, width=40, upright=upright) as st:
        packed = cell_rates(st, 5, 25, cell=(4, 8))
        window = cell_rates(st[3:30], 2, 22, cell=(4, 8))     # a lazy window of the stream
    np.testing.assert_allclose(packed, cell_rates(a, 5, 25, cell=(4, 8)), rtol=1e-6)
    np.testing.assert_allclose(window, packed, rtol=1e-6)


def test_cell_rates_bad_range():
    with pytest.raises(ValueError, match="frame range"):
        cell_rates(np.zeros((5, 8, 8), np.uint8), 3, 3)
    with pytest.raises(ValueError, match="frame range"):
        cell_rates(np.zeros((5, 8, 8), np.uint8), 0, 6)


@pytest.mark.parametrize("kw", [{"window": 0}, {"alpha": 1.5}, {"cell": (4,)}, {"tolerance": (1, -1)},
                                {"noise_floor": 0.0}, {"slow_factor": 2.0}, {"ghost_alpha": -0.1}])
def test_settings_reject_bad_values(kw):
    with pytest.raises((ValueError, TypeError)):
        DetectorSettings(**kw)


def test_background_model_flags_a_new_object_only():
    d = DetectorSettings(warmup=0)
    bg = BackgroundModel(d)
    rng = np.random.default_rng(0)
    base = (0.3 + 0.05 * rng.random((16, 20))).astype(np.float32)
    for _ in range(3):
        fg, _ = bg.update(base)
        assert not fg.any()
    img = base.copy()
    img[5:8, 6:10] = 0.9
    fg, score = bg.update(img)
    assert fg[5:8, 6:10].all() and fg.sum() == 12
    assert score[6, 7] > score[0, 0]
    with pytest.raises(ValueError, match="shape changed"):
        bg.update(np.zeros((3, 3), np.float32))


def test_background_model_tolerates_a_small_drift():
    d = DetectorSettings(warmup=0, tolerance=(2, 1))
    bg = BackgroundModel(d)
    y, x = np.mgrid[0:32, 0:40]
    tex = lambda dx: (0.35 + 0.15 * np.sin((x - dx) / 2.0) * np.cos(y / 3.0)).astype(np.float32)  # noqa: E731
    bg.update(tex(0.0))
    flagged = [bg.update(tex(0.1 * k))[0].sum() for k in range(1, 20)]
    assert max(flagged) == 0


def test_detect_cells_boxes_and_empty():
    fg = np.zeros((10, 10), bool)
    assert detect_cells(fg, cell=(4, 8), shape=(40, 80)).shape == (0, 5)
    fg[2:4, 3:6] = True       # 6 cells
    fg[8, 8] = True           # a lone cell, dropped by min_cells
    b = detect_cells(fg, cell=(4, 8), shape=(40, 80), merge=1, min_cells=4)
    np.testing.assert_array_equal(b, [[24, 8, 24, 8, 1.0]])


def test_grow_objects_recovers_the_rest_of_a_bright_object():
    from spikevision.track import grow_objects

    rate = np.full((20, 20), 0.3, np.float32)
    rate[5:10, 5:12] = 0.8                 # a bright object ...
    fg = np.zeros((20, 20), bool)
    fg[5:10, 5:7] = True                   # ... of which only the leading edge changed
    bg = rate.copy()
    bg[fg] = 0.3
    grown = grow_objects(fg, rate, bg, grow=6, ring=2, contrast=0.05)
    assert grown[5:10, 5:12].all() and grown.sum() == 35
    assert grow_objects(fg, rate, bg, grow=0, ring=2, contrast=0.05) is fg
    assert not grow_objects(np.zeros_like(fg), rate, bg, grow=3, ring=2, contrast=0.05).any()
