"""The dashboards over real HTTP on 127.0.0.1: the map draws with nothing fetched from elsewhere, charts come as PNG.

The visualize service runs as in production (gateway.wsgi.service_app, under /visualize) in a local HTTP server,
on the embedded catalog holding GENERATED rows (tests.unit.test_visualize.populate). The browser is Debian's
chromium: driven by Playwright for the HTML page, by kaleido for the PNGs.
"""

from __future__ import annotations

import io
import struct
import threading
import time
from pathlib import Path

import pytest
import requests
from PIL import Image
from werkzeug.serving import make_server

from gateway.wsgi import service_app
from mosaic.catalog import open_catalog, upgrade
from mosaic.settings import load_settings
from tests.unit.visualize.test_views import populate

CHROMIUM = Path("/usr/bin/chromium")
# Without these chromium dials Google's hosts in the background on its own (not the page's requests).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_TIMEOUT = 120  # the first PNG starts chromium: seconds on a busy 2-core machine


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The base URL of the visualize service, with a few photos in its catalog."""
    if not CHROMIUM.is_file():
        pytest.fail(f"no {CHROMIUM}: run scripts/install-system-deps.sh (make test does)", pytrace=False)
    settings = load_settings(data_dir=tmp_path_factory.mktemp("visualize") / "data")
    engine = open_catalog(settings.catalog_url)
    upgrade(engine)
    populate(engine)
    engine.dispose()
    server = make_server("127.0.0.1", 0, service_app("visualize", settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def test_the_map_page_draws_its_outlines_from_this_service_only(base):
    from playwright.sync_api import sync_playwright

    elsewhere, fetched = [], []

    def only_this_service(route):
        url = route.request.url
        if url.startswith(base + "/"):
            fetched.append(url[len(base):])
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("**/*", only_this_service)
            page.goto(f"{base}/visualize/graph/map?format=html")
            # The countries layer gets its path once plotly.js has the outlines.
            page.wait_for_selector(".geo g.layer.countries path", state="attached", timeout=30_000)
            drawn = page.eval_on_selector(".geo g.layer.countries path", "path => path.getAttribute('d').length")
        finally:
            browser.close()
    assert not elsewhere and not errors, (elsewhere, errors)
    assert "/visualize/topojson/world_110m.json" in fetched
    assert drawn > 10_000  # every country's border, not an empty path


def test_the_figure_json_names_an_outline_file_this_service_has(base):
    body = requests.get(f"{base}/visualize/graph/map", timeout=30).json()
    assert body["config"]["topojsonURL"] == "/visualize/topojson/"  # what the web UI passes too
    geo = body["layout"]["geo"]
    outline = requests.get(f"{base}{body['config']['topojsonURL']}{geo['scope']}_{geo['resolution']}m.json",
                           timeout=30)
    assert outline.status_code == 200 and outline.headers["Content-Type"] == "application/json"
    assert outline.json()["type"] == "Topology"
    assert "max-age=86400" in outline.headers["Cache-Control"]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_charts_as_png_drawn_by_chromium(base):
    began = time.perf_counter()
    first = requests.get(f"{base}/visualize/graph/brand?format=png", timeout=PNG_TIMEOUT)
    first_seconds = time.perf_counter() - began
    assert first.status_code == 200, first.text
    assert first.headers["Content-Type"] == "image/png" and _png_size(first.content) == (1000, 600)
    assert len(first.content) > 5_000  # bars, axes and labels, not a blank image

    # The original platform's <img> clients: an Accept header preferring images, no query parameter.
    began = time.perf_counter()
    world = requests.get(f"{base}/visualize/graph/map", headers={"Accept": "image/webp,image/*,*/*;q=0.8"},
                         timeout=PNG_TIMEOUT)
    again_seconds = time.perf_counter() - began
    assert world.status_code == 200 and _png_size(world.content) == (1000, 600)
    # The outlines came from visualize/topojson/ (file:// in kaleido's page): land is filled, so much of
    # the picture is not white, where a map without them is a white frame with three dots.
    levels = Image.open(io.BytesIO(world.content)).convert("L").histogram()
    assert sum(levels[:250]) / sum(levels) > 0.2
    print(f"\nPNG: first {first_seconds:.2f} s (starts chromium), next {again_seconds:.2f} s")
