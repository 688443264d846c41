"""The browser the e2e tests drive: Debian's headless chromium through Playwright, one per test module.

Needs `/usr/bin/chromium` (scripts/install-system-deps.sh), the `playwright` package (dev extra; never
`playwright install`) and the built UI in frontend/out (`make frontend`). Screenshots of each page land in
var/e2e-artifacts/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
FRONTEND = REPO_ROOT / "frontend" / "out"
ARTIFACTS = REPO_ROOT / "var" / "e2e-artifacts"
# Without the background-networking flags chromium keeps dialling Google's hosts on this closed network.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"no {CHROMIUM}: run scripts/install-system-deps.sh (make test does)", pytrace=False)
    if not (FRONTEND / "index.html").is_file():
        pytest.fail(f"the web UI is not built ({FRONTEND}/index.html missing): run `make frontend`", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the `playwright` package is missing: pip install -e '.[dev]' (make venv does)", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser) -> Iterator:
    """A fresh page (its own storage) that fails the test when the page's scripts throw."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"errors in the page's scripts: {errors}"


@pytest.fixture
def shot() -> Callable:
    """shot(page, name): a full-page screenshot in var/e2e-artifacts/<name>.png."""

    def take(page, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take
