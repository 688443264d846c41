"""The consumer on a real RabbitMQ under faults: a broker restart is waited for in place, and a message whose
workers keep dying ends with its reason on the photo (issue 12 #12, #15)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from mosaic.backends import Backends
from mosaic.backends.queue.rabbitmq import RabbitQueue
from mosaic.consumer import Backoff, consume
from mosaic.settings import load_settings
from tests.servers import rabbitmq

pytestmark = pytest.mark.servers


@pytest.fixture
def backends(tmp_path, rabbitmq_server):
    opened = Backends(load_settings(data_dir=tmp_path / "var", queue_url=rabbitmq_server.url))
    yield opened
    opened.close()


def _consumer(backends, queue: str, handle, on_give_up, stop: threading.Event) -> tuple[threading.Thread, list]:
    crashed = []

    def run():
        try:
            consume(backends, queue, handle, on_give_up, stop, idle_timeout=0.2, backoff=Backoff(0.1, 1.0))
        except BaseException as exc:  # the test asserts there is none
            crashed.append(exc)

    thread = threading.Thread(target=run, name=f"consumer-{queue}")
    thread.start()
    return thread, crashed


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_consumer_waits_through_a_broker_restart_and_loses_nothing(backends, rabbitmq_server):
    name = f"t-{uuid.uuid4().hex[:8]}"
    done: list[int] = []
    stop = threading.Event()
    thread, crashed = _consumer(backends, name, lambda b, body: done.append(body["n"]),
                                lambda b, body, reason: None, stop)
    publisher = RabbitQueue(rabbitmq_server.url)
    try:
        for n in range(5):
            publisher.publish(name, {"n": n})
        assert _wait(lambda: len(done) == 5, 15)

        rabbitmq.stop_server(rabbitmq_server)
        time.sleep(2)  # the consumer sees the broker gone and waits for it
        assert thread.is_alive() and not crashed
        started = time.monotonic()
        rabbitmq.start_server(rabbitmq_server)
        up = time.monotonic()
        for n in range(5, 10):
            publisher.publish(name, {"n": n})  # the publisher reconnects too
        assert _wait(lambda: len(done) == 10, 30), done
        print(f"\nbroker boot {up - started:.1f} s; messages flowing again {time.monotonic() - up:.1f} s after")
    finally:
        rabbitmq.start_server(rabbitmq_server)  # shared by the session: back up even when this test fails
        stop.set()
        thread.join(15)
        publisher.close()
    assert not crashed, crashed
    assert sorted(done) == list(range(10))  # nothing lost; nothing done twice (none was in flight)


def test_a_photo_whose_workers_keep_dying_fails_with_the_reason(backends, rabbitmq_server):
    name = f"t-{uuid.uuid4().hex[:8]}"
    attempts = backends.settings.queue_max_attempts
    publisher = RabbitQueue(rabbitmq_server.url, max_attempts=attempts)
    publisher.publish(name, {"image_id": "abc"})
    for attempt in range(1, attempts + 1):  # each worker takes the photo and dies (its connection drops)
        worker = RabbitQueue(rabbitmq_server.url, max_attempts=attempts)
        assert worker.get(name, timeout=5).attempt == attempt
        worker.close()

    ran, gave_up = [], []
    stop = threading.Event()

    def give_up(b, body, reason):
        gave_up.append((body, reason))
        stop.set()

    thread, crashed = _consumer(backends, name, lambda b, body: ran.append(body), give_up, stop)
    thread.join(20)
    assert not crashed and ran == []  # not run a fourth time: it could kill a fourth worker
    assert gave_up == [({"image_id": "abc"}, "worker died 3 times on this photo (crashed, killed or disconnected)")]
    deadline = time.monotonic() + 5
    while not (letters := publisher.dead_letters(name)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(d.body, d.error) for d in letters] == [({"image_id": "abc"}, gave_up[0][1])]
    publisher.close()
