"""The Library, search, the trash, albums and "keep one, trash the other copies" as a user goes through them, in
Debian's headless chromium against one `mosaic run` with an API token.

The catalog: seven darknet photos and an iPhone photo with a capture date and a GPS position (exif/IMG_0001.JPG),
so the Library has at least two months. The pages take `?limit=` (page size): 3 here, so the Library pages on
scroll. Tests run in file order: the last ones move photos to the trash, purge one and add a near-duplicate.
"""

from __future__ import annotations

import io
import json
import re
import time

import pytest
import requests
from PIL import Image

from mosaic.backends.vectors import VectorStore
from mosaic.vector_layouts import FINGERPRINT, STYLE, VISUAL
from tests.platform import running_platform, upload_indexed, wait_for_states
from tests.servers import free_port

TOKEN = "e2e-library-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PHOTOS = ("dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "kite.jpg", "person.jpg", "scream.jpg")
LIMIT = 3
SLOW = 60_000  # ms: the first search loads the word vectors; the pipeline runs on two cores


@pytest.fixture(scope="module")
def platform(tmp_path_factory, photos_dir):
    """(base URL, {file name: image id}, the vector store's URI) with every photo indexed."""
    vectors_port = free_port()
    env = {"MOSAIC_API_TOKEN": TOKEN, "MOSAIC_VECTORS_PORT": str(vectors_port)}
    files = [(name, (photos_dir / "darknet" / name).read_bytes()) for name in PHOTOS]
    files.append(("IMG_0001.JPG", (photos_dir / "exif" / "IMG_0001.JPG").read_bytes()))
    with running_platform(tmp_path_factory.mktemp("library") / "data", env) as base:
        yield base, upload_indexed(base, files, AUTH), f"http://127.0.0.1:{vectors_port}"


def _sign_in(page) -> None:
    page.add_init_script(f"window.localStorage.setItem('mosaic.api-token', {json.dumps(TOKEN)})")


def _library(base: str, query: str = "") -> list[str]:
    """Every photo id the Library's API lists for `query`, newest first, paging through."""
    ids: list[str] = []
    cursor = None
    while True:
        url = f"{base}/recommend/photos?limit=200{'&' + query if query else ''}"
        page = requests.get(url + (f"&cursor={cursor}" if cursor else ""), timeout=10).json()
        ids += [photo["id"] for photo in page["photos"]]
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def _tiles(page, label: str = "Photos"):
    return page.locator(f"ul.justified[aria-label^='{label}'] li.tile")


def _shown(page, label: str = "Photos") -> list[str]:
    return _tiles(page, label).evaluate_all("tiles => tiles.map(t => t.dataset.imageId)")


def test_library_pages_on_scroll_by_month_with_a_timeline(page, shot, platform):
    from playwright.sync_api import expect

    base, ids, _ = platform
    everything = _library(base)
    assert len(everything) == len(ids)
    months = requests.get(f"{base}/recommend/photos/months", timeout=10).json()["months"]
    assert len(months) >= 2, months  # the iPhone photo's capture month, and this month's uploads
    expect_months = [m["month"] for m in months]

    with page.expect_response(lambda r: "/recommend/photos?" in r.url and "cursor=" in r.url) as second:
        page.goto(f"{base}/?limit={LIMIT}")
        expect(page).to_have_title("Library · Mosaic")
        expect(_tiles(page).first).to_be_visible()
        page.mouse.wheel(0, 5000)
    assert second.value.status == 200
    expect(_tiles(page)).to_have_count(len(ids))
    expect(page.locator(".load-more")).to_contain_text(f"{len(ids)} photos, the end")
    assert _shown(page) == everything  # newest first, across pages
    headings = page.locator("section.month").evaluate_all("s => s.map(e => e.dataset.month)")
    assert headings == expect_months
    # Justified: a full row's tiles share one height and fill the grid's width.
    rows = page.evaluate("""() => {
        const tiles = [...document.querySelectorAll('section.month')[0].querySelectorAll('li.tile')];
        const byTop = {};
        for (const t of tiles) { const r = t.getBoundingClientRect(); (byTop[Math.round(r.top)] ??= []).push(r); }
        return Object.values(byTop).map(rs => ({heights: rs.map(r => Math.round(r.height)),
                                                 width: rs[rs.length - 1].right - rs[0].left}));
    }""")
    grid = page.locator(".library").evaluate("e => e.clientWidth")
    for row in rows[:-1]:
        assert len(set(row["heights"])) == 1, rows
        assert grid - 3 <= row["width"] <= grid, (rows, grid)
    shot(page, "library")

    # The timeline: the oldest month jumps to photos up to its last day.
    timeline = page.get_by_role("navigation", name="Timeline").get_by_role("button")
    expect(timeline).to_have_count(len(months) + 1)  # "Newest", then each month
    oldest = months[-1]
    with page.expect_response(lambda r: "/recommend/photos?" in r.url and "to=" in r.url) as jumped:
        timeline.last.click()
    assert jumped.value.status == 200
    expect(timeline.last).to_have_attribute("aria-pressed", "true")
    expect(_tiles(page)).to_have_count(oldest["count"])
    expect(page.locator("section.month")).to_have_count(1)
    expect(page.locator("section.month h2")).to_contain_text(oldest["month"][:4])
    timeline.first.click()
    expect(_tiles(page)).to_have_count(len(ids))


def test_filters_narrow_the_library(page, platform):
    from playwright.sync_api import expect

    base, ids, _ = platform
    dogs = _library(base, "tag=dog")
    assert ids["dog.jpg"] in dogs and len(dogs) < len(ids), dogs
    page.goto(f"{base}/?limit={LIMIT}")
    expect(_tiles(page).first).to_be_visible()
    page.get_by_text("Filters", exact=True).click()
    expect(page.locator("#f-tag option[value=dog]")).to_have_count(1)
    page.get_by_label("Tag", exact=True).select_option("dog")
    expect(_tiles(page)).to_have_count(len(dogs))
    assert sorted(_shown(page)) == sorted(dogs)
    page.get_by_label("Source", exact=True).select_option("url")
    expect(page.get_by_text("No photos match these filters.")).to_be_visible()
    page.get_by_role("button", name="Clear filters").click()
    expect(page.locator(".load-more")).to_contain_text(re.compile(r"\d+ photos"))


def test_selection_by_click_shift_click_and_keyboard(page, platform):
    from playwright.sync_api import expect

    base, ids, _ = platform
    page.goto(f"{base}/?limit=200")
    expect(_tiles(page)).to_have_count(len(ids))
    order = _shown(page)
    picks = page.locator("li.tile input.pick")
    picks.nth(0).click()
    picks.nth(3).click(modifiers=["Shift"])
    expect(page.get_by_text("4 selected")).to_be_visible()
    for i in range(4):
        expect(page.locator(f"li.tile[data-image-id='{order[i]}']")).to_have_attribute("data-selected", "true")
    page.keyboard.press("Escape")
    expect(page.get_by_text("0 selected")).to_be_visible()
    # The keyboard: arrows move between tiles, space ticks.
    picks.nth(0).focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    expect(page.locator(f"li.tile[data-image-id='{order[1]}']")).to_have_attribute("data-selected", "true")
    expect(page.get_by_text("1 selected")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_text("0 selected")).to_be_visible()


def test_search_from_the_header(page, shot, platform):
    from playwright.sync_api import expect

    base, ids, _ = platform
    page.goto(f"{base}/status")
    page.get_by_role("searchbox", name="Search photos").fill("dog")
    page.get_by_role("searchbox", name="Search photos").press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=dog$"))
    expect(page).to_have_title("Search · Mosaic")
    results = _tiles(page, "Search results")
    expect(results.first).to_be_visible(timeout=SLOW)
    expect(page.locator(f"li.tile[data-image-id='{ids['dog.jpg']}'] .tile-caption")).to_contain_text("dog")
    shot(page, "search")
    # A query the API refuses shows its reason.
    page.get_by_role("searchbox", name="Search photos").fill("lens:wide")
    page.get_by_role("searchbox", name="Search photos").press("Enter")
    expect(page.locator("p.error[role=alert]")).to_contain_text("unknown field 'lens'")


def test_albums_from_the_selection_and_the_album_page(page, shot, platform):
    from playwright.sync_api import expect

    base, ids, _ = platform
    _sign_in(page)
    page.goto(f"{base}/?limit=200")
    for name in ("dog.jpg", "giraffe.jpg"):
        page.locator(f"li.tile[data-image-id='{ids[name]}'] input.pick").check()
    page.get_by_label("Album to add to").select_option(label="New album…")
    page.get_by_label("New album name").fill("Animals")
    page.get_by_role("button", name="Add to album").click()
    expect(page.get_by_role("status")).to_contain_text("Added 2 photos to “Animals”")

    page.goto(f"{base}/albums")
    expect(page).to_have_title("Albums · Mosaic")
    card = page.get_by_role("list", name="Albums").locator("li.album")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("2 photos")
    card.get_by_role("button", name="Rename").click()
    page.get_by_label("New name for Animals").fill("Beasts")
    page.get_by_role("button", name="Save").click()
    expect(card.get_by_role("heading")).to_have_text("Beasts")
    card.get_by_role("link", name="Beasts", exact=True).click()
    expect(page.get_by_role("heading", name="Beasts", level=1)).to_be_visible()
    expect(_tiles(page, "Album photos")).to_have_count(2)
    page.locator(f"li.tile[data-image-id='{ids['giraffe.jpg']}'] input.pick").check()
    page.get_by_role("button", name="Remove from album").click()
    expect(_tiles(page, "Album photos")).to_have_count(1)
    shot(page, "album")
    # The photo page adds to an album too.
    page.goto(f"{base}/photo?id={ids['eagle.jpg']}")
    page.get_by_label("Album to add to").select_option(label="Beasts (1)")
    page.get_by_role("button", name="Add to album").click()
    expect(page.locator(".photo-actions")).to_contain_text("Added 1 photo to “Beasts”")
    albums = requests.get(f"{base}/recommend/albums", timeout=10).json()["albums"]
    assert [(a["name"], a["count"]) for a in albums] == [("Beasts", 2)]
    # Deleting an album keeps its photos.
    page.goto(f"{base}/albums")
    page.get_by_role("button", name="Delete Beasts").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete album").click()
    expect(page.get_by_text("No albums yet.")).to_be_visible()
    assert ids["eagle.jpg"] in _library(base)


def test_trash_restore_and_empty_purges_everything(page, shot, platform):
    from playwright.sync_api import expect

    base, ids, vectors = platform
    kite, horses, dog = ids["kite.jpg"], ids["horses.jpg"], ids["dog.jpg"]
    for url in (f"{base}/cdn/show/{kite}", f"{base}/cdn/show/{kite}?size=thumb"):
        assert requests.get(url, timeout=10).status_code == 200, url
    store = VectorStore(vectors)
    assert kite in store.get_many(VISUAL, [kite])

    _sign_in(page)
    page.goto(f"{base}/?limit=200")
    expect(_tiles(page)).to_have_count(len(ids))
    for image_id in (kite, horses):
        page.locator(f"li.tile[data-image-id='{image_id}'] input.pick").check()
    page.get_by_role("button", name="Move to trash").click()
    expect(page.get_by_role("status").filter(has_text="Moved")).to_contain_text("Moved 2 photos to the trash.")
    expect(_tiles(page)).to_have_count(len(ids) - 2)
    # Undo puts them back; then to the trash again.
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status").filter(has_text="Restored")).to_contain_text("Restored 2 photos.")
    expect(_tiles(page)).to_have_count(len(ids))
    for image_id in (kite, horses):
        page.locator(f"li.tile[data-image-id='{image_id}'] input.pick").check()
    page.get_by_role("button", name="Move to trash").click()
    expect(_tiles(page)).to_have_count(len(ids) - 2)
    assert kite not in _library(base) and horses not in _library(base)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trash").click()
    expect(page).to_have_title("Trash · Mosaic")
    trashed = _tiles(page, "Photos in the trash")
    expect(trashed).to_have_count(2)
    expect(trashed.first.locator(".tile-caption")).to_contain_text(re.compile(r"Deleted .+ · 30 days left"))
    shot(page, "trash")
    page.locator(f"li.tile[data-image-id='{horses}'] input.pick").check()
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("status")).to_contain_text("Restored 1 photo to the Library.")
    expect(trashed).to_have_count(1)
    assert horses in _library(base)

    page.get_by_role("button", name="Empty trash").click()
    dialog = page.get_by_role("dialog", name="Empty the trash?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("1 photo will be deleted for good")
    dialog.get_by_role("button", name="Delete for good").click()
    expect(page.get_by_role("status")).to_contain_text("Deleting 1 photo for good.")

    # The purger removes the catalog row last: once the photo is unknown, its objects and vectors are gone.
    deadline = time.monotonic() + 60
    while requests.get(f"{base}/harvest/images/{kite}", timeout=10).status_code != 404:
        assert time.monotonic() < deadline, "the emptied photo was not purged within 60 s"
        time.sleep(0.5)
    for url in (f"{base}/cdn/show/{kite}", f"{base}/cdn/show/{kite}?size=thumb"):
        assert requests.get(url, timeout=10).status_code == 404, url
    for collection in (VISUAL, STYLE, FINGERPRINT):
        assert kite not in store.get_many(collection, [kite]), collection.name
    similar = requests.get(f"{base}/recommend/similar/{dog}?limit=50", timeout=30).json()["results"]
    assert kite not in {result["id"] for result in similar}
    page.reload()
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    assert requests.get(f"{base}/gather/trash", timeout=10).json()["total"] == 0


def test_photo_page_deletes_to_the_trash_and_restores(page, platform):
    from playwright.sync_api import expect

    base, ids, _ = platform
    person = ids["person.jpg"]
    _sign_in(page)
    page.goto(f"{base}/photo?id={person}")
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator(".in-trash")).to_contain_text("In the trash since")
    assert person not in _library(base)
    page.locator(".toast").get_by_role("button", name="Undo").click()  # changed my mind
    expect(page.locator(".photo-actions")).to_contain_text("Restored to the Library.")
    assert person in _library(base)
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator(".in-trash")).to_contain_text("In the trash since")
    page.reload()
    expect(page.locator(".in-trash")).to_contain_text("In the trash since")
    page.get_by_role("button", name="Restore").click()
    expect(page.locator(".photo-actions")).to_contain_text("Restored to the Library.")
    assert person in _library(base)


def test_duplicates_keep_one_and_move_the_others_to_the_trash(page, platform, photos_dir):
    from playwright.sync_api import expect

    base, ids, _ = platform
    with Image.open(photos_dir / "darknet" / "dog.jpg") as dog:
        half = io.BytesIO()
        dog.resize((dog.width // 2, dog.height // 2), Image.Resampling.LANCZOS).save(half, "JPEG", quality=90)
    answer = requests.post(f"{base}/gather/uploads", headers=AUTH, timeout=60,
                           files=[("files", ("dog-half.jpg", half.getvalue()))])
    assert answer.status_code == 201, answer.text
    copy = answer.json()["files"][0]["id"]
    wait_for_states(base, [copy], {"indexed"})
    _sign_in(page)
    page.goto(f"{base}/duplicates")
    group = page.locator("li.group")
    expect(group).to_have_count(1)
    group.get_by_role("button", name="Keep this one, move the others to the trash — keep dog.jpg", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("1 other moved to the trash.")
    trash = requests.get(f"{base}/gather/trash", timeout=10).json()
    assert [photo["id"] for photo in trash["photos"]] == [copy]
    assert ids["dog.jpg"] in _library(base)
