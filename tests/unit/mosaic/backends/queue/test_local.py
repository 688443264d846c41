"""The embedded SQLite queue on its own: several processes on one file, crashes, leases, dead letters."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from mosaic.backends.queue import open_queue
from mosaic.backends.queue.local import LocalQueue

# spawn, not fork: a child must open its own connection, as a real worker process does.
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "nested" / "queue.db"


@pytest.fixture
def queue(path):
    opened = LocalQueue(path, max_attempts=3)
    yield opened
    opened.close()


def _drain(path: str, results, ready) -> None:
    """A consumer process: ack every message it gets until the queue stays empty."""
    queue = LocalQueue(path)
    ready.wait(10)
    while (delivery := queue.get("process", timeout=0.5)) is not None:
        results.put(delivery.body["n"])
        queue.ack(delivery)
    queue.close()


def _take_and_hang(path: str, taken) -> None:
    """A consumer process that takes a message and never acks: the test kills it."""
    delivery = LocalQueue(path).get("process", timeout=5)
    taken.put(delivery.body["n"])
    time.sleep(60)


def _take_and_exit(path: str) -> None:
    LocalQueue(path).get("process", timeout=5)
    os._exit(1)  # no ack, no close: like a crash


def test_creates_its_folder_and_roundtrips_a_body(queue, path):
    body = {"image_id": 7, "name": "café.jpg", "tags": ["a", {"b": None}]}
    queue.publish("process", body)
    assert path.is_file()

    delivery = queue.get("process", timeout=0)
    assert (delivery.queue, delivery.body, delivery.attempt) == ("process", body, 1)
    queue.ack(delivery)
    assert queue.get("process", timeout=0) is None
    assert queue.depth("process") == 0


def test_open_queue_builds_a_local_queue(tmp_path):
    queue = open_queue(f"local://{tmp_path}/q.db", max_attempts=5, lease_seconds=9)
    assert isinstance(queue, LocalQueue) and queue.max_attempts == 5 and queue.lease_seconds == 9
    queue.check()
    queue.close()


def test_published_messages_survive_reopening(path):
    first = LocalQueue(path)
    first.publish("harvest", {"n": 1})
    first.close()
    second = LocalQueue(path)
    assert second.get("harvest", timeout=0).body == {"n": 1}
    second.close()


def test_queues_are_separate(queue):
    queue.publish("harvest", {"n": 1})
    assert queue.get("process", timeout=0) is None
    assert queue.get("harvest", timeout=0).body == {"n": 1}


def test_get_waits_then_returns_none(queue):
    started = time.monotonic()
    assert queue.get("process", timeout=0.3) is None
    assert time.monotonic() - started >= 0.29


def test_get_sees_a_message_published_while_waiting(queue, path):
    other = LocalQueue(path)
    timer = threading.Timer(0.2, other.publish, ("process", {"n": 1}))
    timer.start()
    try:
        assert queue.get("process", timeout=5).body == {"n": 1}
    finally:
        timer.join()
        other.close()


def test_fifo_order(queue):
    for n in range(5):
        queue.publish("process", {"n": n})
    seen = []
    while (delivery := queue.get("process", timeout=0)) is not None:
        seen.append(delivery.body["n"])
        queue.ack(delivery)
    assert seen == list(range(5))


def test_two_processes_share_the_file_without_double_delivery(queue, path):
    for n in range(150):
        queue.publish("process", {"n": n})
    results, ready = SPAWN.Queue(), SPAWN.Event()
    workers = [SPAWN.Process(target=_drain, args=(str(path), results, ready)) for _ in range(2)]
    for worker in workers:
        worker.start()
    ready.set()  # both start draining together, so they really contend
    got = [results.get(timeout=30) for _ in range(150)]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert sorted(got) == list(range(150))
    assert queue.depth("process") == 0


def test_a_killed_consumer_message_goes_to_another_at_once(queue, path):
    queue.publish("process", {"n": 1})
    taken = SPAWN.Queue()
    worker = SPAWN.Process(target=_take_and_hang, args=(str(path), taken))
    worker.start()
    try:
        assert taken.get(timeout=30) == 1
        assert queue.get("process", timeout=0) is None  # leased to a live process
        os.kill(worker.pid, signal.SIGKILL)
        time.sleep(0.2)
        # Not reaped yet (a zombie still answers kill(pid, 0)): the message comes back anyway,
        # long before its 300 s lease would have run out.
        delivery = queue.get("process", timeout=2)
    finally:
        worker.join(10)
    assert (delivery.body, delivery.attempt) == ({"n": 1}, 2)
    queue.ack(delivery)
    assert queue.depth("process") == 0


def test_a_consumer_that_exits_without_ack_loses_nothing(queue, path):
    queue.publish("process", {"n": 1})
    worker = SPAWN.Process(target=_take_and_exit, args=(str(path),))
    worker.start()
    worker.join(30)
    assert worker.exitcode == 1
    delivery = queue.get("process", timeout=0)
    assert (delivery.body, delivery.attempt) == ({"n": 1}, 2)


def test_an_expired_lease_is_redelivered_and_the_late_ack_is_ignored(path):
    slow = LocalQueue(path, lease_seconds=0.2)
    fast = LocalQueue(path, lease_seconds=0.2)
    slow.publish("process", {"n": 1})
    late = slow.get("process", timeout=0)
    assert fast.get("process", timeout=0) is None
    time.sleep(0.3)
    again = fast.get("process", timeout=0)
    assert (again.body, again.attempt) == ({"n": 1}, 2)
    slow.ack(late)  # its lease is gone: this must not delete the message fast is working on
    assert fast.depth("process") == 1
    fast.ack(again)
    assert fast.depth("process") == 0


def test_close_gives_back_unacked_messages(path):
    first = LocalQueue(path)
    first.publish("process", {"n": 1})
    assert first.get("process", timeout=0) is not None
    first.close()
    second = LocalQueue(path)
    assert second.get("process", timeout=0).attempt == 2
    second.close()


def test_nack_redelivers_then_dead_letters_with_the_error(queue):
    queue.publish("process", {"n": 1})
    for attempt in (1, 2, 3):
        delivery = queue.get("process", timeout=0)
        assert delivery.attempt == attempt
        queue.nack(delivery, f"boom {attempt}")
    assert queue.get("process", timeout=0) is None
    assert queue.depth("process") == 0
    [dead] = queue.dead_letters("process")
    assert (dead.queue, dead.body, dead.error, dead.attempts) == ("process", {"n": 1}, "boom 3", 3)


def test_a_message_that_keeps_killing_workers_ends_dead(path):
    queue = LocalQueue(path, lease_seconds=0.05)
    queue.publish("process", {"n": 1})
    for attempt in (1, 2, 3, 4):  # each worker "dies": it never acks and its lease runs out
        # The 4th, past the limit, lets the consumer record on the image why it gives up.
        assert queue.get("process", timeout=0).attempt == attempt
        time.sleep(0.1)
    assert queue.get("process", timeout=0) is None
    [dead] = queue.dead_letters("process")
    assert dead.attempts == 4 and "worker died 4 times" in dead.error


def test_retry_dead_starts_the_attempts_afresh(queue):
    queue.publish("process", {"n": 1})
    queue.publish("process", {"n": 2})
    for _ in range(3):
        queue.nack(queue.get("process", timeout=0), "boom")
    assert queue.retry_dead("harvest") == 0
    assert queue.retry_dead("process") == 1
    assert queue.dead_letters("process") == []
    assert queue.depth("process") == 2
    delivery = queue.get("process", timeout=0)
    assert (delivery.body, delivery.attempt) == ({"n": 2}, 1)  # order kept: it was published after
    assert queue.get("process", timeout=0).body == {"n": 1}


def test_depth_counts_waiting_and_in_flight_but_not_dead(queue):
    for n in range(3):
        queue.publish("process", {"n": n})
    in_flight = queue.get("process", timeout=0)
    assert queue.depth("process") == 3
    queue.ack(in_flight)
    assert queue.depth("process") == 2
    for _ in range(3):
        queue.nack(queue.get("process", timeout=0), "boom")
    assert queue.depth("process") == 1
    assert queue.depth("harvest") == 0


def test_dead_letters_honours_the_limit(queue):
    for n in range(4):
        queue.publish("process", {"n": n})
    for _ in range(12):
        queue.nack(queue.get("process", timeout=0), "boom")
    assert [d.body["n"] for d in queue.dead_letters("process", limit=2)] == [0, 1]


def test_threads_of_one_process_share_an_instance(queue):
    for n in range(60):
        queue.publish("process", {"n": n})
    got, lock = [], threading.Lock()

    def drain():
        while (delivery := queue.get("process", timeout=0.2)) is not None:
            with lock:
                got.append(delivery.body["n"])
            queue.ack(delivery)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(got) == list(range(60))


def test_a_lease_of_a_previous_process_with_the_same_pid_is_released(queue, path):
    # A restarted container's worker often gets the PID its predecessor had.
    queue.publish("process", {"n": 1})
    assert queue.get("process", timeout=0) is not None
    with sqlite3.connect(path) as db:
        db.execute("UPDATE messages SET owner = ?", (f"{socket.gethostname()}:{os.getpid()}:1:old",))
    delivery = LocalQueue(path).get("process", timeout=0)
    assert (delivery.body, delivery.attempt) == ({"n": 1}, 2)
