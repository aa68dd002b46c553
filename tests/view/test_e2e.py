"""End to end: the page in headless Chromium (Playwright driving Debian's ``chromium``).

Skips with the reason when Playwright or a system Chromium is missing (the
project never downloads a browser: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time

import numpy as np
import pytest

pytest.importorskip("uvicorn", reason="the viewer needs the 'view' extra (uvicorn)")
sync_api = pytest.importorskip("playwright.sync_api", reason="end-to-end tests need Playwright: pip install playwright")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (apt-get install -y chromium)"),
              pytest.mark.slow]

ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def serve_app(app):
    """Serve ``app`` on a free loopback port in a thread; yields the page's URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    th = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        srv.should_exit = True
        th.join(10)
        sock.close()


@pytest.fixture
def server(bundled, export_dir):
    from spikevision.view import LoadOptions, ViewSettings, create_app, open_catalog

    app = create_app(open_catalog(bundled, LoadOptions(sensor="vidar")), ViewSettings(export_dir=export_dir))
    yield from serve_app(app)


@pytest.fixture
def page():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1500, "height": 1000})
        pg.set_default_timeout(60_000)  # generous: shared, loaded CI machines
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        pg.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        pg.errors = errors
        yield pg
        browser.close()


def all_loaded(page, n=5):
    page.wait_for_function(
        f"""() => {{
            const imgs = [...document.querySelectorAll('.panel img')];
            return imgs.length >= {n} && imgs.every(i => i.complete && i.naturalWidth > 0)
                && !document.querySelector('.panel.busy');
        }}""")


def loaded_stamp(page, idx):
    return page.eval_on_selector_all(".panel", f"els => els[{idx}].dataset.loaded || ''")


def wait_reloaded(page, idx, before):
    page.wait_for_function(f"() => (document.querySelectorAll('.panel')[{idx}].dataset.loaded || '') !== '{before}'"
                           f" && !document.querySelectorAll('.panel')[{idx}].classList.contains('busy')")


def image_of(png_bytes):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGB"))


def test_page_opens_scrubs_switches_plays_exports(server, page, export_dir):
    page.goto(server)
    all_loaded(page)
    # a timeline slider over the whole recording and five panels with 400 x 250 images
    assert page.get_attribute("#timeline", "max") == "100"
    kinds = page.eval_on_selector_all(".panel", "els => els.map(e => e.dataset.kind)")
    assert kinds == ["frame", "frame", "frame", "flow", "ratemap"]
    sizes = page.eval_on_selector_all(".panel img", "els => els.map(i => [i.naturalWidth, i.naturalHeight])")
    assert sizes == [[400, 250]] * 5
    assert "frame 20 / 100" in page.inner_text("#readout")
    page.wait_for_function("() => document.querySelector('#readout').textContent.includes('spikes')")  # rate loaded

    # screenshots: right size, not blank
    shot = image_of(page.screenshot())
    assert shot.shape == (1000, 1500, 3) and shot.std() > 10
    recon = page.query_selector_all(".panel .viewport")[2]
    box = recon.bounding_box()
    rs = image_of(recon.screenshot())
    assert abs(rs.shape[1] - box["width"]) <= 1 and abs(rs.shape[0] - box["height"]) <= 1
    assert rs.std() > 10 and len(np.unique(rs.reshape(-1, 3), axis=0)) > 16

    # scrub with keys and with the slider
    before = loaded_stamp(page, 2)
    page.keyboard.press("ArrowRight")
    assert "frame 21 / 100" in page.inner_text("#readout")
    page.keyboard.press("Shift+ArrowRight")
    assert "frame 31 / 100" in page.inner_text("#readout")
    page.keyboard.press("ArrowLeft")
    assert "frame 30 / 100" in page.inner_text("#readout")
    wait_reloaded(page, 2, before)
    page.eval_on_selector("#timeline", "el => { el.value = '55'; el.dispatchEvent(new Event('input')); }")
    assert "frame 55 / 100" in page.inner_text("#readout")
    all_loaded(page)
    assert "frame=" not in page.inner_text("body")

    # switch the reconstruction method; add a panel
    before = loaded_stamp(page, 2)
    page.select_option(".panel:nth-child(3) select.method", "tfi")
    wait_reloaded(page, 2, before)
    assert "method=tfi" in page.eval_on_selector_all(".panel", "els => els[2].querySelector('img').alt + ' ' + "
                                                     "performance.getEntriesByType('resource').map(e => e.name).join(' ')")
    page.click("#add-panel")
    all_loaded(page, 6)
    assert page.eval_on_selector_all(".panel", "els => els.length") == 6

    # zoom is shared by every panel
    vp = page.query_selector_all(".panel .viewport")[0].bounding_box()
    page.mouse.move(vp["x"] + vp["width"] / 2, vp["y"] + vp["height"] / 2)
    page.mouse.wheel(0, -300)
    transforms = page.eval_on_selector_all(".panel img", "els => els.map(i => i.style.transform)")
    assert len(set(transforms)) == 1 and "scale(1)" not in transforms[0]
    page.click("#reset-zoom")

    # pixel inspector
    page.mouse.click(vp["x"] + 40, vp["y"] + 30)
    page.wait_for_function("() => document.querySelector('#pixel-info').textContent.includes('spikes in frames')")

    # play, then pause: time moves on
    page.keyboard.press("Space")
    page.wait_for_function("() => !document.querySelector('#readout').textContent.includes('frame 55 /')")
    page.keyboard.press("Space")
    assert page.inner_text("#play") == "Play"

    # export the view as PNG and a range as GIF, into the export folder
    page.eval_on_selector("#timeline", "el => { el.value = '50'; el.dispatchEvent(new Event('input')); }")
    all_loaded(page, 6)
    page.click(".panel:nth-child(3) .export-png")
    page.wait_for_function("() => document.querySelector('#ex-status').textContent.startsWith('wrote')")
    assert (export_dir / "reds_203_part2_f100-200_tfi_f50.png").is_file()
    page.fill("#ex-start", "30")
    page.fill("#ex-stop", "40")
    page.select_option("#ex-kind", "gif")
    page.select_option("#ex-method", "tfp")
    page.click("#ex-go")
    page.wait_for_function("() => document.querySelector('#ex-status').textContent.includes('.gif')")
    assert (export_dir / "reds_203_part2_f100-200_tfp_f30-40.gif").stat().st_size > 0

    assert page.errors == [], page.errors


def test_page_shows_errors_in_the_panel_not_as_exceptions(server, page):
    page.goto(server)
    all_loaded(page)
    page.eval_on_selector("#timeline", "el => { el.value = '3'; el.dispatchEvent(new Event('input')); }")
    page.wait_for_function("() => document.querySelectorAll('.panel.failed').length >= 2")
    msg = page.eval_on_selector_all(".panel.failed .msg", "els => els.map(e => e.textContent)")
    assert any("needs frames [-17, 24)" in m for m in msg)
    assert page.errors == []


@pytest.fixture
def socket_server():
    """A viewer listening for a sender on a free loopback port: yields (page URL, feed address)."""
    from spikevision.view import ViewSettings, create_app, open_live

    cat = open_live("tcp://127.0.0.1:0")
    src = cat.get(0)
    for url in serve_app(create_app(cat, ViewSettings())):
        yield url, src.address
    cat.close()


def test_live_page_waits_for_a_sender(socket_server, page, bundled):
    from spikevision.io import load
    from spikevision.live import FileFeed, send

    url, address = socket_server
    page.goto(url)
    page.wait_for_function("() => document.querySelector('#live-status').textContent.includes('waiting for a sender')")
    assert page.eval_on_selector_all(".panel", "els => els.length") == 0
    feed = FileFeed(load(bundled, sensor="vidar"), loop=True, frames=2000)
    sender = threading.Thread(target=send, args=(feed, address), kwargs={"speed": 0.05}, daemon=True)
    sender.start()
    all_loaded(page)                                   # the page builds its panels once frames arrive
    page.wait_for_function("() => document.querySelector('#live-status').textContent.includes('ended')")
    sender.join(30)
    assert "frame " in page.inner_text("#readout")
    others = [e for e in page.errors if "status of 410" not in e]
    assert others == [], others


@pytest.fixture
def live_server(bundled):
    """A live feed: the bundled sample replayed in a loop at 2 % of camera rate (400 frames/s), 400 frames held."""
    from spikevision.io import load
    from spikevision.live import FileFeed
    from spikevision.view import Catalog, LiveSource, ViewSettings, create_app

    src = LiveSource(FileFeed(load(bundled, sensor="vidar"), loop=True), name="camera", speed=0.02, keep=400)
    src.start()
    yield from serve_app(create_app(Catalog([("camera", src)]), ViewSettings()))
    src.close()


def shown_frame(page) -> int:
    return int(page.inner_text("#readout").split()[1])


def test_live_page_follows_holds_and_scrubs(live_server, page):
    bad = []
    page.on("response", lambda r: bad.append((r.url.split("?")[0], r.status)) if r.status >= 400 else None)
    page.goto(live_server)
    page.wait_for_selector("#live-bar:not([hidden])")
    assert page.inner_text("#follow") == "Following live"
    all_loaded(page)
    page.wait_for_function("() => document.querySelector('#live-status').textContent.includes('frames received')")
    # following: the shown frame moves on with the feed, the rate plot follows the held frames
    f0 = shown_frame(page)
    page.wait_for_function(f"() => Number(document.querySelector('#readout').textContent.split(' ')[1]) > {f0 + 50}")
    assert "held" in page.inner_text("#readout")
    all_loaded(page)
    sizes = page.eval_on_selector_all(".panel img", "els => els.map(i => [i.naturalWidth, i.naturalHeight])")
    assert sizes == [[400, 250]] * 5
    shot = image_of(page.query_selector_all(".panel .viewport")[2].screenshot())
    assert shot.std() > 10

    # pause: the buffer is held, the slider scrubs it
    page.click("#follow")
    assert page.inner_text("#follow") == "Follow live"
    page.wait_for_function("() => /held \\(\\d+ frames not kept\\)/.test(document.querySelector('#live-status').textContent)"
                           " && !/\\(0 frames not kept\\)/.test(document.querySelector('#live-status').textContent)")
    lo, hi = int(page.get_attribute("#timeline", "min")), int(page.get_attribute("#timeline", "max"))
    assert hi - lo == 399
    target = lo + 150
    page.eval_on_selector("#timeline", f"el => {{ el.value = '{target}'; el.dispatchEvent(new Event('input')); }}")
    assert shown_frame(page) == target
    all_loaded(page)
    page.keyboard.press("ArrowRight")
    assert shown_frame(page) == target + 1
    all_loaded(page)
    assert (int(page.get_attribute("#timeline", "min")), int(page.get_attribute("#timeline", "max"))) == (lo, hi)

    # Space follows the feed again
    page.keyboard.press("Space")
    assert page.inner_text("#follow") == "Following live"
    page.wait_for_function(f"() => Number(document.querySelector('#readout').textContent.split(' ')[1]) > {hi}")
    # frames that left the buffer while a request was on its way are answered 410 (the panel asks again)
    others = [e for e in page.errors if "status of 410" not in e]
    assert others == [] and all(st == 410 for _, st in bad), (others, sorted(set(bad)))
