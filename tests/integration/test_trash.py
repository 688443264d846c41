"""The purge on the production backends: PostgreSQL, RabbitMQ, an S3 server and Milvus, driven by the purger's own
consume loop, with a crash in the middle of one purge (the message comes back and the purge ends clean).

Photos are generated (rows, made-up object bytes, random vectors: tests/unit/gather/test_trash.py `_fake_photo`).
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

import gather
from gather import trash
from harvest.dispatch import sweep_trash
from mosaic.backends import Backends
from mosaic.backends.queue import PURGE
from mosaic.catalog import upgrade
from mosaic.catalog.schema import images, renditions
from mosaic.consumer import consume
from mosaic.settings import load_settings
from mosaic.vector_layouts import FINGERPRINT, STYLE, VISUAL
from tests.unit.gather.test_trash import _fake_photo, _live, _needed_objects

pytestmark = pytest.mark.servers


@pytest.fixture
def backends(server_env, tmp_path):
    settings = {name.removeprefix("MOSAIC_").lower(): value for name, value in server_env.items()}
    opened = Backends(load_settings(data_dir=tmp_path / "var", queue_max_attempts=3, **settings))
    upgrade(opened.catalog)
    assert opened.catalog.dialect.name == "postgresql"
    yield opened
    opened.close()


def _run_purger_until_empty(backends: Backends, purger: Backends, gone: list[str], deadline: float = 60.0) -> None:
    """`purger`: the worker's own backends (a RabbitMQ connection is not shared between threads)."""
    stop = threading.Event()
    worker = threading.Thread(target=consume, args=(purger, PURGE, trash.purge_image, trash.give_up, stop),
                              kwargs={"idle_timeout": 0.2}, daemon=True)
    worker.start()
    try:
        until = time.monotonic() + deadline
        while (backends.queue.depth(PURGE) or set(gone) & set(_live(backends))) and time.monotonic() < until:
            time.sleep(0.2)
        assert backends.queue.depth(PURGE) == 0, "the purger did not drain the purge queue"
    finally:
        stop.set()
        worker.join(10)


def test_purge_on_postgres_s3_rabbitmq_and_milvus_survives_a_crash_and_leaves_only_what_is_needed(backends):
    photos = [_fake_photo(backends) for _ in range(6)]
    kept, gone = photos[:3], photos[3:]
    client = gather.create_app(backends.settings, backends).test_client()
    assert client.post("/images/delete", json={"ids": gone}).get_json() == {"trashed": 3, "purging": 0,
                                                                            "unknown": []}
    assert client.get("/trash").get_json()["total"] == 3

    purger = Backends(backends.settings)
    real_delete, crashed = purger.objects.delete, []

    def crash_once(key):  # the worker dies in the middle of the first purge's objects
        if not crashed:
            crashed.append(key)
            raise RuntimeError("simulated crash after the vectors were deleted")
        real_delete(key)

    purger.objects.delete = crash_once
    try:
        assert client.post("/trash/empty").get_json() == {"purging": 3}
        _run_purger_until_empty(backends, purger, gone)
    finally:
        # Only its queue: pymilvus shares one connection per server URL, which closing would take from `backends`.
        purger.queue.close()
    assert crashed, "the crash was not injected"
    assert backends.queue.dead_count(PURGE) == 0

    assert _live(backends) == sorted(kept)
    assert set(backends.objects.list("")) == _needed_objects(backends)
    with backends.catalog.connect() as connection:
        assert connection.execute(select(func.count()).select_from(renditions)).scalar() == 2 * len(kept)
        assert connection.execute(select(func.count()).select_from(images)
                                  .where(images.c.deleted_at.is_not(None))).scalar() == 0
    for collection in (STYLE, FINGERPRINT, VISUAL):
        # The Milvus server is shared by the session's tests: these photos' vectors are checked by id.
        assert set(backends.vectors.get_many(collection, photos)) == set(kept), collection.name
    assert sweep_trash(backends, lease_seconds=0) == 0  # nothing left marked
