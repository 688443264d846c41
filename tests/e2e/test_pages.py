"""Every page of the web UI as a user task, in Debian's headless chromium, against one `mosaic run` per module.

The platform has an API token (so the pages' token field is exercised) and allows URL imports from 127.0.0.1.
Its catalog: dog, eagle and kite from darknet, dog resized to 50 % (a near-duplicate of dog) and an iPhone photo
with a GPS position (exif/IMG_0001.JPG, Beijing). Tests run in file order and the last two add photos (an
upload of a folder, a URL import).
"""

from __future__ import annotations

import io
import json
import re

import pytest
import requests
from PIL import Image

from tests.platform import running_platform, upload_indexed
from tests.servers.flaky_http import FlakyServer

TOKEN = "e2e-pages-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PHOTOS = ("dog.jpg", "eagle.jpg", "kite.jpg")
SLOW = 60_000  # ms: the pipeline on two cores


@pytest.fixture(scope="module")
def platform(tmp_path_factory, photos_dir):
    """(base URL, {file name: image id}) with every photo indexed."""
    env = {"MOSAIC_API_TOKEN": TOKEN, "MOSAIC_URL_ALLOWLIST": '["127.0.0.1"]'}
    files = [(name, (photos_dir / "darknet" / name).read_bytes()) for name in PHOTOS]
    with Image.open(photos_dir / "darknet" / "dog.jpg") as dog:
        half = io.BytesIO()
        dog.resize((dog.width // 2, dog.height // 2), Image.Resampling.LANCZOS).save(half, "JPEG", quality=90)
    files.append(("dog-half.jpg", half.getvalue()))
    files.append(("IMG_0001.JPG", (photos_dir / "exif" / "IMG_0001.JPG").read_bytes()))
    with running_platform(tmp_path_factory.mktemp("pages") / "data", env) as base:
        yield base, upload_indexed(base, files, AUTH)


def _sign_in(page) -> None:
    page.add_init_script(f"window.localStorage.setItem('mosaic.api-token', {json.dumps(TOKEN)})")


def test_photo_page_shows_everything_known_about_a_photo(page, shot, platform):
    from playwright.sync_api import expect

    base, ids = platform
    details = requests.get(f"{base}/harvest/images/{ids['dog.jpg']}", timeout=10).json()
    page.goto(f"{base}/photo?id={ids['dog.jpg']}")
    expect(page.get_by_role("heading", name="dog.jpg")).to_be_visible()
    exif = page.get_by_role("table", name="EXIF")
    for field in ("make", "model", "iso"):
        expect(exif.get_by_role("row", name=f"{field} {details['exif'][field]}", exact=True)).to_be_visible()
    palette = page.get_by_role("list", name="Palette").locator("li")
    expect(palette).to_have_count(len(details["colours"]))
    top = details["colours"][0]
    expect(palette.first).to_contain_text(f"{top['hex']} · {round(top['share'] * 100)}%")
    expect(palette.first).to_contain_text(top["name"])
    tags = page.get_by_role("table", name="Tags")
    for tag in details["tags"]:
        expect(tags).to_contain_text(tag["label"])
    assert any(o["label"] == "dog" for o in details["objects"]), details["objects"]
    boxes = page.locator(".framed .box")
    expect(boxes).to_have_count(len(details["objects"]))
    expect(page.locator(".framed .box[data-label=dog]").first).to_be_visible()
    page.get_by_label("Show object boxes").uncheck()
    expect(boxes).to_have_count(0)
    page.get_by_label("Show object boxes").check()
    expect(page.get_by_role("list", name="Renditions")).to_contain_text("preview")
    expect(page.get_by_text("No GPS position in this photo.")).to_be_visible()
    # Its near-duplicate (the half-size copy) and similar photos (never the copy: it is a duplicate).
    duplicates = page.get_by_role("region", name="Near-duplicates")
    expect(duplicates.locator(f"li[data-image-id='{ids['dog-half.jpg']}']")).to_be_visible()
    expect(duplicates.locator(f"li[data-image-id='{ids['dog.jpg']}'][data-best]")).to_contain_text("Best")
    similar = page.get_by_role("list", name="Similar photos").locator("li.result")
    expect(similar.first).to_be_visible()
    shown = set(similar.evaluate_all("cards => cards.map(c => c.dataset.imageId)"))
    assert shown and not shown & {ids["dog.jpg"], ids["dog-half.jpg"]}, shown
    # Thumbnails load lazily, as a reader scrolls to them.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("[...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)")
    shot(page, "photo")
    # A similar photo's thumbnail opens its own page.
    first = similar.first.get_attribute("data-image-id")
    similar.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/photo\?id={first}$"))
    expect(page.get_by_role("heading", level=1)).not_to_have_text("dog.jpg")


def test_photo_page_pins_a_photo_with_a_gps_position_on_the_offline_map(page, shot, platform):
    from playwright.sync_api import expect

    base, ids = platform
    place = requests.get(f"{base}/harvest/images/{ids['IMG_0001.JPG']}", timeout=10).json()["place"]
    outside = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(base) else None)
    page.goto(f"{base}/photo?id={ids['IMG_0001.JPG']}")
    region = page.get_by_role("region", name="Place")
    expect(region).to_contain_text(f"{place['latitude']:.5f}, {place['longitude']:.5f}")
    expect(region).to_contain_text(place["country"])
    expect(region.locator("figure.world")).to_have_attribute("data-map-state", "drawn", timeout=SLOW)
    expect(region.get_by_role("img", name=re.compile(r"^Map pin at latitude 40\.0041"))).to_be_visible()
    expect(region.locator(".geo .countries path").first).to_be_attached()  # the outlines came from our route
    expect(region.locator(".scattergeo .point")).to_have_count(1)
    assert not outside, outside
    shot(page, "photo-map")


def test_colour_search_by_hex_and_by_named_swatch(page, shot, platform):
    from playwright.sync_api import expect

    base, ids = platform
    top = requests.get(f"{base}/harvest/images/{ids['eagle.jpg']}", timeout=10).json()["colours"][0]
    page.goto(f"{base}/colours")
    expect(page.get_by_role("heading", name="Colours", exact=True)).to_be_visible()
    page.get_by_label("Colour 1").fill(top["hex"])
    page.get_by_label("Minimum share of the photo (%)").fill("5")
    with page.expect_response(lambda r: "/recommend/colours?" in r.url) as answer:
        page.get_by_role("button", name="Search", exact=True).click()
    assert answer.value.status == 200 and f"hex={top['hex'].replace('#', '%23')}" in answer.value.url
    cards = page.get_by_role("list", name="Colour matches").locator("li.result")
    eagle = cards.and_(page.locator(f"[data-image-id='{ids['eagle.jpg']}']"))
    # The palette's hex is rounded from the colour the Lab values keep: a ΔE below 1, not 0.
    expect(eagle).to_contain_text(re.compile(rf"{top['hex']}: ΔE 0\.\d from {top['hex']}"))
    expect(eagle).to_contain_text(f"{round(top['share'] * 100)}% of the photo")
    shot(page, "colours-hex")

    # A named swatch: the eagle's main colour's name, with its count of photos.
    swatch = page.get_by_role("list", name="Named colours").get_by_role("button", name=re.compile(rf"^{top['name']} "))
    expect(swatch).to_have_accessible_name(re.compile(r"\(\d+ photos\)"))
    with page.expect_response(lambda r: "/recommend/colours?" in r.url) as answer:
        swatch.click()
    assert f"name={top['name']}" in answer.value.url
    expect(page).to_have_url(re.compile(rf"name={top['name']}"))
    expect(cards.and_(page.locator(f"[data-image-id='{ids['eagle.jpg']}']"))).to_contain_text(f"from {top['name']}")
    expect(page.get_by_role("status")).to_contain_text(f"with {top['name']}")
    shot(page, "colours-name")


def test_dashboards_draw_every_chart_or_say_no_data(page, shot, platform):
    from playwright.sync_api import expect

    base, _ = platform
    graphs = requests.get(f"{base}/visualize/graphs", timeout=10).json()
    page.goto(f"{base}/dashboards")
    expect(page.get_by_role("heading", name="Dashboards")).to_be_visible()
    charts = page.locator("section.chart")
    expect(charts).to_have_count(len(graphs))
    for graph in graphs:
        chart = page.get_by_role("region", name=graph["title"], exact=True)
        expect(chart).to_have_attribute("data-chart-state", re.compile("drawn|empty"), timeout=SLOW)
        if chart.get_attribute("data-chart-state") == "drawn":
            expect(chart.locator(".main-svg").first).to_be_visible()
        else:
            expect(chart.locator(".no-data")).to_have_text("no data yet")
    where = page.get_by_role("region", name="Where photos were taken")
    expect(where).to_have_attribute("data-chart-state", "drawn")
    expect(where.locator(".geo .countries path").first).to_be_attached()
    expect(where.locator(".scattergeo .point")).to_have_count(1)
    brand = page.get_by_role("region", name="Photos by camera make")
    expect(brand).to_have_attribute("data-chart-state", "drawn")
    expect(brand.locator(".main-svg").first).to_contain_text("Canon")
    shot(page, "dashboards")

    # Filters go to every chart; a tag nothing has empties them all.
    expect(page.locator("#make-choices option[value=Canon]")).to_have_count(1)
    page.get_by_label("Camera make", exact=True).fill("Canon")
    with page.expect_response(lambda r: "/visualize/graph/brand?make=Canon" in r.url) as answer:
        page.get_by_role("button", name="Apply filters").click()
    assert answer.value.status == 200
    expect(brand).to_have_attribute("data-chart-state", "drawn")
    page.get_by_label("Tag", exact=True).fill("no-such-tag")
    page.get_by_role("button", name="Apply filters").click()
    for graph in graphs:
        expect(page.get_by_role("region", name=graph["title"], exact=True).locator(".no-data")).to_have_text(
            "no data yet", timeout=SLOW)
    shot(page, "dashboards-filtered")


def test_duplicates_review_asks_for_the_token_then_resolves(page, shot, platform):
    from playwright.sync_api import expect

    base, ids = platform
    page.goto(f"{base}/duplicates")
    groups = page.locator("li.group")
    expect(groups).to_have_count(1)
    group = groups.first
    expect(group.locator("li[data-image-id]")).to_have_count(2)
    expect(group.locator(f"li[data-image-id='{ids['dog.jpg']}'][data-best]")).to_contain_text("Best")
    expect(group.locator(".why-best")).to_contain_text("largest")
    # Each member says what the rule compared, and can be the one kept instead of the best.
    expect(group.locator(f"li[data-image-id='{ids['dog.jpg']}'] .member-facts")).to_contain_text("768×576")
    expect(group.get_by_role("button", name="Keep this one — dog.jpg, mark resolved", exact=True)).to_be_visible()
    shot(page, "duplicates")

    resolve = group.get_by_role("button", name="Keep the best, mark resolved")
    resolve.click()
    expect(page.locator("p[role=alert]")).to_contain_text("enter the API token under “API token”")
    page.get_by_text("API token", exact=True).click()
    page.get_by_label("Token for uploads and changes").fill(TOKEN)
    page.get_by_role("button", name="Save token").click()
    with page.expect_response(lambda r: r.url.endswith("/resolve")) as answer:
        resolve.click()
    assert answer.value.status == 200, answer.value.text()
    expect(page.get_by_role("status")).to_contain_text("Group of 2 resolved")
    expect(page.get_by_text("No duplicates to review.")).to_be_visible()
    page.get_by_label("Show resolved groups too").check()
    expect(groups.first.locator(".why-best .badge.resolved")).to_be_visible()
    expect(groups.first.locator(f"li[data-image-id='{ids['dog.jpg']}']")).to_contain_text("Kept")
    assert requests.get(f"{base}/recommend/duplicates?resolved=true", timeout=10).json()["total"] == 1
    shot(page, "duplicates-resolved")


def test_discover_with_suggestions_more_like_this_and_a_saved_profile(page, shot, platform):
    from playwright.sync_api import expect

    base, ids = platform
    _sign_in(page)
    page.goto(f"{base}/discover")
    expect(page.locator("#make-choices option[value=Canon]")).to_have_count(1)
    expect(page.locator("#make-choices option[value=Pentax]")).to_have_count(1)
    page.get_by_label("Tags (up to 5)").fill("do")
    page.get_by_role("list", name="Tag suggestions").get_by_role("button", name="Add tag dog").click()
    expect(page.get_by_role("list", name="Chosen tags")).to_contain_text("dog")
    page.get_by_label("Camera make").fill("Canon")
    page.get_by_role("button", name="Find photos").click()
    cards = page.get_by_role("list", name="Recommended photos").locator("li.result")
    # The first recommendation loads the word vectors: slow once.
    expect(cards.first).to_have_attribute("data-image-id", ids["dog.jpg"], timeout=SLOW)
    page.get_by_label("Save this profile as").fill("dogs")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_contain_text("Profile saved as “dogs”")
    page.get_by_role("button", name=f"Like photo {ids['dog.jpg']}", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Results updated after your like.", timeout=SLOW)
    shot(page, "discover-suggested")

    # More like this: the dog's similar photos replace the results.
    with page.expect_response(lambda r: f"/recommend/similar/{ids['dog.jpg']}" in r.url) as answer:
        page.get_by_role("button", name=f"More like this — photo {ids['dog.jpg']}", exact=True).click()
    similar = {item["id"] for item in answer.value.json()["results"]}
    expect(page.get_by_role("heading", name=f"More like photo {ids['dog.jpg']}")).to_be_visible()
    expect(cards).to_have_count(len(similar))
    assert set(cards.evaluate_all("cards => cards.map(c => c.dataset.imageId)")) == similar
    shot(page, "discover-more-like-this")

    # A fresh visit loads the saved profile back: its tags, make and feedback.
    page.goto(f"{base}/discover")
    page.get_by_label("Saved profile", exact=True).select_option(label="dogs")
    page.get_by_role("button", name="Load profile").click()
    expect(page.get_by_role("status")).to_contain_text("Loaded “dogs” (1 likes, 0 dislikes)", timeout=SLOW)
    expect(page.get_by_role("list", name="Chosen tags")).to_contain_text("dog")
    expect(page.get_by_label("Camera make")).to_have_value("Canon")
    expect(cards.first).to_be_visible()
    # Result thumbnails open the photo page.
    cards.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/photo\?id="))
    expect(page.get_by_role("heading", name="EXIF")).to_be_visible()


def test_upload_a_folder_with_per_file_progress_and_results(page, shot, platform, photos_dir, tmp_path):
    from playwright.sync_api import expect

    base, _ = platform
    folder = tmp_path / "holiday"
    folder.mkdir()
    for name in ("giraffe.jpg", "person.jpg", "dog.jpg"):
        (folder / name).write_bytes((photos_dir / "darknet" / name).read_bytes())
    (folder / "notes.txt").write_text("not a photo")
    _sign_in(page)
    page.goto(f"{base}/upload")
    page.get_by_label("Choose a folder…").set_input_files(folder)
    expect(page.get_by_role("heading", name="3 files chosen")).to_be_visible()
    expect(page.get_by_text("1 file in the folder are not photos")).to_be_visible()
    page.get_by_role("button", name="Upload 3 files").click()
    results = page.get_by_role("region", name="Upload results")
    for name in ("giraffe.jpg", "person.jpg", "dog.jpg"):
        expect(results.get_by_role("progressbar", name=re.compile(rf"Upload of .*{name}"))).to_have_attribute(
            "value", "1")
    expect(results.locator("tr[data-status=stored]")).to_have_count(2)
    duplicate = results.locator("tr[data-status=duplicate]")
    expect(duplicate).to_contain_text("dog.jpg")
    expect(duplicate).to_contain_text("Duplicate of")
    expect(results.get_by_role("status")).to_contain_text("Batch complete", timeout=SLOW)
    expect(results.locator("tr[data-state=indexed]")).to_have_count(3)
    shot(page, "upload-folder")


def test_url_list_import_is_followed_to_completion(page, shot, platform, photos_dir):
    from playwright.sync_api import expect

    base, _ = platform
    with FlakyServer() as server:
        good = server.add("/horses.jpg", (photos_dir / "darknet" / "horses.jpg").read_bytes())
        missing = server.add("/gone.jpg", status=404)
        _sign_in(page)
        page.goto(f"{base}/import")
        page.get_by_label("Photo URLs, one per line").fill(f"{good}\n{missing}\n")
        with page.expect_response(lambda r: r.url.endswith("/gather/imports/urls")) as answer:
            page.get_by_role("button", name="Import URLs").click()
        assert answer.value.status == 202, answer.value.text()
        progress = page.get_by_role("region", name="Import progress")
        expect(progress.get_by_role("status")).to_contain_text("Import complete", timeout=SLOW)
    expect(progress.locator("[data-count=stored] dd")).to_have_text("1")
    expect(progress.locator("[data-count=failed] dd")).to_have_text("1")
    expect(progress.get_by_label(re.compile("2 of 2 done"))).to_be_visible()
    files = progress.get_by_role("list", name="Imported files")
    expect(files.get_by_role("link", name="horses.jpg")).to_be_visible()
    expect(files).to_contain_text("gone.jpg — rejected: HTTP 404")
    # The run is listed with the others, done; a fresh visit can follow it again.
    recent = page.get_by_role("region", name="Recent imports")
    row = recent.locator(f"tr[data-import-id='{answer.value.json()['id']}']")
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text("1 / 0 / 1")
    shot(page, "import")
    page.goto(f"{base}/import")
    row.get_by_role("button", name=re.compile("^Follow the import of")).click()
    expect(page.get_by_role("region", name="Import progress").get_by_role("status")).to_contain_text(
        "Import complete")
