"""The HTTP API through Starlette's test client: right answers, 4xx for bad requests, safety."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from spikevision import SpikeStream
from spikevision.io import read_dat
from spikevision.recon import reconstruct

pytest.importorskip("starlette", reason="the viewer needs the 'view' extra (starlette, uvicorn)")
pytest.importorskip("cv2", reason="the viewer's pictures need the 'vision' extra")



def png(resp) -> np.ndarray:
    from PIL import Image

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(resp.content)))


def client_for(path, export_dir=None, **load):
    from starlette.testclient import TestClient

    from spikevision.view import LoadOptions, ViewSettings, create_app, open_catalog

    app = create_app(open_catalog(path, LoadOptions(**load)), ViewSettings(export_dir=export_dir))
    return TestClient(app, base_url="http://127.0.0.1")


def test_info(client):
    d = client.get("/api/info").json()
    assert {k: d[k] for k in ("frames", "height", "width", "rate_hz")} == {"frames": 120, "height": 24, "width": 32,
                                                                           "rate_hz": 20000.0}
    assert d["duration_s"] == pytest.approx(0.006)
    assert d["methods"][:2] == ["raw", "mean"] and "tfp" in d["methods"]
    assert "classical" in d["flow_methods"]


def test_frame_raw_and_mean(client, spikes):
    np.testing.assert_array_equal(png(client.get("/api/frame?t=33&method=raw")), spikes[33] * 255)
    np.testing.assert_array_equal(png(client.get("/api/frame?t=33")), spikes[33] * 255)   # raw is the default
    got = png(client.get("/api/frame?t=60&method=mean&window=9"))
    np.testing.assert_array_equal(got, np.rint(spikes[56:65].mean(0) * 255))


def test_frame_equals_reconstruct_on_bundled_sample(bundled):
    """The bar: /api/frame?t=..&method=tfp&window=41 equals reconstruct(...) within one gray level."""
    with client_for(bundled, sensor="vidar") as c:
        s = read_dat(bundled, sensor="vidar")
        for method in ("tfp", "tfi", "atfi"):
            got = png(c.get(f"/api/frame?t=60&method={method}&window=41")).astype(int)
            ref = reconstruct(s, method=method, at=60, window=41)
            assert got.shape == (250, 400)
            assert np.abs(got - np.clip(np.rint(ref * 255), 0, 255)).max() <= 1


def test_frame_t100_on_reds_clip(reds_sample_dir):
    """The issue's exact request (t=100) on a 301-frame REDS clip."""
    dat = sorted((reds_sample_dir / "spike").glob("*.dat"))[0]
    with client_for(dat, sensor="vidar") as c:
        got = png(c.get("/api/frame?t=100&method=tfp&window=41")).astype(int)
        ref = reconstruct(read_dat(dat, sensor="vidar"), method="tfp", at=100, window=41)
        assert np.abs(got - np.rint(ref * 255)).max() <= 1
        assert c.get("/api/info").json()["frames"] == 301


def test_rate_counts(client, spikes):
    d = client.get("/api/rate").json()
    assert d["counts"] == spikes.reshape(120, -1).sum(1).tolist()
    assert client.get("/api/rate?start=10&stop=12").json()["counts"] == spikes[10:12].reshape(2, -1).sum(1).tolist()


def test_flow_ratemap_hot_pixel(client):
    pytest.importorskip("cv2")
    img = png(client.get("/api/flow?t0=30&dt=20&method=classical"))
    assert img.shape == (24, 32, 3)
    assert png(client.get("/api/flow?t0=30&dt=20&method=classical&arrows=1")).shape == (24, 32, 3)
    rm = png(client.get("/api/ratemap?t=60&window=120"))
    assert rm.shape == (24, 32, 3) and tuple(rm[5, 30]) == (255, 0, 0)
    hot = client.get("/api/hotpixels?t=60&window=120").json()
    assert hot["count"] == 1 and hot["pixels"][0][:2] == [5, 30] and (hot["start"], hot["stop"]) == (0, 120)
    px = client.get("/api/pixel?y=5&x=30&t=60&window=40").json()
    assert (px["start"], px["stop"]) == (40, 80) and px["rate"] > 0.8
    assert px["intervals"] == np.diff(px["spikes"]).tolist()


def test_server_timing_header(client):
    r = client.get("/api/frame?t=40&method=tfp&window=21")
    assert r.headers["server-timing"].startswith("compute;dur=")


BAD = [
    ("/api/frame?t=120", 400, "t must be <= 119"),                  # t out of range
    ("/api/frame?t=-3", 400, "t must be >= 0"),                      # negative
    ("/api/frame?t=ten", 400, "must be an integer"),                 # not a number
    ("/api/frame?t=1.5", 400, "must be an integer"),
    ("/api/frame", 400, "missing parameter 't'"),
    ("/api/frame?t=50&method=nope", 400, "unknown method"),          # unknown method
    ("/api/frame?t=50&method=tfp&window=0", 400, "window must be >= 1"),   # bad window
    ("/api/frame?t=50&method=tfp&window=abc", 400, "window must be an integer"),
    ("/api/frame?t=50&method=tfp&window=99999999", 400, "window must be <="),
    ("/api/frame?t=3&method=tfp", 400, "needs frames"),              # window outside the recording
    ("/api/frame?t=5&t=6", 400, "given 2 times"),
    ("/api/frame?t=5&path=/etc/passwd", 400, "unknown parameter"),
    ("/api/frame?t=5&file=../../etc/passwd", 400, "file must be an integer"),
    ("/api/frame?t=5&file=7", 404, "no file with id 7"),
    ("/api/flow?t0=5&dt=20", 400, "needs frames"),
    ("/api/flow?t0=30&dt=0", 400, "dt must be >= 1"),
    ("/api/flow?t0=30&method=magic", 400, "unknown flow method"),
    ("/api/flow?t0=30&arrows=maybe", 400, "arrows must be 0 or 1"),
    ("/api/pixel?y=24&x=0&t=5", 400, "y must be <= 23"),
    ("/api/ratemap?t=5&window=0", 400, "window must be >= 1"),
    ("/api/rate?start=10&stop=5", 400, "stop must be >= 10"),
    ("/api/nothing", 404, "Not Found"),
    ("/static/../source.py", 404, ""),
    ("/static/app.py", 404, "no such page resource"),
]


@pytest.mark.parametrize("url, status, text", BAD)
def test_bad_requests_get_4xx_json_without_paths(client, dat_file, url, status, text):
    r = client.get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert text in r.json()["error"]
    assert str(dat_file.parent) not in r.text and "Traceback" not in r.text


def test_method_not_allowed_is_json(client):
    r = client.post("/api/frame?t=1")
    assert r.status_code == 405 and "error" in r.json()


def test_page_and_static(client):
    r = client.get("/")
    assert r.status_code == 200 and 'id="timeline"' in r.text and "__TOKEN_QS__" not in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


def test_host_header_guard(client):
    r = client.get("/api/info", headers={"host": "evil.example:8765"})
    assert r.status_code == 400


def test_token_required_everywhere(dat_file):
    from starlette.testclient import TestClient

    from spikevision.view import LoadOptions, ViewSettings, create_app, open_catalog

    tok = "s3cret-token-0123456789"
    app = create_app(open_catalog(dat_file, LoadOptions(height=24, width=32)),
                     ViewSettings(token=tok, allowed_hosts=None))
    with TestClient(app) as c:
        for u in ("/", "/static/app.js", "/api/info", "/api/frame?t=1", "/api/nothing"):
            r = c.get(u)
            assert r.status_code == 401 and "token" in r.json()["error"]
        assert c.get("/api/info?token=wrong-token-xxxxxxxxx").status_code == 401
        assert c.get(f"/api/info?token={tok}").status_code == 200
        assert c.get("/api/frame?t=1", headers={"x-spikevision-token": tok}).status_code == 200
        page = c.get(f"/?token={tok}").text
        assert f"/static/app.js?token={tok}" in page


# ------------------------------------------------------------------ exports
def post(c, body, **kw):
    return c.post("/api/export", content=json.dumps(body), headers={"content-type": "application/json", **kw})


def test_exports_write_into_the_folder_only(client, export_dir, spikes):
    from PIL import Image

    r = post(client, {"kind": "png", "t": 40, "method": "raw", "crop": [2, 3, 12, 23]})
    assert r.status_code == 200, r.text
    p = export_dir / r.json()["name"]
    assert p.name == "clip_raw_f40.png" and p.stat().st_size == r.json()["bytes"]
    np.testing.assert_array_equal(np.asarray(Image.open(p)), spikes[40, 2:12, 3:23] * 255)
    assert post(client, {"kind": "png", "t": 40, "method": "raw"}).json()["name"] == "clip_raw_f40-2.png"
    r = post(client, {"kind": "dat", "start": 10, "stop": 30})
    cut = read_dat(export_dir / r.json()["name"], height=24, width=32)
    np.testing.assert_array_equal(cut.to_numpy(), spikes[10:30])
    pytest.importorskip("imageio")
    for kind in ("gif", "mp4"):
        r = post(client, {"kind": kind, "start": 20, "stop": 40, "method": "tfp", "window": 21, "fps": 10})
        assert r.status_code == 200, r.text
        assert (export_dir / r.json()["name"]).stat().st_size > 0
    r = post(client, {"kind": "png", "t": 40, "panel": "ratemap", "window": 100})
    assert r.status_code == 200 and "ratemap" in r.json()["name"]
    assert not [f for f in export_dir.iterdir() if f.name.startswith(".")]   # no temporary files left


@pytest.mark.parametrize("body, status, text", [
    ({"kind": "exe"}, 400, "export kind"),
    ({"kind": "png"}, 400, "needs the frame"),
    ({"kind": "png", "t": 500}, 400, "must be in"),
    ({"kind": "png", "t": 4, "method": "tfp"}, 400, "needs frames"),
    ({"kind": "png", "t": 40, "crop": [30, 0, 40, 10]}, 400, "holds no pixel"),
    ({"kind": "png", "t": 40, "crop": "all"}, 400, "crop"),
    ({"kind": "png", "t": 40, "name": "/tmp/x.png"}, 400, "unknown export field"),
    ({"kind": "dat", "start": 30, "stop": 10}, 400, "must be in"),
    ({"kind": "gif", "start": 0, "stop": 100, "method": "nope"}, 400, "unknown method"),
    ({"kind": "gif", "start": 0, "stop": 10, "fps": 0}, 400, "fps"),
    ({"kind": "png", "t": 40, "file": 3}, 404, "no file"),
])
def test_bad_exports(client, export_dir, body, status, text):
    r = post(client, body)
    assert r.status_code == status, r.text
    assert text in r.json()["error"]
    assert not export_dir.exists() or not list(export_dir.iterdir())


def test_export_request_form(client):
    assert client.post("/api/export", content=b"{}", headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/api/export", content=b"{oops", headers={"content-type": "application/json"}).status_code == 400
    assert client.post("/api/export", content=b"[1]", headers={"content-type": "application/json"}).status_code == 400
    r = post(client, {"kind": "png", "t": 40}, origin="http://evil.example")
    assert r.status_code == 403
    big = json.dumps({"kind": "png", "t": 1, "pad": "x" * 20000}).encode()
    assert client.post("/api/export", content=big, headers={"content-type": "application/json"}).status_code == 413


def test_exports_off_without_a_folder(dat_file):
    with client_for(dat_file, height=24, width=32) as c:
        r = post(c, {"kind": "png", "t": 40})
        assert r.status_code == 403 and "--export-dir" in r.json()["error"]
        assert c.get("/api/files").json()["exports"] is False


def test_folder_catalog_over_the_api(tmp_path, spikes):
    folder = tmp_path / "many"
    folder.mkdir()
    from spikevision.io import save

    save(folder / "a.npy", spikes)
    save(folder / "b.npy", spikes[:50])
    (folder / "c.npz").write_bytes(b"not a zip")
    with client_for(folder) as c:
        files = c.get("/api/files").json()["files"]
        assert [f["name"] for f in files] == ["a.npy", "b.npy", "c.npz"] and "error" in files[2]
        assert str(folder) not in json.dumps(files)
        assert c.get("/api/info?file=1").json()["frames"] == 50
        r = c.get("/api/info?file=2")
        assert r.status_code == 409 and str(folder) not in r.text


def test_learned_method_unavailable_is_not_a_500(client, monkeypatch):
    from spikevision.recon import register_method, unregister_method

    register_method("broken_for_test", "spikevision_missing_module:run", kind="window", window=5)
    try:
        r = client.get("/api/frame?t=50&method=broken_for_test")
        assert r.status_code == 501 and "not available" in r.json()["error"]
    finally:
        unregister_method("broken_for_test")


def test_slow_method_does_not_block_the_event_loop(client):
    """A learned (window-kind) method runs in a worker thread: other requests are answered meanwhile."""
    import threading
    import time

    from spikevision.recon import register_method, unregister_method

    gate = threading.Event()

    def slow(frames):
        gate.wait(5)
        return frames.mean(0)

    register_method("slow_for_test", slow, kind="window", window=5)
    try:
        out = {}
        th = threading.Thread(target=lambda: out.setdefault("r", client.get("/api/frame?t=50&method=slow_for_test")))
        th.start()
        time.sleep(0.2)
        t0 = time.perf_counter()
        assert client.get("/api/frame?t=10&method=raw").status_code == 200
        assert time.perf_counter() - t0 < 3
        gate.set()
        th.join(10)
        assert out["r"].status_code == 200
    finally:
        gate.set()
        unregister_method("slow_for_test")


def test_synthetic_sources_share_the_protocol(spikes):
    """A source that is not a file (as a live buffer would be) serves through the same app."""
    from starlette.testclient import TestClient

    from spikevision.view import Catalog, SourceInfo, ViewSettings, create_app

    class Buffer:
        def __init__(self, frames):
            self.frames = frames

        def info(self):
            return SourceInfo("live", len(self.frames), 24, 32, 40000.0)

        def snapshot(self):
            return SpikeStream(self.frames, rate_hz=40000.0)

        def counts(self, start, stop):
            return self.frames[start:stop].reshape(stop - start, -1).sum(1)

    buf = Buffer(spikes[:60])
    with TestClient(create_app(Catalog([("live", buf)]), ViewSettings()), base_url="http://127.0.0.1") as c:
        assert c.get("/api/info").json()["rate_hz"] == 40000.0
        np.testing.assert_array_equal(png(c.get("/api/frame?t=59")), spikes[59] * 255)
        buf.frames = spikes                        # the buffer grew
        assert c.get("/api/info").json()["frames"] == 120
        assert len(c.get("/api/rate").json()["counts"]) == 120


def test_public_api_declared():
    import spikevision.view as view

    assert view.__all__ and all(hasattr(view, n) for n in view.__all__)
    for mod in ("source", "render", "exports", "app", "server"):
        m = __import__(f"spikevision.view.{mod}", fromlist=["__all__"])
        assert all(hasattr(m, n) for n in m.__all__), mod
