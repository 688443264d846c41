"""One contract, two work queues: the embedded SQLite queue and RabbitMQ behave the same."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from mosaic.backends.queue import Queue
from mosaic.backends.queue.local import LocalQueue
from mosaic.backends.queue.rabbitmq import RabbitQueue

pytestmark = pytest.mark.servers

MAX_ATTEMPTS = 3


@dataclass
class QueueBackend:
    """A fresh queue: `name` is unique to the test, `open()` gives one more consumer/producer on it."""

    kind: str
    name: str
    factory: Callable[[], Queue] = field(repr=False)
    opened: list[Queue] = field(default_factory=list, repr=False)

    def open(self) -> Queue:
        queue = self.factory()
        self.opened.append(queue)
        return queue


@pytest.fixture(params=["local", "rabbitmq"])
def queue_backend(request, tmp_path):
    if request.param == "local":
        path = tmp_path / "queue.db"
        factory = lambda: LocalQueue(path, max_attempts=MAX_ATTEMPTS)  # noqa: E731
    else:
        # Looked up only here, so the local cases never start a broker.
        url = request.getfixturevalue("rabbitmq_server").url
        factory = lambda: RabbitQueue(url, max_attempts=MAX_ATTEMPTS)  # noqa: E731
    backend = QueueBackend(request.param, f"t-{uuid.uuid4().hex[:10]}", factory)
    yield backend
    for queue in backend.opened:
        queue.close()


def test_roundtrip_keeps_the_body(queue_backend):
    queue = queue_backend.open()
    queue.check()
    body = {"image_id": 42, "name": "été.jpg", "sizes": [1, 2.5], "meta": {"gps": None, "ok": True}}
    queue.publish(queue_backend.name, body)

    delivery = queue.get(queue_backend.name, timeout=5)
    assert (delivery.queue, delivery.body, delivery.attempt) == (queue_backend.name, body, 1)
    queue.ack(delivery)
    assert queue.get(queue_backend.name, timeout=0.2) is None


def test_a_message_outlives_its_publisher(queue_backend):
    publisher = queue_backend.open()
    publisher.publish(queue_backend.name, {"n": 1})
    publisher.close()
    consumer = queue_backend.open()
    assert consumer.get(queue_backend.name, timeout=5).body == {"n": 1}


def test_get_on_an_empty_queue_waits_then_returns_none(queue_backend):
    queue = queue_backend.open()
    started = time.monotonic()
    assert queue.get(queue_backend.name, timeout=0.5) is None
    assert 0.45 <= time.monotonic() - started < 3


def test_nack_redelivers_with_the_next_attempt(queue_backend):
    queue = queue_backend.open()
    queue.publish(queue_backend.name, {"n": 1})
    queue.nack(queue.get(queue_backend.name, timeout=5), "transient")
    delivery = queue.get(queue_backend.name, timeout=5)
    assert (delivery.body, delivery.attempt) == ({"n": 1}, 2)
    queue.ack(delivery)
    assert queue.get(queue_backend.name, timeout=0.2) is None


def test_the_last_failed_attempt_dead_letters_with_its_error(queue_backend):
    queue = queue_backend.open()
    queue.publish(queue_backend.name, {"n": 1})
    for attempt in range(1, MAX_ATTEMPTS + 1):
        delivery = queue.get(queue_backend.name, timeout=5)
        assert delivery.attempt == attempt
        queue.nack(delivery, f"ValueError: bad pixels ({attempt})")

    assert queue.get(queue_backend.name, timeout=0.2) is None
    assert queue.depth(queue_backend.name) == 0
    [dead] = queue.dead_letters(queue_backend.name)
    assert (dead.queue, dead.body, dead.attempts) == (queue_backend.name, {"n": 1}, MAX_ATTEMPTS)
    assert dead.error == f"ValueError: bad pixels ({MAX_ATTEMPTS})"
    # Reading dead letters does not consume them.
    assert len(queue_backend.open().dead_letters(queue_backend.name)) == 1
    assert queue.dead_count(queue_backend.name) == 1


def test_retry_dead_puts_them_back_with_fresh_attempts(queue_backend):
    queue = queue_backend.open()
    queue.publish(queue_backend.name, {"n": 1})
    for _ in range(MAX_ATTEMPTS):
        queue.nack(queue.get(queue_backend.name, timeout=5), "boom")

    assert queue.retry_dead(queue_backend.name) == 1
    assert queue.dead_letters(queue_backend.name) == []
    delivery = queue.get(queue_backend.name, timeout=5)
    assert (delivery.body, delivery.attempt) == ({"n": 1}, 1)
    queue.ack(delivery)
    assert queue.retry_dead(queue_backend.name) == 0


def test_a_consumer_gone_without_ack_loses_nothing(queue_backend):
    crashed = queue_backend.open()
    crashed.publish(queue_backend.name, {"n": 1})
    assert crashed.get(queue_backend.name, timeout=5).attempt == 1
    crashed.close()  # no ack: as when a worker dies

    delivery = queue_backend.open().get(queue_backend.name, timeout=5)
    assert (delivery.body, delivery.attempt) == ({"n": 1}, 2)


def test_a_message_that_keeps_losing_its_consumer_comes_back_once_flagged_then_ends_dead(queue_backend):
    queue_backend.open().publish(queue_backend.name, {"n": 1})
    for attempt in range(1, MAX_ATTEMPTS + 1):
        consumer = queue_backend.open()
        assert consumer.get(queue_backend.name, timeout=5).attempt == attempt
        consumer.close()

    # Once more, past the limit: the consumer's chance to record on the image that its workers died.
    flagged = queue_backend.open()
    assert flagged.get(queue_backend.name, timeout=5).attempt == MAX_ATTEMPTS + 1
    flagged.close()  # and it dies on that one too

    survivor = queue_backend.open()
    assert survivor.get(queue_backend.name, timeout=0.5) is None
    [dead] = _wait_for_dead_letters(survivor, queue_backend.name, 1)
    assert (dead.body, dead.attempts) == ({"n": 1}, MAX_ATTEMPTS + 1)
    assert "died" in dead.error


def test_the_flagged_delivery_is_dead_lettered_with_the_consumers_reason(queue_backend):
    queue_backend.open().publish(queue_backend.name, {"n": 1})
    for _ in range(MAX_ATTEMPTS):
        queue_backend.open().get(queue_backend.name, timeout=5)
        queue_backend.opened.pop().close()
    queue = queue_backend.open()
    flagged = queue.get(queue_backend.name, timeout=5)
    assert flagged.attempt == MAX_ATTEMPTS + 1
    queue.nack(flagged, "worker died 3 times on this photo")
    assert queue.get(queue_backend.name, timeout=0.5) is None
    [dead] = _wait_for_dead_letters(queue, queue_backend.name, 1)
    assert (dead.body, dead.error) == ({"n": 1}, "worker died 3 times on this photo")


def test_take_dead_removes_and_returns_the_dead_letters(queue_backend):
    queue = queue_backend.open()
    for n in (1, 2):
        queue.publish(queue_backend.name, {"n": n})
    for _ in range(MAX_ATTEMPTS * 2):
        delivery = queue.get(queue_backend.name, timeout=5)
        queue.nack(delivery, f"boom {delivery.body['n']}")
    taken = queue.take_dead(queue_backend.name)
    assert sorted((d.body["n"], d.error) for d in taken) == [(1, "boom 1"), (2, "boom 2")]
    assert queue.dead_count(queue_backend.name) == 0 and queue.depth(queue_backend.name) == 0
    assert queue.get(queue_backend.name, timeout=0.2) is None


def test_a_consumer_holds_one_message_at_a_time(queue_backend):
    first, second = queue_backend.open(), queue_backend.open()
    for n in (1, 2):
        first.publish(queue_backend.name, {"n": n})

    held = first.get(queue_backend.name, timeout=5)
    other = second.get(queue_backend.name, timeout=5)
    assert (held.body, other.body) == ({"n": 1}, {"n": 2})
    second.ack(other)
    # The first consumer did not take anything beyond what it asked for.
    assert second.get(queue_backend.name, timeout=0.2) is None
    first.ack(held)
    assert first.get(queue_backend.name, timeout=0.2) is None


def test_depth_counts_waiting_messages_but_not_dead_ones(queue_backend):
    queue = queue_backend.open()
    assert queue.depth(queue_backend.name) == 0
    for n in range(3):
        queue.publish(queue_backend.name, {"n": n})
    assert queue.depth(queue_backend.name) == 3

    queue.ack(queue.get(queue_backend.name, timeout=5))
    assert queue.depth(queue_backend.name) == 2
    for _ in range(MAX_ATTEMPTS):
        queue.nack(queue.get(queue_backend.name, timeout=5), "boom")
    assert queue.depth(queue_backend.name) == 1


def test_queues_do_not_mix(queue_backend):
    queue = queue_backend.open()
    queue.publish(queue_backend.name, {"n": 1})
    assert queue.get(f"{queue_backend.name}-other", timeout=0.2) is None
    assert queue.depth(f"{queue_backend.name}-other") == 0
    assert queue.get(queue_backend.name, timeout=5).body == {"n": 1}


def test_rabbitmq_publish_survives_a_dropped_connection(rabbitmq_server, caplog):
    name = f"t-{uuid.uuid4().hex[:10]}"
    queue = RabbitQueue(rabbitmq_server.url, max_attempts=MAX_ATTEMPTS)
    try:
        queue.publish(name, {"n": 1})
        _drop_socket(queue)
        with caplog.at_level("INFO", logger="mosaic.backends.queue.rabbitmq"):
            queue.publish(name, {"n": 2})
        assert "reconnecting once" in caplog.text
        assert [queue.get(name, timeout=5).body["n"] for _ in range(2)] == [1, 2]
    finally:
        queue.close()


def test_rabbitmq_get_survives_a_dropped_connection(rabbitmq_server):
    name = f"t-{uuid.uuid4().hex[:10]}"
    queue = RabbitQueue(rabbitmq_server.url, max_attempts=MAX_ATTEMPTS)
    try:
        queue.publish(name, {"n": 1})
        held = queue.get(name, timeout=5)
        _drop_socket(queue)
        again = queue.get(name, timeout=5)  # the broker took back the one held on the lost connection
        assert (again.body, again.attempt) == ({"n": 1}, 2)
        queue.ack(held)  # stale: logged, not raised
        queue.ack(again)
        assert queue.get(name, timeout=0.2) is None
    finally:
        queue.close()


def test_rabbitmq_uses_a_queue_an_older_release_declared_with_another_delivery_limit(rabbitmq_server, caplog):
    import pika

    name = f"t-{uuid.uuid4().hex[:10]}"
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    connection.channel().queue_declare(name, durable=True, arguments={
        "x-queue-type": "quorum", "x-delivery-limit": MAX_ATTEMPTS - 1, "x-dead-letter-exchange": "mosaic.dead",
        "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
    connection.close()
    queue = RabbitQueue(rabbitmq_server.url, max_attempts=MAX_ATTEMPTS)
    try:
        with caplog.at_level("WARNING", logger="mosaic.backends.queue.rabbitmq"):
            queue.publish(name, {"n": 1})
        assert "exists with other arguments" in caplog.text
        delivery = queue.get(name, timeout=5)
        assert delivery.body == {"n": 1}
        queue.ack(delivery)
        assert queue.depth(name) == 0
    finally:
        queue.close()


def _drop_socket(queue: RabbitQueue) -> None:
    # What a broker restart or a network cut looks like to the client: the socket just goes.
    import socket

    queue._link.conn._impl._transport._sock.shutdown(socket.SHUT_RDWR)


def _wait_for_dead_letters(queue: Queue, name: str, count: int, timeout: float = 5.0) -> list:
    # RabbitMQ dead-letters a message returned past its delivery limit asynchronously.
    deadline = time.monotonic() + timeout
    while len(letters := queue.dead_letters(name)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return letters
