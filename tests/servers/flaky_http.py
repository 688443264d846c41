"""A local HTTP server on 127.0.0.1 that serves given bytes and misbehaves on request.

    with FlakyServer() as server:
        server.add("/a.jpg", data, fail_429=2, retry_after=0)   # two 429s, then the photo
        server.add("/b.jpg", data, fail_500=9)                  # nine 500s, then the photo
        server.add("/c.jpg", data, delay=2.0, slow_times=1)     # first reply waits 2 s before the body
        server.add("/d.jpg", data, truncate=1)                  # first reply cut short, then whole
        server.add("/e.jpg", redirect="http://10.0.0.1/x.jpg")  # 302 elsewhere
        server.url("/a.jpg"); server.hits["/a.jpg"]

Paths match without their query string (`/a.jpg?w=1080` is `/a.jpg`). `generator` serves any
path it returns bytes for (the benchmark's thousands of unique photos without holding them).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "image/jpeg"
    fail_429: int = 0  # the first N requests answer 429
    retry_after: float | None = 0
    fail_500: int = 0  # then N requests answer 500
    truncate: int = 0  # then N replies announce the full length but send half and close
    delay: float = 0.0  # seconds slept after the headers, before the body
    slow_times: int = -1  # how many replies are slow (-1: all)
    trickle: float = 0.0  # seconds between 1 KiB pieces of the body
    redirect: str | None = None  # 302 to this path or URL
    status: int = 200


class FlakyServer:
    def __init__(self, generator: Callable[[str], bytes | None] | None = None):
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.generator = generator
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes = b"", **behaviour) -> str:
        self.routes[path] = Route(body=body, **behaviour)
        return self.url(path)

    def reset_hits(self) -> None:
        with self._lock:
            self.hits.clear()

    def start(self) -> FlakyServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="flaky-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self) -> FlakyServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _next(self, path: str) -> tuple[Route | None, int]:
        """The route for `path` and how many requests it had before this one."""
        with self._lock:
            seen = self.hits[path]
            self.hits[path] += 1
        route = self.routes.get(path)
        if route is None and self.generator is not None:
            body = self.generator(path)
            route = Route(body=body) if body is not None else None
        return route, seen


def _handler(server: FlakyServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised

        def log_message(self, *args):  # quiet tests
            pass

        def do_GET(self):
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to do

        def _answer(self):
            path = urlsplit(self.path).path
            route, seen = server._next(path)
            if route is None:
                return self._reply(404, b"not found", "text/plain")
            if seen < route.fail_429:
                headers = {} if route.retry_after is None else {"Retry-After": f"{route.retry_after:g}"}
                return self._reply(429, b"slow down", "text/plain", headers)
            seen -= route.fail_429
            if seen < route.fail_500:
                return self._reply(500, b"oops", "text/plain")
            seen -= route.fail_500
            if route.redirect:
                target = route.redirect if "://" in route.redirect else server.url(route.redirect)
                return self._reply(302, b"", "text/plain", {"Location": target})
            if seen < route.truncate:
                self._headers(route.status, route.content_type, len(route.body))
                self.wfile.write(route.body[: len(route.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            seen -= route.truncate
            self._headers(route.status, route.content_type, len(route.body))
            if route.delay and (route.slow_times < 0 or seen < route.slow_times):
                self.wfile.flush()
                time.sleep(route.delay)
            if route.trickle:
                for start in range(0, len(route.body), 1024):
                    self.wfile.write(route.body[start:start + 1024])
                    self.wfile.flush()
                    time.sleep(route.trickle)
            else:
                self.wfile.write(route.body)

        def _headers(self, status: int, content_type: str, length: int, extra: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(length))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()

        def _reply(self, status: int, body: bytes, content_type: str, extra: dict | None = None):
            self._headers(status, content_type, len(body), extra)
            self.wfile.write(body)

    return Handler
