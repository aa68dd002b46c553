"""AEE / PO% (spikevision.metrics.flow)."""

import numpy as np
import pytest

from spikevision.metrics.flow import PO_ABS_PX, PO_REL, aee, endpoint_error, flow_errors, percent_outliers, summarize


def test_known_values():
    gt = np.zeros((4, 4, 2), np.float32)
    pred = gt.copy()
    pred[0, 0] = (3.0, 4.0)  # error 5 px on one pixel of 16
    assert aee(pred, gt) == pytest.approx(5 / 16)
    assert percent_outliers(pred, gt) == pytest.approx(100 / 16)
    assert endpoint_error(pred, gt)[0, 0] == pytest.approx(5.0)


def test_po_needs_both_thresholds():
    gt = np.zeros((1, 3, 2))
    gt[0, :, 0] = (20.0, 20.0, 0.0)
    pred = gt.copy()
    pred[0, 0, 0] += 0.9   # > 0.5 px but < 5 % of 20 px: not an outlier
    pred[0, 1, 0] += 1.5   # > 0.5 px and > 1 px: outlier
    pred[0, 2, 0] += 0.4   # < 0.5 px: not an outlier
    assert percent_outliers(pred, gt) == pytest.approx(100 / 3)
    assert (PO_ABS_PX, PO_REL) == (0.5, 0.05)


def test_mask_and_all_in_one(rng):
    gt = rng.normal(size=(8, 9, 2))
    pred = gt + rng.normal(scale=0.7, size=gt.shape)
    mask = rng.random((8, 9)) > 0.3
    e = flow_errors(pred, gt, mask=mask)
    assert e["aee"] == pytest.approx(aee(pred, gt, mask=mask))
    assert e["po"] == pytest.approx(percent_outliers(pred, gt, mask=mask))
    assert e["n"] == mask.sum()
    assert aee(pred, gt, mask=np.ones((8, 9), bool)) == pytest.approx(aee(pred, gt))


def test_nan_gt_ignored_without_mask():
    gt = np.zeros((2, 2, 2))
    gt[0, 0] = np.nan
    pred = np.ones((2, 2, 2))
    assert aee(pred, gt) == pytest.approx(np.sqrt(2))


@pytest.mark.parametrize("bad,err", [
    (np.zeros((0, 3, 2)), ValueError),
    (np.zeros((3, 3)), ValueError),
    (np.zeros((3, 3, 3)), ValueError),
    (np.zeros((3, 3, 2), complex), TypeError),
])
def test_bad_flow(bad, err):
    with pytest.raises(err):
        aee(bad, bad)


def test_bad_inputs():
    a = np.zeros((3, 3, 2))
    with pytest.raises(ValueError, match="same shape"):
        aee(a, np.zeros((3, 4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        aee(np.full((3, 3, 2), np.nan), a)
    with pytest.raises(TypeError, match="bool"):
        aee(a, a, mask=np.ones((3, 3)))
    with pytest.raises(ValueError, match="shape"):
        aee(a, a, mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="no pixel"):
        percent_outliers(a, a, mask=np.zeros((3, 3), bool))


def test_summarize_unweighted():
    s = summarize({"a": {"aee": 1.0, "po": 10.0}, "b": {"aee": 3.0, "po": 0.0}})
    assert s == {"aee": 2.0, "po": 5.0, "scenes": 2}
    with pytest.raises(ValueError, match="no scenes"):
        summarize({})
    with pytest.raises(ValueError, match="non-finite"):
        summarize({"a": {"aee": float("nan"), "po": 1.0}})
    with pytest.raises(ValueError, match="has no"):
        summarize({"a": {"aee": 1.0}})
