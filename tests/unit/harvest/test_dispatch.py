"""Dispatch, reprocess, retry and the reconciler on the embedded backends: one message per waiting photo,
nothing stranded, nothing invisible (issue 12 #11, #12, #14's reconciler, #16, #19)."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

import harvest
from gather.storing import store_file
from harvest.dispatch import dispatch, reconcile, reprocess, retry_failed, run_dispatcher
from harvest.status import pipeline_status
from harvest_worker.pipeline import give_up as harvest_give_up
from mosaic.backends import Backends
from mosaic.backends.queue.local import LocalQueue
from mosaic.catalog import upgrade
from mosaic.catalog.images import get_image, now, set_state
from mosaic.catalog.schema import images
from mosaic.consumer import Backoff, consume
from mosaic.settings import load_settings

PHOTOS = ("dog.jpg", "eagle.jpg", "kite.jpg")


@pytest.fixture
def stored(backends, photos_dir) -> list[str]:
    ids = []
    for name in PHOTOS:
        result = store_file(backends, io.BytesIO((photos_dir / "darknet" / name).read_bytes()), name, "upload")
        assert result.status == "stored", result
        ids.append(result.id)
    return ids


def _waiting(backends, queue: str) -> list[str]:
    """Image ids of the messages waiting or in flight on a queue of the embedded queue file."""
    with sqlite3.connect(backends.queue.path) as db:
        rows = db.execute("SELECT body FROM messages WHERE queue = ? AND dead = 0", (queue,)).fetchall()
    return sorted(json.loads(body)["image_id"] for (body,) in rows)


def _state(backends, image_id) -> dict:
    with backends.catalog.connect() as connection:
        return get_image(connection, image_id)


def _age(backends, image_id, seconds: float) -> None:
    with backends.catalog.begin() as connection:
        connection.execute(update(images).where(images.c.id == image_id)
                           .values(updated_at=now() - timedelta(seconds=seconds)))


def _die(backends, queue: str, times: int) -> None:
    """`times` workers take the message and die before acking (their connection closes)."""
    for _ in range(times):
        worker = LocalQueue(backends.queue.path, max_attempts=backends.settings.queue_max_attempts)
        assert worker.get(queue, timeout=1) is not None
        worker.close()


def _consume_once(backends, queue: str, handle, on_give_up, timeout: float = 5.0) -> None:
    """Run the consumer until it has dealt with one message (or `timeout`)."""
    stop = threading.Event()
    settled = backends.queue.ack, backends.queue.nack

    def then_stop(original):
        def settle(*args):
            original(*args)
            stop.set()
        return settle

    backends.queue.ack, backends.queue.nack = then_stop(settled[0]), then_stop(settled[1])
    timer = threading.Timer(timeout, stop.set)
    timer.start()
    try:
        consume(backends, queue, handle, on_give_up, stop, idle_timeout=0.05)
    finally:
        timer.cancel()
        del backends.queue.ack, backends.queue.nack


# -- 11: reprocess + dispatch ------------------------------------------------------------------------------

def test_reprocess_and_dispatch_never_queue_an_image_twice(backends, stored):
    client = harvest.create_app(backends.settings, backends).test_client()
    assert dispatch(backends) == 3
    for _ in range(3):
        assert client.post("/reprocess", json={}).get_json() == {"marked": 3}
        assert client.post("/dispatch").get_json() == {"dispatched": 0}
        assert client.post("/reprocess", json={"ids": stored[:1]}).get_json() == {"marked": 1}
        assert client.post("/reprocess", json={"stale": True, "ids": stored}).get_json() == {"marked": 3}
        assert dispatch(backends) == 0
    assert _waiting(backends, "harvest") == sorted(stored)
    assert {_state(backends, i)["state"] for i in stored} == {"queued"}


@pytest.mark.parametrize("payload, field", [
    ({"ids": []}, "ids"),  # was: every image marked
    ({"stale": "false"}, "stale"),  # was: taken as true
    ({"ids": "abc"}, "ids"), ({"ids": [1]}, "ids.0"), ({"every": True}, "every"), ([], "body"),
])
def test_a_reprocess_request_that_does_not_say_what_it_means_marks_nothing(backends, stored, payload, field):
    client = harvest.create_app(backends.settings, backends).test_client()
    answer = client.post("/reprocess", json=payload)
    assert answer.status_code == 400 and field in answer.get_json()["fields"], answer.get_json()
    assert {_state(backends, i)["state"] for i in stored} == {"stored"}


def test_a_done_image_sent_back_gets_one_message(backends, stored):
    dispatch(backends)
    first = backends.queue.get("harvest", timeout=1)  # its worker finished it
    with backends.catalog.begin() as connection:
        set_state(connection, first.body["image_id"], "indexed")
    backends.queue.ack(first)
    for _ in range(3):
        reprocess(backends)
        dispatch(backends)
    assert _waiting(backends, "harvest") == sorted(stored)


# -- 12 and 19: a worker that died three times; retry counts what it sends back ------------------------------

def test_a_photo_whose_worker_died_three_times_fails_with_the_reason_and_retry_counts_it(backends, stored):
    client = harvest.create_app(backends.settings, backends).test_client()
    photo = stored[0]
    with backends.catalog.begin() as connection:
        for other in stored[1:]:
            set_state(connection, other, "indexed")
    assert dispatch(backends) == 1
    _die(backends, "harvest", 3)

    ran = []
    _consume_once(backends, "harvest", lambda b, body: ran.append(body), harvest_give_up)

    assert ran == []  # a fourth run could kill a fourth worker
    record = _state(backends, photo)
    assert record["state"] == "failed"
    assert "worker died 3 times on this photo" in record["error"]
    status = client.get("/status").get_json()
    assert [f["id"] for f in status["recent_failures"]] == [photo]
    assert status["queues"]["harvest"]["dead_count"] == 1 and status["queues"]["harvest"]["depth"] == 0
    assert "worker died 3 times on this photo" in status["queues"]["harvest"]["dead"][0]["error"]

    assert client.post("/retry").get_json() == {"retried": 1, "dispatched": 1}
    assert _waiting(backends, "harvest") == [photo]  # once, not once per retry path
    assert backends.queue.dead_count("harvest") == 0
    assert _state(backends, photo)["state"] == "queued"


def test_retry_counts_the_images_of_dead_letters(backends, stored):
    failed, stranded, done = stored
    dispatch(backends)
    # failed: its last attempt failed and was given up (photo failed, message dead-lettered with the error).
    # stranded: dead-lettered while its give-up could not be recorded (the photo still says queued).
    # done: an old dead letter of a photo indexed since.
    for _ in range(3):
        for _ in range(3):
            delivery = backends.queue.get("harvest", timeout=1)
            backends.queue.nack(delivery, "ValueError: boom")
    with backends.catalog.begin() as connection:
        set_state(connection, failed, "failed", error="ValueError: boom")
        set_state(connection, done, "indexed")
    assert backends.queue.dead_count("harvest") == 3

    assert retry_failed(backends) == 2
    assert backends.queue.dead_count("harvest") == 0
    assert dispatch(backends) == 2
    assert _waiting(backends, "harvest") == sorted([failed, stranded])
    assert _state(backends, done)["state"] == "indexed"


def test_retry_queues_dead_lettered_imports_again(backends):
    from gather.imports import finish, get_import, start_import

    import_id = start_import(backends, "urls", "http://a.example/1.jpg", total=1, state="queued")
    body = {"import_id": import_id, "kind": "urls", "urls": ["http://a.example/1.jpg"]}
    backends.queue.publish("imports", body)
    for _ in range(3):  # the import worker failed it every time; its give-up marked the run failed
        backends.queue.nack(backends.queue.get("imports", timeout=1), "OSError: disk full")
    finish(backends, import_id, "failed", "OSError: disk full")
    assert backends.queue.dead_count("imports") == 1

    assert retry_failed(backends) == 1
    assert backends.queue.dead_count("imports") == 0
    assert backends.queue.get("imports", timeout=1).body == body
    assert get_import(backends, import_id)["state"] == "queued"


# -- 14: the reconciler ------------------------------------------------------------------------------------------

def test_reconcile_requeues_a_photo_whose_message_was_lost_once(backends, stored):
    queued, harvested, fresh = stored
    with backends.catalog.begin() as connection:
        set_state(connection, queued, "queued")
        set_state(connection, harvested, "harvested")
        set_state(connection, fresh, "queued")
    lease = backends.settings.requeue_after_seconds
    _age(backends, queued, lease + 5)
    _age(backends, harvested, lease + 5)

    assert reconcile(backends) == 2
    assert _waiting(backends, "harvest") == [queued]
    assert _waiting(backends, "process") == [harvested]
    assert reconcile(backends) == 0  # a message waits for each now
    # Its lease was renewed: lost once more, it is sent again only after another lease.
    backends.queue.ack(backends.queue.get("harvest", timeout=1))
    assert reconcile(backends) == 0
    _age(backends, queued, lease + 5)
    assert reconcile(backends) == 1


def test_reconcile_waits_while_the_queue_holds_messages(backends, stored):
    stranded, waiting, _ = stored
    with backends.catalog.begin() as connection:
        set_state(connection, stranded, "queued")
    backends.queue.publish("harvest", {"image_id": waiting})
    _age(backends, stranded, backends.settings.requeue_after_seconds + 5)
    # Its message may be behind the other one: only an empty queue proves it lost.
    assert reconcile(backends) == 0
    backends.queue.ack(backends.queue.get("harvest", timeout=1))
    assert reconcile(backends) == 1


def test_the_dispatcher_loop_reconciles(tmp_path, photos_dir):
    settings = load_settings(data_dir=tmp_path / "var", requeue_after_seconds=0.2, dispatch_interval=0.05)
    backends = Backends(settings)
    upgrade(backends.catalog)
    try:
        stored = store_file(backends, io.BytesIO((photos_dir / "darknet" / "dog.jpg").read_bytes()), "d.jpg", "upload")
        with backends.catalog.begin() as connection:
            set_state(connection, stored.id, "queued")  # as after an outage lost its message
        stop = threading.Event()
        loop = threading.Thread(target=run_dispatcher, args=(backends, stop))
        loop.start()
        try:
            delivery = backends.queue.get("harvest", timeout=5)
        finally:
            stop.set()
            loop.join(10)
        assert delivery is not None and delivery.body == {"image_id": stored.id}
    finally:
        backends.close()


# -- 16: status while a backend is down --------------------------------------------------------------------------

def _down(tmp_path, **urls) -> Backends:
    return Backends(load_settings(data_dir=tmp_path / "var", **urls))


def test_status_shows_the_queues_while_the_catalog_is_down(tmp_path):
    backends = _down(tmp_path, catalog_url="postgresql://mosaic@127.0.0.1:1/mosaic")
    backends.queue.publish("harvest", {"image_id": "a"})
    client = harvest.create_app(backends.settings, backends).test_client()
    response = client.get("/status")
    assert response.status_code == 200, response.get_json()
    status = response.get_json()
    assert set(status["unavailable"]) == {"catalog"}
    assert status["queues"]["harvest"]["depth"] == 1 and status["dead_letters"] == 0
    assert status["counts"] == {} and status["total"] is None
    backends.close()


def test_status_shows_the_catalog_while_the_queue_is_down(backends, stored):
    down = Backends(backends.settings.model_copy(update={"queue_url": "amqp://guest:guest@127.0.0.1:1/%2F"}))
    client = harvest.create_app(down.settings, down).test_client()
    response = client.get("/status")
    assert response.status_code == 200, response.get_json()
    status = response.get_json()
    assert set(status["unavailable"]) == {"queue"}
    assert status["counts"] == {"stored": 3} and status["total"] == 3
    assert status["queues"]["harvest"]["depth"] is None and status["dead_letters"] is None
    assert pipeline_status(backends)["unavailable"] == {}
    down.close()


def test_consume_waits_for_a_queue_that_is_down(tmp_path):
    backends = _down(tmp_path, queue_url="amqp://guest:guest@127.0.0.1:1/%2F")
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    # Returns when told to stop: an exit here would reload the worker's models on every restart.
    consume(backends, "harvest", lambda b, body: None, lambda b, body, r: None, stop, idle_timeout=0.05,
            backoff=Backoff(0.05, 0.2))
    backends.close()
