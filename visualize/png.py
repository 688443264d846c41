"""PNG export: figures drawn by kaleido v1 in one headless Chromium per process, started by the first PNG asked for.

Why one long-lived browser: starting Debian's chromium costs seconds on a small machine, a render in a running
one a fraction of a second, and the original platform's pages load every chart as an <img> at once.

Nothing leaves the machine: plotly.js is the copy inside the plotly package, MathJax is off (kaleido would fetch it
from a CDN), and the map's outlines are read from visualize/topojson/ as file:// URLs (choreographer starts
chromium with --allow-file-access-from-files). The browser is BROWSER_PATH (choreographer's own variable), else
the first chromium on PATH; kaleido never downloads one here.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import threading
from concurrent.futures import TimeoutError as FutureTimeout

from visualize.outlines import TOPOJSON_DIR

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
START_SECONDS = 60.0  # a cold chromium on a busy 2-core CI machine has been seen to take ~5 s
RENDER_SECONDS = 30.0


class PngUnavailable(Exception):
    """PNG export cannot run here (no kaleido, no chromium) or the browser failed; the message says which."""


class Renderer:
    """One kaleido browser, renders one figure at a time; a failed or stuck browser is replaced on the next call."""

    def __init__(self, start_seconds: float = START_SECONDS, render_seconds: float = RENDER_SECONDS):
        self.start_seconds, self.render_seconds = start_seconds, render_seconds
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._browser = None

    def render(self, figure, width: int, height: int) -> bytes:
        # One render at a time: chromium is the heaviest thing on the machine, and a queue of <img>
        # requests is served faster one after the other than all at once on two cores.
        with self._lock:
            if self._browser is None:
                self._start()
            try:
                return self._wait(self._browser.calc_fig(
                    figure, opts={"format": "png", "width": width, "height": height},
                    topojson=TOPOJSON_DIR.as_uri() + "/"), self.render_seconds)
            except Exception as exc:
                self._stop()
                raise PngUnavailable(f"the PNG renderer failed ({type(exc).__name__}: {exc})") from exc

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> None:
        try:
            import kaleido
        except ImportError:
            raise PngUnavailable("PNG export needs the kaleido package (pip install -e '.[serve]')") from None
        path = os.environ.get("BROWSER_PATH") or next(filter(None, map(shutil.which, BROWSERS)), None)
        if not path:
            raise PngUnavailable("PNG export needs chromium (apt-get install chromium) or BROWSER_PATH")
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=_run_until_stopped, args=(self._loop,), name="png-renderer", daemon=True).start()
        browser = kaleido.Kaleido(path=path, mathjax=False, timeout=self.render_seconds)
        try:
            self._wait(browser.open(), self.start_seconds)
        except Exception as exc:
            self._browser = browser  # so _stop closes whatever did start
            self._stop()
            raise PngUnavailable(f"chromium ({path}) did not start: {type(exc).__name__}: {exc}") from exc
        self._browser = browser
        atexit.register(self.close)

    def _wait(self, coroutine, seconds: float):
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(seconds)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"no answer from chromium in {seconds:.0f} s") from None

    def _stop(self) -> None:
        browser, loop = self._browser, self._loop
        self._browser = self._loop = None
        if loop is None:
            return
        if browser is not None:
            try:
                asyncio.run_coroutine_threadsafe(browser.close(), loop).result(10)
            except Exception:  # noqa: BLE001 (already failing; chromium quits anyway when its DevTools pipe closes)
                pass
        loop.call_soon_threadsafe(loop.stop)


def _run_until_stopped(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_forever()
    finally:
        loop.close()


RENDERER = Renderer()  # opens nothing until the first PNG


def png(figure, width: int, height: int) -> bytes:
    return RENDERER.render(figure, width, height)
