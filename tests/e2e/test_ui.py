"""The web UI driven as a user would, in Debian's headless chromium, against `mosaic run`: upload,
discover with a like, status. The browser fixtures are in conftest.py."""

from __future__ import annotations

import re

import requests

from tests.platform import running_platform

PHOTOS = ["darknet/dog.jpg", "darknet/eagle.jpg", "darknet/kite.jpg"]
SERVICES = ("gather", "harvest", "recommend", "visualize", "cdn")


def test_upload_discover_like_and_status(page, shot, tmp_path, photos_dir):
    from playwright.sync_api import expect

    with running_platform(tmp_path / "data") as base:
        # The gateway serves the exported pages and their assets.
        assert requests.get(f"{base}/upload", timeout=10).status_code == 200
        assert "Mosaic" in requests.get(f"{base}/", timeout=10).text

        # Upload: three photos and a text file dressed as a JPEG.
        page.goto(f"{base}/upload")
        expect(page.get_by_role("heading", name="Upload")).to_be_visible()
        page.get_by_label("Choose photos…").set_input_files([photos_dir / path for path in PHOTOS])
        expect(page.get_by_role("heading", name="3 files chosen")).to_be_visible()
        dropped = page.evaluate_handle("""() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["this is not a photo"], "bad.jpg", {type: "image/jpeg"}));
            return transfer;
        }""")
        page.locator(".dropzone").dispatch_event("drop", {"dataTransfer": dropped})
        expect(page.get_by_role("heading", name="4 files chosen")).to_be_visible()
        page.get_by_role("button", name="Upload 4 files").click()
        results = page.get_by_role("region", name="Upload results")
        rejected = results.locator("tr[data-status=rejected]")
        expect(rejected).to_have_count(1)
        expect(rejected).to_contain_text("bad.jpg")
        expect(rejected).to_contain_text(re.compile(r"Rejected: .*not an image"))
        expect(results.locator("tr[data-status=stored]")).to_have_count(3)
        summary = results.get_by_role("status")
        expect(summary).to_contain_text("Batch complete", timeout=60_000)
        expect(summary).to_contain_text("3 indexed")
        expect(summary).to_contain_text("1 rejected")
        expect(results.locator("tr[data-state=indexed]")).to_have_count(3)
        shot(page, "upload")

        # Discover: a profile, explained results with thumbnails.
        page.get_by_role("link", name="Discover").click()
        expect(page.get_by_role("heading", name="Discover")).to_be_visible()
        page.get_by_label("Colour").fill("#6b5a3e")
        page.get_by_label("Width (px)").fill("768")
        page.get_by_label("Height (px)").fill("576")
        page.get_by_label("Orientation").select_option("landscape")
        page.get_by_label("Tags (up to 5)").fill("dog")
        page.get_by_label("Tags (up to 5)").press("Enter")
        expect(page.get_by_role("list", name="Chosen tags")).to_contain_text("dog")
        page.get_by_label("Camera make").fill("Canon")
        with page.expect_response(lambda r: r.url.endswith("/recommend/recommend")) as answer:
            page.get_by_role("button", name="Find photos").click()
        assert answer.value.status == 200, answer.value.text()
        cards = page.get_by_role("region", name="Results").locator("li.result")
        expect(cards).to_have_count(3)
        for i in range(3):
            expect(cards.nth(i).locator(".summary")).not_to_be_empty()
            expect(cards.nth(i).locator(".why li").first).to_be_visible()
        page.wait_for_function("[...document.querySelectorAll('li.result img')]"
                               ".every(i => i.complete && i.naturalWidth > 0)")
        before = cards.evaluate_all("cards => cards.map(c => c.dataset.imageId)")
        shot(page, "discover")

        # Like the last one: feedback is posted and the list is fetched again.
        liked = before[-1]
        with page.expect_response(lambda r: r.url.endswith("/recommend/feedback")) as feedback, \
                page.expect_response(lambda r: r.url.endswith("/recommend/recommend")) as again:
            page.get_by_role("button", name=f"Like photo {liked}", exact=True).click()
        assert feedback.value.status in (200, 201), feedback.value.text()
        assert again.value.status == 200
        expect(page.get_by_role("status").filter(has_text="Results updated after your like.")).to_be_visible()
        like = page.get_by_role("button", name=f"Like photo {liked}", exact=True)
        expect(like).to_have_attribute("aria-pressed", "true")
        expect(page.locator(f"li.result[data-image-id='{liked}']")).to_contain_text("liked")
        after = cards.evaluate_all("cards => cards.map(c => c.dataset.imageId)")
        assert sorted(after) == sorted(before)
        assert after.index(liked) <= before.index(liked)
        shot(page, "discover-liked")

        # Status: every service healthy, the counts, the queues, retry.
        page.get_by_role("link", name="Status").click()
        expect(page.get_by_role("heading", name="Status", exact=True)).to_be_visible()
        for service in SERVICES:
            expect(page.locator(f"tr[data-service={service}] td").nth(1)).to_have_text("ok")
        expect(page.locator("[data-state=indexed] dd")).to_have_text("3")
        expect(page.get_by_role("region", name="Queues")).to_contain_text("harvest")
        expect(page.get_by_text("No failures.")).to_be_visible()
        page.get_by_role("button", name="Retry failed").click()
        expect(page.get_by_text("Retried 0 images.")).to_be_visible()
        expect(page.get_by_role("link", name="Open the lab")).to_have_attribute("href", "http://127.0.0.1:8888/lab")
        expect(page.get_by_role("link", name="API documentation")).to_have_attribute("href", "/api/docs")
        shot(page, "status")
