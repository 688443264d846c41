"""Download many remote originals concurrently into the object store and catalog, resumably.

- The URL iterable is read lazily: at most a lookup chunk plus 2 × concurrency URLs are held, so
  millions of rows cost no more memory than ten.
- Each URL is remembered in `downloads` (keyed by sha256(url)): a re-run skips stored ones
  without touching the network and retries failed ones.
- Bodies stream into `store_file` (spooled to disk and hashed there); a truncated body raises
  inside the read, so store_file keeps nothing and the download is retried.
- SSRF: every request and every redirect hop is checked, and connections only reach checked
  addresses (see gather/ssrf.py).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urljoin, urlsplit

import requests
import urllib3
from sqlalchemy import select

from gather.imports import Progress
from gather.ssrf import UrlRefused, allow_list, check_url, guarded_adapter
from gather.storing import FileResult, store_file
from mosaic.backends import Backends, unavailable
from mosaic.catalog.images import now
from mosaic.catalog.rows import chunks, upsert
from mosaic.catalog.schema import downloads

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
LOOKUP_CHUNK = 64  # URLs checked against `downloads` in one query
MAX_REDIRECTS = 5
RETRY_AFTER_CAP = 60.0  # a server asking for an hour's pause gets a minute, then the next retry
BACKOFF_CAP = 60.0
ATTEMPT_BUDGET = 10  # × download_timeout: a body trickling in forever still ends
RETRYABLE_STATUS = {408, 429}
USER_AGENT = "Mosaic/1.0 (self-hosted image platform)"


@dataclass
class DownloadResult:
    key: str
    url: str
    state: str  # stored | duplicate | skipped | failed
    image_id: str | None = None
    error: str | None = None
    attempts: int = 0


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


class _Permanent(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def download_all(
    backends: Backends,
    urls: Iterable[str | tuple[str, str]],
    source: str,
    import_id: str | None = None,
    progress: Callable[[DownloadResult], None] | None = None,
) -> Iterator[DownloadResult]:
    """Fetch every URL (or (key, url)), yielding one result per URL as they finish (not in order)."""
    settings = backends.settings
    fetcher = _Fetcher(backends, source)
    recorder = _Recorder(backends, source, import_id)
    window = 2 * settings.download_concurrency
    pool = ThreadPoolExecutor(settings.download_concurrency, thread_name_prefix="download")
    in_flight: set[Future] = set()

    def emit(result: DownloadResult) -> DownloadResult:
        recorder.record(result)
        if progress:
            progress(result)
        return result

    try:
        for chunk in chunks(_pairs(urls), LOOKUP_CHUNK):
            done = recorder.already_done(url for _, url in chunk)
            for key, url in chunk:
                if url_key(url) in done:
                    yield emit(DownloadResult(key, url, "skipped"))
                    continue
                while len(in_flight) >= window:
                    finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in finished:
                        yield emit(future.result())
                in_flight.add(pool.submit(fetcher.fetch, key, url))
        while in_flight:
            finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                yield emit(future.result())
    finally:
        fetcher.stopping.set()  # running downloads finish their attempt but do not retry
        pool.shutdown(wait=True, cancel_futures=True)
        fetcher.close()
        recorder.flush()


def _pairs(urls: Iterable[str | tuple[str, str]]) -> Iterator[tuple[str, str]]:
    for item in urls:
        key, url = (item, item) if isinstance(item, str) else item
        url = url.strip()
        if url:
            yield (key.strip() if isinstance(key, str) else str(key)), url


class _Fetcher:
    """One URL at a time per worker thread: retries, backoff, redirects, the per-host limit."""

    def __init__(self, backends: Backends, source: str):
        settings = backends.settings
        self.backends, self.source, self.settings = backends, source, settings
        self.allowed = allow_list(settings.url_allowlist)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy or .netrc from the environment: the peer must be the checked host
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = guarded_adapter(self.allowed, pool_maxsize=settings.download_concurrency)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._hosts: dict[str, threading.Semaphore] = {}
        self._hosts_lock = threading.Lock()
        self.stopping = threading.Event()

    def close(self) -> None:
        self.session.close()

    def fetch(self, key: str, url: str) -> DownloadResult:
        malformed = _malformed(url)
        if malformed:
            return DownloadResult(key, url, "failed", error=f"invalid URL: {malformed}", attempts=1)
        retries = self.settings.download_retries
        reason = "not tried"
        for attempt in range(retries + 1):
            try:
                return self._attempt(key, url, attempt + 1)
            except _Permanent as exc:
                return DownloadResult(key, url, "failed", error=exc.reason, attempts=attempt + 1)
            except _Transient as exc:
                reason = exc.reason
                if attempt < retries and self.stopping.wait(self._delay(attempt, exc.retry_after)):
                    return DownloadResult(key, url, "failed", error=f"{reason} (stopped before retrying)",
                                          attempts=attempt + 1)
            except Exception as exc:  # one bad URL must never stop the others
                if unavailable(exc):
                    # Our own store or catalog is down: not this URL's fault. The import stops and its
                    # worker runs it again once the backend is back, skipping what was stored.
                    raise
                log.exception("download of %s failed unexpectedly", url)
                return DownloadResult(key, url, "failed", error=f"{type(exc).__name__}: {exc}", attempts=attempt + 1)
        return DownloadResult(key, url, "failed", error=f"{reason} (after {retries + 1} attempts)",
                              attempts=retries + 1)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        # Jitter spreads the retries of many workers hit by the same outage.
        delay = min(self.settings.download_backoff * 2**attempt, BACKOFF_CAP) * random.uniform(0.5, 1.5)
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
        return delay

    def _attempt(self, key: str, url: str, attempts: int) -> DownloadResult:
        timeout = self.settings.download_timeout
        with self._host_slot(url):
            response = self._get(url)
            with response:
                body = _Body(response, time.monotonic() + timeout * ATTEMPT_BUDGET)
                result = store_file(self.backends, body, _display_name(key, url), self.source)
        if result.status == "rejected":
            # The bytes arrived whole and are not acceptable: fetching them again would not help.
            return DownloadResult(key, url, "failed", error=result.reason, attempts=attempts)
        return DownloadResult(key, url, result.status, image_id=result.id, attempts=attempts)

    def _get(self, url: str) -> requests.Response:
        timeout = self.settings.download_timeout
        for _ in range(MAX_REDIRECTS + 1):
            try:
                check_url(url, self.allowed)
                response = self.session.get(url, stream=True, timeout=(timeout, timeout), allow_redirects=False)
            except UrlRefused as exc:
                raise _Permanent(f"refused: {exc.reason}") from None
            except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                    requests.exceptions.MissingSchema) as exc:
                raise _Permanent(f"invalid URL: {exc}") from None
            except requests.RequestException as exc:
                raise _Transient(f"{type(exc).__name__}: {exc}") from None
            status = response.status_code
            if response.is_redirect and response.headers.get("Location"):
                response.close()
                url = urljoin(url, response.headers["Location"])
                continue
            if 200 <= status < 300:
                return response
            response.close()
            if status in RETRYABLE_STATUS or status >= 500:
                raise _Transient(f"HTTP {status}", _retry_after(response.headers.get("Retry-After")))
            raise _Permanent(f"HTTP {status}")
        raise _Permanent(f"more than {MAX_REDIRECTS} redirects")

    @contextmanager
    def _host_slot(self, url: str):
        parts = urlsplit(url)
        host = f"{(parts.hostname or '').lower()}:{parts.port or ''}"
        with self._hosts_lock:
            slot = self._hosts.setdefault(host, threading.Semaphore(self.settings.download_per_host))
        with slot:
            yield


class _Body:
    """The response body as a file for store_file: decoded, length-checked, with a total deadline."""

    def __init__(self, response: requests.Response, deadline: float):
        self.raw = response.raw
        self.deadline = deadline
        length = response.headers.get("Content-Length")
        encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        self.expected = int(length) if length and length.isdigit() and not encoded else None
        self.received = 0

    def read(self, size: int = -1) -> bytes:
        try:
            # read1: one socket read at most, so a body trickling in still meets the deadline check below.
            chunk = self.raw.read1(size if size and size > 0 else CHUNK, decode_content=True)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise _Transient(f"body interrupted: {type(exc).__name__}: {exc}") from None
        self.received += len(chunk)
        if not chunk and self.expected is not None and self.received != self.expected:
            raise _Transient(f"truncated body: {self.received} of {self.expected} bytes")
        if chunk and time.monotonic() > self.deadline:
            raise _Transient("the download took too long (the body kept trickling in)")
        return chunk


class _Recorder:
    """Writes results to `downloads` and the import's counters, in chunks (cheap at 100 files/s)."""

    COUNTER = {"stored": "stored", "duplicate": "duplicates", "skipped": "skipped", "failed": "failed"}

    def __init__(self, backends: Backends, source: str, import_id: str | None):
        self.backends = backends
        self.progress = Progress(backends, source, import_id)
        self._rows: dict[str, dict] = {}
        self._flushed_at = time.monotonic()

    def already_done(self, urls: Iterable[str]) -> set[str]:
        hashes = [url_key(url) for url in urls]
        query = select(downloads.c.url_sha256).where(
            downloads.c.url_sha256.in_(hashes), downloads.c.state.in_(("stored", "duplicate"))
        )
        with self.backends.catalog.connect() as connection:
            return set(connection.execute(query).scalars())

    def record(self, result: DownloadResult) -> None:
        file = None
        if result.state != "skipped":
            digest = url_key(result.url)
            earlier = self._rows.get(digest)
            self._rows[digest] = {
                "url_sha256": digest, "url": result.url, "state": result.state, "image_id": result.image_id,
                "attempts": result.attempts + (earlier["attempts"] if earlier else 0), "error": result.error,
                "updated_at": now(),
            }
            name = _display_name(result.key, result.url)
            file = (FileResult(name, "rejected", reason=result.error) if result.state == "failed"
                    else FileResult(name, result.state, id=result.image_id,
                                    duplicate_of=result.image_id if result.state == "duplicate" else None))
        if len(self._rows) >= 200 or time.monotonic() - self._flushed_at >= 1.0:
            self._write_rows()
        self.progress.add(file, **{self.COUNTER[result.state]: 1})

    def flush(self) -> None:
        self._write_rows()
        self.progress.flush()

    def _write_rows(self) -> None:
        self._flushed_at = time.monotonic()
        if not self._rows:
            return
        rows, self._rows = list(self._rows.values()), {}
        with self.backends.catalog.begin() as connection:
            upsert(connection, downloads, rows, [downloads.c.url_sha256], lambda excluded: {
                "url": excluded.url, "state": excluded.state, "image_id": excluded.image_id, "error": excluded.error,
                "attempts": downloads.c.attempts + excluded.attempts, "updated_at": excluded.updated_at,
            })


def _malformed(url: str) -> str | None:
    """Why `url` cannot even be parsed ("Invalid IPv6 URL", a port out of range), or None."""
    try:
        _ = urlsplit(url).port  # parsing the port is what raises on "[::1" or ":99999"
    except ValueError as exc:
        return str(exc) or "cannot be parsed"
    return None


def _display_name(key: str, url: str) -> str:
    if key != url:
        return key
    try:
        parts = urlsplit(url)
        name = unquote(parts.path.rsplit("/", 1)[-1]) or parts.hostname
    except ValueError:
        # Recording the failure of a malformed URL must not raise again: that would end the whole import.
        name = url
    return (name or "download")[:512]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - now()).total_seconds())
    except (TypeError, ValueError):
        return None
