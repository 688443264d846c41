"""The Status page when a model is broken: the user sees which feature is unavailable and on how many photos
a step failed with its reason, and "Retry failed" sends those photos through that step again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.platform import running_platform, upload_indexed

# DETR asked for with weights that are not on this machine: the detector fails to load for real.
BROKEN = {"MOSAIC_DETECTOR": "detr", "MOSAIC_DETR_MODEL": "/nonexistent/detr-weights"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory, photos_dir):
    with running_platform(tmp_path_factory.mktemp("broken") / "data", BROKEN) as base:
        upload_indexed(base, [(name, (photos_dir / "darknet" / name).read_bytes()) for name in ("dog.jpg", "kite.jpg")])
        yield base


def test_status_page_names_the_broken_step_and_retries_it(page, shot, platform):
    page.goto(f"{platform}/status")
    features = page.get_by_role("region", name="Features")
    expect(features.get_by_role("list", name="Degraded features")).to_contain_text("objects is unavailable")
    failed = features.locator("li[data-step=objects]")
    expect(failed).to_contain_text("objects failed on 2 photos: model not available")
    expect(page.locator("[data-state=indexed] dd")).to_have_text("2")
    expect(page.locator("tr[data-service=harvest] td").nth(1)).to_contain_text("degraded")
    shot(page, "status-step-failures")

    with page.expect_response(lambda r: r.url.endswith("/harvest/retry")) as answer:
        page.get_by_role("button", name="Retry failed").click()
    assert answer.value.status == 200
    expect(page.get_by_role("status").first).to_contain_text("Retried 2 images")
