"""Every page of the web UI passes axe-core's checks (no violation of impact "serious" or "critical"), in Debian's
headless chromium against one `mosaic run`, each page with what it shows once used: search results, a chart per
dashboard, a duplicate group, an upload's results, a photo with its map.

axe-core is the frontend's npm devDependency (frontend/node_modules/axe-core/axe.min.js, installed by
`make frontend`'s `npm ci`); Playwright injects it into each page. A failure lists every violation with its rule
id, impact, what it asks for and the CSS targets of the offending nodes.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.platform import running_platform, upload_indexed

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
SLOW = 60_000  # ms: the first recommendation loads the word vectors; the pipeline runs on two cores


@pytest.fixture(scope="module")
def platform(tmp_path_factory, photos_dir):
    """(base URL, {file name: image id}): dog, eagle, kite, dog at half size (a near-duplicate group) and an
    iPhone photo with a GPS position, all indexed."""
    files = [(name, (photos_dir / "darknet" / name).read_bytes()) for name in ("dog.jpg", "eagle.jpg", "kite.jpg")]
    with Image.open(photos_dir / "darknet" / "dog.jpg") as dog:
        half = io.BytesIO()
        dog.resize((dog.width // 2, dog.height // 2), Image.Resampling.LANCZOS).save(half, "JPEG", quality=90)
    files.append(("dog-half.jpg", half.getvalue()))
    files.append(("IMG_0001.JPG", (photos_dir / "exif" / "IMG_0001.JPG").read_bytes()))
    with running_platform(tmp_path_factory.mktemp("accessibility") / "data") as base:
        yield base, upload_indexed(base, files)


def _violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now."""
    if not AXE.is_file():
        pytest.fail(f"no {AXE}: run `make frontend` (npm ci installs axe-core)", pytrace=False)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate("() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")


def _assert_accessible(page, name: str) -> None:
    found = _violations(page)
    blocking = [v for v in found if v["impact"] in BLOCKING]
    minor = [f"{v['id']} ({v['impact']})" for v in found if v["impact"] not in BLOCKING]
    if minor:
        print(f"{name}: axe's minor findings: {', '.join(minor)}")
    report = []
    for violation in blocking:
        report.append(f"{violation['id']} [{violation['impact']}]: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            target = " ".join(json.dumps(part) if not isinstance(part, str) else part for part in node["target"])
            report.append(f"    {target}\n      {node['html'][:200]}")
            if node.get("failureSummary"):
                report.append("      " + node["failureSummary"].replace("\n", "\n      "))
    if report:
        print("\n".join(report))
    assert not blocking, f"{name}: {len(blocking)} serious or critical accessibility violations:\n" + "\n".join(report)


def test_discover(page, platform):
    from playwright.sync_api import expect

    base, ids = platform
    page.goto(f"{base}/discover")
    expect(page.locator("#make-choices option")).not_to_have_count(0)
    # The header's token form, open: it is on every page.
    page.get_by_text("API token", exact=True).click()
    expect(page.get_by_label("Token for uploads and changes")).to_be_visible()
    page.get_by_label("Tags (up to 5)").fill("do")
    expect(page.get_by_role("list", name="Tag suggestions").get_by_role("button").first).to_be_visible()
    page.get_by_role("button", name="Find photos").click()
    cards = page.get_by_role("list", name="Recommended photos").locator("li.result")
    expect(cards.first).to_be_visible(timeout=SLOW)
    expect(page).to_have_title("Discover · Mosaic")
    _assert_accessible(page, "/discover")


def test_upload(page, platform, photos_dir):
    from playwright.sync_api import expect

    base, _ = platform
    page.goto(f"{base}/upload")
    expect(page.get_by_role("heading", name="Upload", exact=True)).to_be_visible()
    _assert_accessible(page, "/upload (empty)")
    # A photo the catalog already has: the results table, and nothing new in the catalog.
    page.get_by_label("Choose photos…").set_input_files(photos_dir / "darknet" / "dog.jpg")
    expect(page.get_by_role("heading", name="1 file chosen")).to_be_visible()
    _assert_accessible(page, "/upload (chosen)")
    page.get_by_role("button", name="Upload 1 file").click()
    results = page.get_by_role("region", name="Upload results")
    expect(results.locator("tr[data-status=duplicate]")).to_have_count(1)
    expect(results.get_by_role("status")).not_to_have_text("Uploading…")
    expect(page).to_have_title("Upload · Mosaic")
    _assert_accessible(page, "/upload (results)")


def test_import(page, platform):
    from playwright.sync_api import expect

    base, _ = platform
    page.goto(f"{base}/import")
    expect(page.get_by_role("region", name="Recent imports")).to_contain_text("No import yet.")
    expect(page.get_by_text(re.compile(r"^Latest dataset import: .+, "))).to_be_visible()
    expect(page).to_have_title("Import · Mosaic")
    _assert_accessible(page, "/import")


def test_colours(page, platform):
    from playwright.sync_api import expect

    base, _ = platform
    page.goto(f"{base}/colours")
    named = page.get_by_role("list", name="Named colours").get_by_role("button")
    expect(named.first).to_be_visible()
    named.first.click()
    expect(page.get_by_role("list", name="Colour matches")).to_be_attached()
    expect(page.get_by_role("status")).to_contain_text(" with ")
    expect(page).to_have_title("Colours · Mosaic")
    _assert_accessible(page, "/colours")


def test_duplicates(page, platform):
    from playwright.sync_api import expect

    base, _ = platform
    page.goto(f"{base}/duplicates")
    expect(page.locator("li.group")).to_have_count(1)
    expect(page).to_have_title("Duplicates · Mosaic")
    _assert_accessible(page, "/duplicates")


def test_dashboards(page, platform):
    from playwright.sync_api import expect

    base, _ = platform
    graphs = requests.get(f"{base}/visualize/graphs", timeout=10).json()
    page.goto(f"{base}/dashboards")
    expect(page.locator("section.chart")).to_have_count(len(graphs))
    for chart in page.locator("section.chart").all():
        expect(chart).to_have_attribute("data-chart-state", re.compile("drawn|empty"), timeout=SLOW)
    expect(page).to_have_title("Dashboards · Mosaic")
    _assert_accessible(page, "/dashboards")


def test_status(page, platform):
    from playwright.sync_api import expect

    base, _ = platform
    page.goto(f"{base}/status")
    for service in ("gather", "harvest", "recommend", "visualize", "cdn"):
        expect(page.locator(f"tr[data-service={service}] td").nth(1)).not_to_have_text("checking…")
    expect(page.get_by_role("region", name="Queues")).to_be_visible()
    expect(page.get_by_role("link", name="API documentation")).to_be_visible()
    expect(page).to_have_title("Status · Mosaic")
    _assert_accessible(page, "/status")


@pytest.mark.parametrize("name", ["dog.jpg", "IMG_0001.JPG"])
def test_photo(page, platform, name):
    from playwright.sync_api import expect

    base, ids = platform
    page.goto(f"{base}/photo?id={ids[name]}")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_role("region", name="Similar photos").locator("li.result").first).to_be_visible()
    expect(page.get_by_role("region", name="Near-duplicates")).not_to_have_text("Near-duplicates")
    if name == "IMG_0001.JPG":
        expect(page.locator("figure.world")).to_have_attribute("data-map-state", "drawn", timeout=SLOW)
    page.wait_for_function("(() => { const i = document.querySelector('.framed img'); "
                           "return i && i.complete && i.naturalWidth > 0; })()")
    expect(page).to_have_title("Photo · Mosaic")
    _assert_accessible(page, f"/photo ({name})")


def test_library(page, platform):
    from playwright.sync_api import expect

    base, ids = platform
    page.goto(f"{base}/")
    expect(page.locator("li.tile")).to_have_count(len(ids))
    expect(page.get_by_role("navigation", name="Timeline").get_by_role("button").first).to_be_visible()
    page.get_by_text("Filters", exact=True).click()
    expect(page.locator("#f-tag option")).not_to_have_count(1)
    # A selection: the toolbar's album picker shows.
    page.locator(f"li.tile[data-image-id='{ids['dog.jpg']}'] input.pick").check()
    expect(page.get_by_role("button", name="Add to album")).to_be_visible()
    expect(page).to_have_title("Library · Mosaic")
    _assert_accessible(page, "/")


def test_search(page, platform):
    from playwright.sync_api import expect

    base, _ = platform
    page.goto(f"{base}/search?q=dog")
    expect(page.locator("li.tile").first).to_be_visible(timeout=SLOW)
    expect(page).to_have_title("Search · Mosaic")
    _assert_accessible(page, "/search")


def test_albums_and_an_album(page, platform):
    from playwright.sync_api import expect

    base, ids = platform
    album = requests.post(f"{base}/recommend/albums", json={"name": "Birds"}, timeout=10).json()
    requests.post(f"{base}/recommend/albums/{album['id']}/photos", json={"ids": [ids["eagle.jpg"], ids["kite.jpg"]]},
                  timeout=10).raise_for_status()
    page.goto(f"{base}/albums")
    expect(page.locator("li.album")).to_have_count(1)
    expect(page).to_have_title("Albums · Mosaic")
    _assert_accessible(page, "/albums")
    page.goto(f"{base}/album?id={album['id']}")
    expect(page.locator("li.tile")).to_have_count(2)
    expect(page).to_have_title("Album · Mosaic")
    _assert_accessible(page, "/album")


def test_trash(page, platform):
    from playwright.sync_api import expect

    base, ids = platform
    requests.delete(f"{base}/gather/images/{ids['kite.jpg']}", timeout=10).raise_for_status()
    page.goto(f"{base}/trash")
    expect(page.locator("li.tile")).to_have_count(1)
    expect(page).to_have_title("Trash · Mosaic")
    _assert_accessible(page, "/trash")
    page.get_by_role("button", name="Empty trash").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    _assert_accessible(page, "/trash (confirm)")
    page.get_by_role("button", name="Cancel").click()
