"""The reconstruction registry: lazy registration, window methods, the context rule, errors."""

import numpy as np
import pytest

from spikevision import SpikeStream
from spikevision.recon import (
    UnknownMethodError,
    frame_indices,
    get_method,
    list_methods,
    method_options,
    reconstruct,
    register_method,
    tfp,
    unregister_method,
)


@pytest.fixture
def spikes(rng):
    return (rng.random((90, 6, 7)) < 0.3).astype(np.uint8)


def _mean_window(frames, *, scale=1.0):
    return frames.mean(axis=0) * scale


def test_builtin_methods_listed():
    assert {"tfp", "tfi", "tfstp", "atfi"} <= set(list_methods())
    assert method_options("tfp") == {"window", "rate_ratio"}


def test_lazy_registration_by_path(spikes):
    register_method("tfp-lazy", "spikevision.recon.classical:tfp", description="lazy")
    try:
        assert np.array_equal(reconstruct(spikes, method="tfp-lazy", at=45), tfp(spikes, at=45))
    finally:
        unregister_method("tfp-lazy")


def test_lazy_registration_imports_only_on_use():
    register_method("ghost", "spikevision_no_such_module.sub:func", kind="window")
    try:
        with pytest.raises(ImportError, match="spikevision_no_such_module"):
            reconstruct(np.zeros((41, 2, 2), np.uint8), method="ghost", at=20)
    finally:
        unregister_method("ghost")


def test_window_method_single_and_whole(spikes):
    register_method("winmean", _mean_window, kind="window", window=41, defaults={"scale": 1 / 0.6})
    try:
        one = reconstruct(spikes, method="winmean", at=45)
        assert one.dtype == np.float32 and one.shape == (6, 7)
        assert np.allclose(one, tfp(spikes, at=45), atol=1e-6)
        allv = reconstruct(SpikeStream(spikes), method="winmean", every=5)
        assert np.allclose(allv, tfp(spikes, every=5), atol=1e-6)
        # window override, unknown option
        assert reconstruct(spikes, method="winmean", at=45, window=11).shape == (6, 7)
        with pytest.raises(TypeError, match="unknown option"):
            reconstruct(spikes, method="winmean", at=45, bogus=1)
    finally:
        unregister_method("winmean")


def test_window_method_bad_output(spikes):
    register_method("badshape", lambda frames: frames[0, :2], kind="window")
    try:
        with pytest.raises(ValueError, match="expected"):
            reconstruct(spikes, method="badshape", at=45)
    finally:
        unregister_method("badshape")


def test_registration_errors():
    with pytest.raises(ValueError, match="already registered"):
        register_method("tfp", tfp)
    with pytest.raises(ValueError, match="a-z0-9"):
        register_method("Bad Name", tfp)
    with pytest.raises(ValueError, match="module:function"):
        register_method("x", "not a path")
    with pytest.raises(TypeError):
        register_method("x", 42)
    with pytest.raises(ValueError, match="kind"):
        register_method("x", tfp, kind="batch")
    with pytest.raises(ValueError, match="window"):
        register_method("x", tfp, kind="window", window=None)
    with pytest.raises(UnknownMethodError):
        get_method("nope")
    with pytest.raises(UnknownMethodError):
        unregister_method("nope")


def test_reconstruct_argument_errors(spikes):
    with pytest.raises(ValueError, match="exactly one"):
        reconstruct(spikes, method="tfp")
    with pytest.raises(ValueError, match="exactly one"):
        reconstruct(spikes, method="tfp", at=45, every=2)
    with pytest.raises(UnknownMethodError, match="expected one of"):
        reconstruct(spikes, method="nope", at=45)
    with pytest.raises(ValueError, match=r"needs frames \[-15, 26\)"):
        reconstruct(spikes, method="tfp", at=5)
    with pytest.raises(ValueError, match="outside the stream"):
        reconstruct(spikes, method="tfp", at=90)
    with pytest.raises(TypeError, match="accepts"):
        reconstruct(spikes, method="tfp", at=45, windw=3)
    with pytest.raises(TypeError):
        reconstruct(spikes.astype(np.float32), method="tfp", at=45)


def test_frame_indices_rule():
    assert frame_indices(301, every=1, window=41).tolist() == list(range(20, 281))
    assert frame_indices(301, every=50, window=41).tolist() == [50, 100, 150, 200, 250]
    assert frame_indices(40, every=1, window=41).tolist() == []
    assert frame_indices(0, every=3, window=None).tolist() == []
    assert frame_indices(10, every=3, window=None).tolist() == [0, 3, 6, 9]
    assert frame_indices(10, every=1, window=4).tolist() == [2, 3, 4, 5, 6, 7, 8]  # [t-2, t+2)
    with pytest.raises(ValueError):
        frame_indices(10, every=0, window=3)


@pytest.mark.parametrize("method", ["tfp", "tfi", "tfstp", "atfi"])
def test_empty_and_short_streams(method):
    empty = np.zeros((0, 3, 4), np.uint8)
    out = reconstruct(empty, method=method, every=1)
    assert out.shape == (0, 3, 4) and out.dtype == np.float32
    short = np.ones((10, 3, 4), np.uint8)
    assert reconstruct(short, method=method, every=1).shape == (0, 3, 4)
    assert reconstruct(short, method=method, every=1, window=5).shape == (6, 3, 4)
