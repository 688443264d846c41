"""A backend outage is never a photo's failure: the consumer keeps its message, waits with backoff and
tries again without spending attempts; a lost queue is waited for in place (issue 12 #14, #15)."""

from __future__ import annotations

import threading

import pika.exceptions
import psycopg2
import pytest
import sqlalchemy.exc
import urllib3.exceptions
from pymilvus.exceptions import MilvusException

from mosaic.backends import BackendUnavailable, unavailable
from mosaic.consumer import Backoff, consume

FAST = dict(idle_timeout=0.05)


def _fast_backoff() -> Backoff:
    return Backoff(0.01, 0.05)


def _db_down() -> Exception:
    return sqlalchemy.exc.OperationalError(
        "SELECT 1", {}, psycopg2.OperationalError("server closed the connection unexpectedly"),
        connection_invalidated=True)


def _db_refused() -> Exception:
    engine = sqlalchemy.create_engine("postgresql+psycopg2://mosaic@127.0.0.1:1/mosaic")
    try:
        engine.connect()
    except sqlalchemy.exc.OperationalError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("port 1 accepted a connection")


def _chained(outer: Exception, cause: Exception) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(("error", "backend"), [
    (_db_down(), "catalog"),
    (_db_refused(), "catalog"),
    (psycopg2.OperationalError("could not connect to server"), "catalog"),
    (pika.exceptions.StreamLostError("Transport indicated EOF"), "queue"),
    (pika.exceptions.AMQPConnectionError("refused"), "queue"),
    (BackendUnavailable("queue", "RabbitMQ connection lost"), "queue"),
    (urllib3.exceptions.MaxRetryError(None, "/bucket/key", "refused"), "objects"),
    (MilvusException(code=2, message="Fail connecting to server on 127.0.0.1:19530"), "vectors"),
    (_chained(RuntimeError("upsert failed"), urllib3.exceptions.ProtocolError("reset")), "objects"),
])
def test_backend_outages_are_recognised(error, backend):
    assert unavailable(error) == backend


@pytest.mark.parametrize("error", [
    ValueError("bad pixels"),
    sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")),
    sqlalchemy.exc.OperationalError("SELECT", {}, Exception("no such table: images")),  # SQLite: a bug, not an outage
    pika.exceptions.ChannelClosedByBroker(404, "NOT_FOUND"),
    MilvusException(code=1, message="dimension mismatch"),
])
def test_errors_about_the_work_are_not_outages(error):
    assert unavailable(error) is None


class _Run:
    """Consume until one message is settled (or a timeout), recording what the consumer did."""

    def __init__(self, backends, fail_with: list, give_up_fails_with: list | None = None):
        self.backends = backends
        self.fail_with = list(fail_with)
        self.give_up_fails_with = list(give_up_fails_with or [])
        self.attempts: list[int] = []
        self.gave_up: list[str] = []
        self.stop = threading.Event()

    def handle(self, backends, body) -> None:
        self.attempts.append(body["n"])
        if self.fail_with:
            raise self.fail_with.pop(0)

    def give_up(self, backends, body, reason) -> None:
        if self.give_up_fails_with:
            raise self.give_up_fails_with.pop(0)
        self.gave_up.append(reason)

    def __call__(self, timeout: float = 10.0) -> None:
        queue = self.backends.queue
        real_ack, real_nack = queue.ack, queue.nack
        nacks = []

        def ack(delivery):
            real_ack(delivery)
            self.stop.set()

        def nack(delivery, error):
            real_nack(delivery, error)
            nacks.append(delivery.attempt)
            if delivery.attempt >= self.backends.settings.queue_max_attempts:
                self.stop.set()

        queue.ack, queue.nack = ack, nack
        timer = threading.Timer(timeout, self.stop.set)
        timer.start()
        try:
            consume(self.backends, "harvest", self.handle, self.give_up, self.stop, backoff=_fast_backoff(), **FAST)
        finally:
            timer.cancel()
            del queue.ack, queue.nack
        self.nacks = nacks


def test_a_catalog_outage_mid_message_spends_none_of_its_attempts(backends):
    backends.queue.publish("harvest", {"n": 1})
    run = _Run(backends, fail_with=[_db_down() for _ in range(5)])  # longer than max_attempts
    run()
    assert run.attempts == [1] * 6  # the same delivery, held and run again once the catalog is back
    assert run.nacks == [] and run.gave_up == []
    assert backends.queue.depth("harvest") == 0 and backends.queue.dead_count("harvest") == 0


def test_a_give_up_during_an_outage_waits_instead_of_killing_the_worker(backends):
    backends.queue.publish("harvest", {"n": 1})
    run = _Run(backends, fail_with=[ValueError("bad pixels") for _ in range(3)],
               give_up_fails_with=[_db_down(), _db_down()])
    run()  # before: give_up raised out of consume and the worker exited
    assert run.gave_up == ["ValueError: bad pixels"]
    [dead] = backends.queue.dead_letters("harvest")
    assert dead.error == "ValueError: bad pixels"


def test_other_errors_keep_their_attempts_and_dead_letter(backends):
    backends.queue.publish("harvest", {"n": 1})
    run = _Run(backends, fail_with=[ValueError("bad pixels") for _ in range(3)])
    run()
    assert run.nacks == [1, 2, 3] and run.gave_up == ["ValueError: bad pixels"]


class _LosingQueue:
    """The embedded queue behind a connection that fails the first `failures` gets, as a broker restart does."""

    def __init__(self, queue, failures: int):
        self._queue, self.failures = queue, failures

    def get(self, name, timeout=1.0):
        if self.failures:
            self.failures -= 1
            raise pika.exceptions.StreamLostError("Transport indicated EOF")
        return self._queue.get(name, timeout)

    def __getattr__(self, name):
        return getattr(self._queue, name)


def test_a_lost_queue_connection_is_waited_for_in_place(backends):
    backends.queue.publish("harvest", {"n": 1})
    backends.__dict__["queue"] = _LosingQueue(backends.queue, failures=4)
    run = _Run(backends, fail_with=[])
    run()  # before: the error left consume and the worker exited (and reloaded its models on restart)
    assert run.attempts == [1] and backends.queue.failures == 0
    assert backends.queue.depth("harvest") == 0
