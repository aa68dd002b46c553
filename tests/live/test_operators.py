import numpy as np
import pytest

from spikevision.io import pack_frames
from spikevision.live import (ActivityTrigger, Chunk, HotPixels, MethodPreview, PreviewSettings, TFPPreview,
                              lane_layout, make_preview, preview_times)
from spikevision.recon import reconstruct


def feed_in_chunks(op, packed, sizes, *, first=0, clock=lambda: 0.0):
    out, i = [], 0
    for n in sizes:
        if i >= len(packed):
            break
        out += op.feed(Chunk(first + i, packed[i : i + n], 0.0), clock)
        i += n
    return out


def chunk_sizes(rng, total):
    return rng.integers(1, 60, size=total).tolist()


@pytest.mark.parametrize("fps", [37.0, 500.0, 2000.0, 20000.0])  # sparse windows ... a preview every frame
def test_tfp_preview_equals_reconstruct(make_frames, rng, backend, fps):
    f = make_frames(400, 13, 21)
    settings = PreviewSettings("tfp", fps=fps, window=41)
    op = TFPPreview(lane_layout(13, 21, upright=False), 20000.0, settings, backend=backend)
    assert op.sliding == (20000.0 / fps * 2 < 41)
    previews = feed_in_chunks(op, pack_frames(f), chunk_sizes(rng, 400))
    times = [t for t, _ in zip(preview_times(20000.0, fps, 41), range(len(previews)))]
    assert [p.frame for p in previews] == times
    assert previews[-1].frame - 20 + 41 <= 400 < previews[-1].frame + int(20000 / fps) - 20 + 42
    for p in previews:
        want = reconstruct(f, method="tfp", at=p.frame, window=41)
        np.testing.assert_array_equal(p.image, want)  # bit-exact
        assert p.image.dtype == np.float32 and p.time_s == p.frame / 20000.0


def test_tfp_preview_other_window_and_ratio(make_frames, backend):
    f = make_frames(300, 8, 16)
    s = PreviewSettings("tfp", fps=200.0, window=7, rate_ratio=0.3)
    op = TFPPreview(lane_layout(8, 16, upright=False), 20000.0, s, backend=backend)
    for p in feed_in_chunks(op, pack_frames(f), [300]):
        np.testing.assert_array_equal(p.image, reconstruct(f, method="tfp", at=p.frame, window=7, rate_ratio=0.3))


@pytest.mark.parametrize("method", ["tfi", "atfi"])
def test_method_preview_equals_reconstruct(make_frames, rng, method):
    f = make_frames(300, 12, 10)
    op = MethodPreview(lane_layout(12, 10, upright=False), 20000.0, PreviewSettings(method, fps=300.0))
    previews = feed_in_chunks(op, pack_frames(f), chunk_sizes(rng, 300))
    assert len(previews) == 4
    for p in previews:
        np.testing.assert_allclose(p.image, reconstruct(f, method=method, at=p.frame, window=41), rtol=0, atol=0)


def test_upright_feed(make_frames):
    f = make_frames(100, 6, 9)
    op = make_preview(lane_layout(6, 9, upright=True), 1000.0, PreviewSettings("tfp", fps=20.0))
    previews = feed_in_chunks(op, pack_frames(f, upright=True), [100])
    assert [p.frame for p in previews] == [20, 70]
    for p in previews:
        np.testing.assert_array_equal(p.image, reconstruct(f, method="tfp", at=p.frame, window=41))


@pytest.mark.parametrize("fps", [100.0, 5000.0])
def test_gap_skips_previews(make_frames, backend, fps):
    f = make_frames(400, 5, 8)
    p = pack_frames(f)
    op = TFPPreview(lane_layout(5, 8, upright=False), 20000.0, PreviewSettings("tfp", fps=fps), backend=backend)
    out = op.feed(Chunk(0, p[:205], 0.0), lambda: 0.0)
    out += op.feed(Chunk(235, p[235:], 0.0), lambda: 0.0)  # frames 205..234 were dropped
    assert out
    for q in out:
        assert not (q.frame - 20 < 235 and q.frame + 21 > 205)  # no window touches the gap
        np.testing.assert_array_equal(q.image, reconstruct(f, method="tfp", at=q.frame, window=41))
    assert op.skipped >= 1
    assert op.emitted == len(out)


def test_preview_settings_and_choice():
    lay = lane_layout(4, 8, upright=False)
    assert isinstance(make_preview(lay, 20000.0, PreviewSettings("tfp")), TFPPreview)
    assert isinstance(make_preview(lay, 20000.0, PreviewSettings("tfp", window=300)), MethodPreview)
    assert isinstance(make_preview(lay, 20000.0, PreviewSettings("atfi")), MethodPreview)
    with pytest.raises(ValueError):
        PreviewSettings("tfp", fps=0)
    with pytest.raises(ValueError):
        PreviewSettings("tfp", window=0)
    with pytest.raises(ValueError, match="unknown reconstruction method"):
        make_preview(lay, 20000.0, PreviewSettings("nope"))
    with pytest.raises(ValueError, match="255"):
        TFPPreview(lay, 20000.0, PreviewSettings("tfp", window=300))


def test_preview_times_known_values():
    it = preview_times(20000.0, 60.0, 41)
    assert [next(it) for _ in range(4)] == [20, 353, 686, 1020]


def test_hot_pixels(make_frames):
    f = make_frames(5000, 6, 8, 0.2)
    f[:, 2, 3] = 1
    f[::2, 4, 4] = 1
    hp = HotPixels(lane_layout(6, 8, upright=False), every=100, sample=60, threshold=0.95)
    p = pack_frames(f)
    for i in range(0, 5000, 333):
        hp.feed(Chunk(i, p[i : i + 333], 0.0))
    assert hp.sampled == 50 * 60
    assert np.argwhere(hp.mask()).tolist() == [[2, 3]]
    sampled = np.concatenate([f[k * 100 : k * 100 + 60] for k in range(50)])
    np.testing.assert_allclose(hp.rates(), sampled.mean(0))
    with pytest.raises(ValueError):
        HotPixels(lane_layout(6, 8, upright=False), every=10, sample=20)


def test_activity_trigger():
    trig = ActivityTrigger(n_pixels=100, threshold=0.2, tau_frames=50, holdoff=10)
    counts = np.full(400, 10)
    counts[150:160] = 60      # an excursion: fires once at its start
    counts[300:] = 80         # a lasting change
    ev = trig.feed(0, counts[:200]) + trig.feed(200, counts[200:])
    assert [e.frame for e in ev] == [150, 300]
    assert ev[0].baseline == pytest.approx(0.1)
    assert trig.feed(400, np.zeros(0)) == []
    with pytest.raises(ValueError):
        ActivityTrigger(n_pixels=0, threshold=0.1)
