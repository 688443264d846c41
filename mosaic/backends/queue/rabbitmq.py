"""The RabbitMQ work queue: durable quorum queues, persistent confirmed messages, one message at a time.

Each work queue `q` is a quorum queue whose broker-side delivery limit dead-letters a message
that was handed out more than `max_attempts + 1` times without an ack (workers that crashed or
lost their connection), through the `mosaic.dead` exchange into the classic durable queue `q.dead`.
The one delivery past `max_attempts` is the consumer's: it sees `attempt > max_attempts`, records
on the image that its workers kept dying, and dead-letters the message itself with that reason.
A worker's own final failure is dead-lettered by us (`nack`), so the dead letter carries the error.

As pika advises for a BlockingConnection used by a worker that is busy for long stretches, the
connection lives on its own I/O thread, which answers heartbeats all along; every other thread
hands it work through `add_callback_threadsafe`. Messages arrive through `basic_consume` (no
polling); the consumer is cancelled as soon as its one message arrives, so a worker holds only
what it asked for and a stopping worker gives back nothing it never saw. A lost connection fails
the calls waiting on it with `BackendUnavailable`; the next call connects again.

All instances that share a queue must use the same `max_attempts`: it is part of the queue's
declaration, and the broker refuses a redeclaration with other arguments.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import pika
import pika.exceptions

from mosaic.backends import BackendUnavailable
from mosaic.backends.queue import DeadLetter, Delivery

log = logging.getLogger(__name__)
# pika logs every failed connection attempt at ERROR with tracebacks, a dozen lines a try; while the
# broker is down our callers try every few seconds and say so once per outage. Unless configured.
if logging.getLogger("pika").level == logging.NOTSET:
    logging.getLogger("pika").setLevel(logging.CRITICAL)

T = TypeVar("T")

DEAD_EXCHANGE = "mosaic.dead"
HEARTBEAT_SECONDS = 20
CALL_TIMEOUT = 60.0  # a broker that blocks publishers (disk or memory alarm) must not hang callers forever
IO_SLICE = 0.5
NACK_RETRIES = 8  # about 4 s of refusals before the caller is told the queue is unavailable

# Errors after which a fresh connection may succeed; protocol errors (ChannelClosedByBroker) are not.
CONNECTION_ERRORS = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.ConnectionWrongStateError,
    pika.exceptions.ChannelWrongStateError,
    pika.exceptions.StreamLostError,
    BackendUnavailable,
)


class _Link:
    """One connection, its channel and the thread that owns them; dead for good once lost."""

    def __init__(self, params: pika.URLParameters):
        self.pid = os.getpid()
        self.conn = pika.BlockingConnection(params)  # handed to the I/O thread below, used only there
        self.channel = self._new_channel()
        self.alive = True
        self.closing = False
        self.lost_reason = ""
        self.cond = threading.Condition()
        self.declared: set[str] = set()
        self.consumers: dict[str, str] = {}  # queue -> consumer tag, while one is waiting for its message
        self.inbox: dict[str, deque[Delivery]] = {}
        self._pending: set[Future] = set()
        self.thread = threading.Thread(target=self._run, name="rabbitmq-io", daemon=True)
        self.thread.start()

    def _new_channel(self):
        channel = self.conn.channel()
        channel.confirm_delivery()  # basic_publish returns once the broker has the message on disk
        # Per consumer: the broker pushes one message, then nothing until it is acked (and we cancel first).
        channel.basic_qos(prefetch_count=1)
        channel.add_on_cancel_callback(self._cancelled_by_broker)
        return channel

    def reopen(self) -> None:
        """On the I/O thread: a fresh channel. What the old one held went back to the queues with it."""
        self.channel = self._new_channel()
        self.declared.clear()
        with self.cond:
            self.consumers.clear()
            self.inbox.clear()
            self.cond.notify_all()

    def _cancelled_by_broker(self, frame) -> None:
        # The queue was deleted or moved its leader: a waiting get() subscribes again.
        with self.cond:
            for queue, tag in list(self.consumers.items()):
                if tag == frame.method.consumer_tag:
                    del self.consumers[queue]
            self.cond.notify_all()

    def _run(self) -> None:
        try:
            # Until the connection is closed: close() asks this thread to close it, as it owns it.
            while self.conn.is_open:
                self.conn.process_data_events(time_limit=IO_SLICE)
        except Exception as exc:  # the broker went away: every waiting call learns it below
            self._lost(_describe(exc))
            return
        self._lost("closed")

    def _lost(self, reason: str) -> None:
        with self.cond:
            if not self.alive:
                return
            self.alive, self.lost_reason = False, reason
            self.consumers.clear()
            # Deliveries not yet taken went back to the queue with the connection: they cannot be acked.
            self.inbox.clear()
            pending, self._pending = self._pending, set()
            self.cond.notify_all()
        if not self.closing:
            log.warning("RabbitMQ connection lost: %s", reason)
        for future in pending:
            if not future.done():
                future.set_exception(BackendUnavailable("queue", f"RabbitMQ connection lost: {reason}"))

    def call(self, action: Callable[[Any], T], timeout: float = CALL_TIMEOUT) -> T:
        """Run `action(channel)` on the I/O thread and return its result (or raise its error)."""
        future: Future = Future()

        def run() -> None:
            if future.done() or not future.set_running_or_notify_cancel():
                return  # failed already, when the connection was lost
            try:
                if not self.channel.is_open:  # closed by the broker after a protocol error
                    self.reopen()
                future.set_result(action(self.channel))
            except BaseException as exc:
                future.set_exception(exc)

        with self.cond:
            if not self.alive:
                raise BackendUnavailable("queue", f"RabbitMQ connection lost: {self.lost_reason}")
            self._pending.add(future)
        try:
            self.conn.add_callback_threadsafe(run)
            return future.result(timeout)
        except pika.exceptions.ConnectionWrongStateError as exc:
            raise BackendUnavailable("queue", f"RabbitMQ connection closed: {exc}") from None
        except FutureTimeout:
            self.close()
            raise BackendUnavailable("queue", f"RabbitMQ did not answer within {timeout:.0f} s") from None
        finally:
            with self.cond:
                self._pending.discard(future)

    def close(self) -> None:
        self.closing = True

        def shut() -> None:
            try:
                self.conn.close()  # the broker requeues whatever this connection held without an ack
            except Exception:  # already broken: nothing to give back
                pass

        if self.alive:
            try:
                self.conn.add_callback_threadsafe(shut)
            except Exception:
                pass
        if threading.current_thread() is not self.thread:
            self.thread.join(10)
        self._lost("closed")


class RabbitQueue:
    def __init__(self, url: str, max_attempts: int = 3):
        self.url = url
        self.max_attempts = max_attempts
        self._params = _parameters(url)
        self._lock = threading.RLock()
        self._link: _Link | None = None
        self._warned: set[str] = set()

    # -- connection ---------------------------------------------------------------------------

    def _current(self) -> _Link:
        """The live link, connecting first when there is none (once: callers back off themselves)."""
        with self._lock:
            link = self._link
            if link is not None and link.pid != os.getpid():
                # A forked child (a web server's worker): the parent's socket and I/O thread are not ours.
                link = self._link = None
            if link is not None and link.alive:
                return link
            if link is not None:
                log.info("RabbitMQ connection lost; reconnecting once")
            self._link = None
            try:
                self._link = _Link(self._params)
            except (pika.exceptions.AMQPError, OSError) as exc:
                raise BackendUnavailable("queue", f"cannot connect to RabbitMQ: {_describe(exc)}") from None
            return self._link

    def _call(self, action: Callable[[_Link, Any], T]) -> T:
        # Safe to repeat for publish, declare and reads: a link lost in the middle is replaced once.
        link = self._current()
        try:
            return link.call(lambda channel: action(link, channel))
        except CONNECTION_ERRORS:
            link.close()
            link = self._current()
            return link.call(lambda channel: action(link, channel))

    def _ready(self, link: _Link, channel, queue: str):
        """On the I/O thread: `queue`, its dead-letter queue and their routing are declared."""
        if queue not in link.declared:
            self._declare(link, channel, queue)
            link.declared.add(queue)
        return link.channel

    def _declare(self, link: _Link, channel, queue: str) -> None:
        dead = f"{queue}.dead"
        channel.exchange_declare(DEAD_EXCHANGE, "direct", durable=True)
        channel.queue_declare(dead, durable=True)
        channel.queue_bind(dead, DEAD_EXCHANGE, routing_key=queue)
        arguments = {
            "x-queue-type": "quorum",
            # The broker dead-letters a message returned more than this many times, so it is delivered
            # at most max_attempts + 1 times; a return is a nack or a lost consumer. The last delivery
            # only lets a consumer record that the workers died on it (see the module's docstring).
            "x-delivery-limit": self.max_attempts,
            "x-dead-letter-exchange": DEAD_EXCHANGE,
            # Keep the message in the queue until the dead-letter queue confirms it.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",  # required by at-least-once dead-lettering
        }
        try:
            channel.queue_declare(queue, durable=True, arguments=arguments)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 406:
                raise
            # Declared by an older release (another delivery limit): use it as it is rather than fail.
            link.reopen()
            link.channel.queue_declare(queue, passive=True)
            if queue not in self._warned:
                self._warned.add(queue)
                log.warning("queue %r exists with other arguments (%s); using it as it is: a message whose "
                            "workers keep dying may be dead-lettered without the reason on its photo. "
                            "Delete the queue while it is empty to have it declared anew.", queue, exc.reply_text)

    # -- Queue interface ----------------------------------------------------------------------

    def publish(self, queue: str, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        pause = 0.05
        for _ in range(NACK_RETRIES):
            try:
                self._call(lambda link, channel: self._publish(self._ready(link, channel, queue), queue, data))
                return
            except pika.exceptions.NackError:
                # A quorum queue refuses messages while it has no leader (just declared, or its broker
                # just restarted): nothing was stored, so sending it again is safe.
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
        raise BackendUnavailable("queue", f"RabbitMQ kept refusing messages for {queue!r} (nack)")

    def get(self, queue: str, timeout: float = 1.0) -> Delivery | None:
        deadline = time.monotonic() + timeout
        try:
            return self._get(self._current(), queue, deadline)
        except CONNECTION_ERRORS:
            # Nothing is lost with the old connection (the broker requeues what it held): once more.
            return self._get(self._current(), queue, deadline)

    def _get(self, link: _Link, queue: str, deadline: float) -> Delivery | None:
        while True:
            with link.cond:
                inbox = link.inbox.setdefault(queue, deque())
                if inbox:
                    return inbox.popleft()
                if not link.alive:
                    raise BackendUnavailable("queue", f"RabbitMQ connection lost: {link.lost_reason}")
                subscribed = queue in link.consumers
            if not subscribed:
                link.call(lambda channel: self._subscribe(link, channel, queue))
            with link.cond:
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    link.cond.wait_for(
                        lambda box=inbox: box or not link.alive or queue not in link.consumers, timeout=remaining)
                elif not inbox:
                    # The consumer stays: a message arriving meanwhile waits in the inbox for the next get().
                    return None

    def ack(self, delivery: Delivery) -> None:
        link, channel, tag = delivery.tag
        if self._still_open(link, channel, delivery):
            self._settle(link, delivery, lambda _: channel.basic_ack(tag))

    def nack(self, delivery: Delivery, error: str) -> None:
        link, channel, tag = delivery.tag
        if not self._still_open(link, channel, delivery):
            return
        if delivery.attempt >= self.max_attempts:
            def dead_letter(_) -> None:
                # Dead letter first, confirmed; only then drop the original: never zero copies.
                self._publish_dead(channel, delivery.queue, delivery.body, error, delivery.attempt)
                channel.basic_ack(tag)

            self._settle(link, delivery, dead_letter)
        else:
            self._settle(link, delivery, lambda _: channel.basic_nack(tag, requeue=True))

    def depth(self, queue: str) -> int:
        """Messages ready in the queue. Messages in flight are not counted: AMQP does not say."""
        return self._call(lambda link, channel: self._ready(link, channel, queue)
                          .queue_declare(queue, passive=True).method.message_count)

    def dead_count(self, queue: str) -> int:
        return self._call(lambda link, channel: self._ready(link, channel, queue)
                          .queue_declare(f"{queue}.dead", passive=True).method.message_count)

    def dead_letters(self, queue: str, limit: int = 50) -> list[DeadLetter]:
        def peek_all(link: _Link, channel) -> list[DeadLetter]:
            self._ready(link, channel, queue)
            # A separate channel: closing it gives every peeked message back, in its place, and
            # nothing the main channel holds is touched.
            peek = link.conn.channel()
            try:
                letters = []
                while len(letters) < limit:
                    method, properties, body = peek.basic_get(f"{queue}.dead", auto_ack=False)
                    if method is None:
                        break
                    letters.append(self._dead_letter(queue, properties, body))
                return letters
            finally:
                peek.close()

        return self._call(peek_all)

    def retry_dead(self, queue: str) -> int:
        return len(self._drain_dead(queue, republish=True))

    def take_dead(self, queue: str) -> list[DeadLetter]:
        return self._drain_dead(queue, republish=False)

    def _drain_dead(self, queue: str, republish: bool) -> list[DeadLetter]:
        def drain(link: _Link, channel) -> list[DeadLetter]:
            self._ready(link, channel, queue)
            dead = f"{queue}.dead"
            # Bounded by the count at the start, so messages that die again meanwhile are not looped.
            waiting = channel.queue_declare(dead, passive=True).method.message_count
            mover = link.conn.channel()
            mover.confirm_delivery()
            taken = []
            try:
                for _ in range(waiting):
                    method, properties, body = mover.basic_get(dead, auto_ack=False)
                    if method is None:
                        break
                    if republish:
                        self._publish(mover, queue, body)  # a fresh message: its delivery count starts at 0
                    mover.basic_ack(method.delivery_tag)
                    taken.append(self._dead_letter(queue, properties, body))
            finally:
                mover.close()
            return taken

        # Not repeated on a lost connection: what was moved before it is moved, the rest stays dead.
        link = self._current()
        return link.call(lambda channel: drain(link, channel))

    def check(self) -> None:
        self._call(lambda link, channel: None)

    def close(self) -> None:
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            link.close()  # the broker requeues whatever this connection held without an ack

    # -- helpers ------------------------------------------------------------------------------

    def _subscribe(self, link: _Link, channel, queue: str) -> None:
        """On the I/O thread: a consumer that takes one message, then cancels itself."""
        with link.cond:
            if queue in link.consumers:
                return
        self._ready(link, channel, queue)
        channel = link.channel

        def on_message(ch, method, properties, body) -> None:
            count = (properties.headers or {}).get("x-delivery-count", 0)
            delivery = Delivery(queue=queue, body=json.loads(body), attempt=count + 1,
                                tag=(link, ch, method.delivery_tag))
            # In the inbox before the consumer is gone: a waiting get() must find the message, not
            # a missing consumer it would replace (and so take a second message).
            with link.cond:
                tag = link.consumers.pop(queue, None)
                link.inbox.setdefault(queue, deque()).append(delivery)
                link.cond.notify_all()
            if tag is not None:
                # Runs before any ack (the I/O thread does one thing at a time): with prefetch 1,
                # the broker pushes this consumer nothing more.
                ch.basic_cancel(tag)

        tag = channel.basic_consume(queue, on_message, auto_ack=False)
        with link.cond:
            link.consumers[queue] = tag

    def _settle(self, link: _Link, delivery: Delivery, action: Callable[[Any], None]) -> None:
        try:
            link.call(action)
        except CONNECTION_ERRORS:
            # The broker takes the message back with the connection and counts the attempt.
            log.warning("connection of a delivery from %r was lost: the message will be redelivered", delivery.queue)

    def _still_open(self, link: _Link, channel, delivery: Delivery) -> bool:
        if link.alive and link is self._link and channel.is_open:
            return True
        # The broker already took the message back when the channel went, and counted the attempt.
        log.warning("channel of a delivery from %r is gone: the message will be redelivered", delivery.queue)
        return False

    def _publish(self, channel, queue: str, data: bytes, headers: dict | None = None) -> None:
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent, content_type="application/json", headers=headers
        )
        # mandatory: an unroutable message raises UnroutableError instead of vanishing.
        channel.basic_publish("", queue, data, properties=properties, mandatory=True)

    def _publish_dead(self, channel, queue: str, body: dict, error: str, attempts: int) -> None:
        data = json.dumps(body).encode()
        self._publish(channel, f"{queue}.dead", data, headers={"error": error, "attempts": attempts})

    def _dead_letter(self, queue: str, properties, body: bytes) -> DeadLetter:
        headers = properties.headers or {}
        if "error" in headers:
            return DeadLetter(queue, json.loads(body), _text(headers["error"]), int(headers["attempts"]))
        # Dead-lettered by the broker itself: see x-death for why.
        death = (headers.get("x-death") or [{}])[0]
        reason = _text(death.get("reason", "unknown"))
        if reason == "delivery_limit":
            attempts = self.max_attempts + 1
            error = f"worker died {attempts} times (delivery limit reached: crashed or disconnected)"
        else:
            attempts = self.max_attempts
            error = f"dead-lettered by RabbitMQ: {reason}"
        return DeadLetter(queue, json.loads(body), error, attempts)


def _parameters(url: str) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.client_properties = {"connection_name": "mosaic"}
    query = parse_qs(urlparse(url).query)
    if "heartbeat" not in query:
        # The I/O thread answers heartbeats while the worker is busy, so a dead peer is noticed
        # within two intervals instead of never.
        params.heartbeat = HEARTBEAT_SECONDS
    if "connection_attempts" not in query:
        params.connection_attempts = 1  # callers retry with their own backoff
    if "socket_timeout" not in query:
        params.socket_timeout = 5
    if "stack_timeout" not in query:
        params.stack_timeout = 10  # a broker still booting must not hang a status request for long
    if "blocked_connection_timeout" not in query:
        params.blocked_connection_timeout = 30
    return params


def _describe(error: BaseException) -> str:
    # pika's connection errors often carry their reason only in args (str() is empty).
    return f"{type(error).__name__}: {str(error) or repr(error.args)[:300]}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
