"""A URL list import: each bad URL is its own failure with a reason; the others are still fetched (issue 12 #10)."""

from __future__ import annotations

import threading

import pytest
import urllib3.exceptions
from sqlalchemy import select

from gather.downloads import download_all
from gather.imports import get_import, start_import
from gather.jobs import give_up, run_import
from mosaic.backends import Backends
from mosaic.catalog import upgrade
from mosaic.catalog.schema import batch_files
from mosaic.consumer import consume
from mosaic.settings import load_settings

MALFORMED = ["http://[::1", "http://[::1]:99999/x.jpg", "http://exa mple.com:port/x.jpg", "ftp://example.com/x.jpg"]


@pytest.fixture
def local(tmp_path):
    opened = Backends(load_settings(data_dir=tmp_path / "var", url_allowlist=["127.0.0.1"], download_backoff=0.01,
                                    download_timeout=2, download_retries=1))
    upgrade(opened.catalog)
    yield opened
    opened.close()


def _files(backends, batch_id) -> list[dict]:
    with backends.catalog.connect() as connection:
        rows = connection.execute(select(batch_files).where(batch_files.c.batch_id == batch_id)).mappings()
        return [dict(row) for row in rows]


def test_malformed_urls_fail_one_by_one_and_the_good_one_is_stored(local, flaky_server, photos_dir):
    good = flaky_server.add("/ok.jpg", (photos_dir / "darknet" / "dog.jpg").read_bytes())
    import_id = start_import(local, "urls", "test", total=len(MALFORMED) + 1, state="queued")
    local.queue.publish("imports", {"import_id": import_id, "kind": "urls", "urls": MALFORMED + [good]})

    stop = threading.Event()
    gave_up = []

    def handle(backends, body):
        try:
            run_import(backends, body)
        finally:
            stop.set()  # one attempt is all this test needs

    consume(local, "imports", handle, lambda b, body, reason: (gave_up.append(reason), give_up(b, body, reason)),
            stop, idle_timeout=0.1)

    assert gave_up == []
    found = get_import(local, import_id)
    assert found["state"] == "completed", found
    assert (found["stored"], found["failed"]) == (1, len(MALFORMED))
    assert local.queue.dead_count("imports") == 0 and local.queue.depth("imports") == 0
    files = _files(local, found["batch_id"])
    assert [row["status"] for row in files if row["name"] == "ok.jpg"] == ["stored"]
    failed = [row for row in files if row["status"] == "rejected"]
    assert len(failed) == len(MALFORMED)
    for row in failed:
        assert row["reason"] and ("invalid URL" in row["reason"] or "refused" in row["reason"]), row


def test_an_outage_of_our_own_store_is_not_the_urls_failure(local, flaky_server, photos_dir, monkeypatch):
    url = flaky_server.add("/ok.jpg", (photos_dir / "darknet" / "dog.jpg").read_bytes())

    def store_down(*args, **kwargs):
        raise urllib3.exceptions.MaxRetryError(None, "/mosaic/originals/x", "Connection refused")

    monkeypatch.setattr("gather.downloads.store_file", store_down)
    with pytest.raises(urllib3.exceptions.MaxRetryError):  # the import waits for the store and runs again
        list(download_all(local, [url], "url"))
    monkeypatch.undo()
    assert [result.state for result in download_all(local, [url], "url")] == ["stored"]
