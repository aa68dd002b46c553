"""The moving-camera scene generator (spikevision.sim.camera_motion): exact flow, determinism, kinds."""

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("skimage")

from spikevision.sim.camera_motion import CAMERA_KINDS, moving_camera_scene  # noqa: E402


def _warp_back(img1, flow):
    import cv2

    h, w = img1.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img1, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR)


@pytest.mark.parametrize("kind", CAMERA_KINDS)
def test_flow_warps_the_later_frame_onto_the_earlier(kind):
    scene = moving_camera_scene(3, height=80, width=120, camera=kind)
    i0, i1 = scene.intensity(20.0), scene.intensity(40.0)
    flow, valid = scene.flow(20.0, 40.0)
    assert flow.shape == (80, 120, 2) and flow.dtype == np.float32 and valid.mean() > 0.5
    err = np.abs(_warp_back(i1, flow) - i0)[valid].mean()
    still = np.abs(i1 - i0)[valid].mean()
    assert err < 0.02 and (kind == "still" or err < 0.3 * still)


def test_still_camera_background_does_not_move():
    scene = moving_camera_scene(5, height=80, width=120, camera="still", objects=(0, 0))
    flow, valid = scene.flow(0.0, 20.0)
    assert np.abs(flow).max() < 1e-6 and valid.all()


def test_deterministic_and_in_range():
    a = moving_camera_scene(7, height=40, width=60).frames(3)
    b = moving_camera_scene(7, height=40, width=60).frames(3)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1


def test_bad_camera_kind():
    with pytest.raises(ValueError, match="camera"):
        moving_camera_scene(0, height=40, width=60, camera="dolly")
