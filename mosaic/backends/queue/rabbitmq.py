"""The RabbitMQ work queue: durable quorum queues, persistent confirmed messages, one message at a time.

Each work queue `q` is a quorum queue whose broker-side delivery limit dead-letters a message
that was handed out `max_attempts` times without an ack (workers that crashed or lost their
connection), through the `mosaic.dead` exchange into the classic durable queue `q.dead`.
A worker's own final failure is dead-lettered by us (`nack`), so the dead letter carries the error.

All instances that share a queue must use the same `max_attempts`: it is part of the queue's
declaration, and the broker refuses a redeclaration with other arguments.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import pika
import pika.exceptions

from mosaic.backends.queue import DeadLetter, Delivery

log = logging.getLogger(__name__)

T = TypeVar("T")

DEAD_EXCHANGE = "mosaic.dead"
MAX_POLL_SECONDS = 0.25

# Errors after which a fresh connection may succeed; protocol errors (ChannelClosedByBroker) are not.
CONNECTION_ERRORS = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.ConnectionWrongStateError,
    pika.exceptions.ChannelWrongStateError,
    pika.exceptions.StreamLostError,
)


class RabbitQueue:
    def __init__(self, url: str, max_attempts: int = 3):
        self.url = url
        self.max_attempts = max_attempts
        self._params = _parameters(url)
        self._lock = threading.RLock()  # a pika connection is not thread-safe
        self._conn: pika.BlockingConnection | None = None
        self._channel = None
        self._declared: set[str] = set()

    # -- connection ---------------------------------------------------------------------------

    def _chan(self):
        if self._conn is None or not self._conn.is_open:
            self._connect()
        elif self._channel is None or not self._channel.is_open:
            self._channel = self._new_channel()
        return self._channel

    def _connect(self) -> None:
        self._drop()
        self._conn = pika.BlockingConnection(self._params)
        self._channel = self._new_channel()

    def _new_channel(self):
        channel = self._conn.channel()
        channel.confirm_delivery()  # basic_publish returns once the broker has the message on disk
        # get() uses basic_get, which ignores prefetch; this keeps any future consumer from hoarding.
        channel.basic_qos(prefetch_count=1)
        return channel

    def _drop(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        self._declared.clear()
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:  # already broken: nothing to give back
                pass

    def _ready(self, queue: str):
        """The channel, with `queue`, its dead-letter queue and their routing declared."""
        channel = self._chan()
        if queue not in self._declared:
            self._declare(channel, queue)
            self._declared.add(queue)
        return channel

    def _declare(self, channel, queue: str) -> None:
        dead = f"{queue}.dead"
        channel.exchange_declare(DEAD_EXCHANGE, "direct", durable=True)
        channel.queue_declare(dead, durable=True)
        channel.queue_bind(dead, DEAD_EXCHANGE, routing_key=queue)
        arguments = {
            "x-queue-type": "quorum",
            # The broker dead-letters once a message was returned more than this many times, so
            # it is delivered at most max_attempts times; a return is a nack or a lost consumer.
            "x-delivery-limit": max(self.max_attempts - 1, 0),
            "x-dead-letter-exchange": DEAD_EXCHANGE,
            # Keep the message in the queue until the dead-letter queue confirms it.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",  # required by at-least-once dead-lettering
        }
        channel.queue_declare(queue, durable=True, arguments=arguments)

    # -- Queue interface ----------------------------------------------------------------------

    def publish(self, queue: str, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self._reconnecting_once(lambda: self._publish(self._ready(queue), queue, data))

    def get(self, queue: str, timeout: float = 1.0) -> Delivery | None:
        # basic_get polling rather than a consumer: a consumer is pushed its next message as soon
        # as it acks, so a worker that stops after an ack would still hold one message it never
        # asked for. Polling takes exactly the one message asked for.
        deadline = time.monotonic() + timeout
        pause = 0.02
        while True:
            delivery = self._get_one(queue)
            remaining = deadline - time.monotonic()
            if delivery is not None or remaining <= 0:
                return delivery
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, MAX_POLL_SECONDS)

    def ack(self, delivery: Delivery) -> None:
        channel, tag = delivery.tag
        with self._lock:
            if self._still_open(channel, delivery):
                channel.basic_ack(tag)

    def nack(self, delivery: Delivery, error: str) -> None:
        channel, tag = delivery.tag
        with self._lock:
            if not self._still_open(channel, delivery):
                return
            if delivery.attempt >= self.max_attempts:
                # Dead letter first, confirmed; only then drop the original: never zero copies.
                self._publish_dead(channel, delivery.queue, delivery.body, error, delivery.attempt)
                channel.basic_ack(tag)
            else:
                channel.basic_nack(tag, requeue=True)

    def depth(self, queue: str) -> int:
        """Messages ready in the queue. Messages in flight are not counted: AMQP does not say."""
        with self._lock:
            channel = self._ready(queue)
            return channel.queue_declare(queue, passive=True).method.message_count

    def dead_count(self, queue: str) -> int:
        with self._lock:
            channel = self._ready(queue)
            return channel.queue_declare(f"{queue}.dead", passive=True).method.message_count

    def dead_letters(self, queue: str, limit: int = 50) -> list[DeadLetter]:
        with self._lock:
            self._ready(queue)
            # A separate channel: closing it gives every peeked message back, in its place, and
            # nothing the main channel holds is touched.
            peek = self._conn.channel()
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

    def retry_dead(self, queue: str) -> int:
        with self._lock:
            channel = self._ready(queue)
            dead = f"{queue}.dead"
            # Bounded by the count at the start, so messages that die again meanwhile are not looped.
            waiting = channel.queue_declare(dead, passive=True).method.message_count
            mover = self._conn.channel()
            mover.confirm_delivery()
            moved = 0
            try:
                for _ in range(waiting):
                    method, _properties, body = mover.basic_get(dead, auto_ack=False)
                    if method is None:
                        break
                    self._publish(mover, queue, body)  # a fresh message: its delivery count starts at 0
                    mover.basic_ack(method.delivery_tag)
                    moved += 1
            finally:
                mover.close()
            return moved

    def check(self) -> None:
        with self._lock:
            self._chan()
            self._conn.process_data_events(time_limit=0)  # raises when the broker has gone away

    def close(self) -> None:
        with self._lock:
            self._drop()  # the broker requeues whatever this connection held without an ack

    # -- helpers ------------------------------------------------------------------------------

    def _reconnecting_once(self, action: Callable[[], T]) -> T:
        # Safe for publish and basic_get only: nothing is lost with the old channel, since the
        # broker requeues what it held, and a delivery from it just cannot be acked any more.
        with self._lock:
            try:
                return action()
            except CONNECTION_ERRORS:
                log.info("RabbitMQ connection lost; reconnecting once")
                self._drop()
                return action()

    def _get_one(self, queue: str) -> Delivery | None:
        def take():
            channel = self._ready(queue)
            return channel, channel.basic_get(queue, auto_ack=False)

        channel, (method, properties, body) = self._reconnecting_once(take)
        if method is None:
            return None
        count = (properties.headers or {}).get("x-delivery-count", 0)
        tag = (channel, method.delivery_tag)
        return Delivery(queue=queue, body=json.loads(body), attempt=count + 1, tag=tag)

    def _still_open(self, channel, delivery: Delivery) -> bool:
        if channel.is_open and channel is self._channel:
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
            error = f"worker died {self.max_attempts} times (delivery limit reached: crashed or disconnected)"
        else:
            error = f"dead-lettered by RabbitMQ: {reason}"
        return DeadLetter(queue, json.loads(body), error, self.max_attempts)


def _parameters(url: str) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.client_properties = {"connection_name": "mosaic"}
    if "heartbeat" not in parse_qs(urlparse(url).query):
        # A BlockingConnection answers heartbeats only inside pika calls, and a worker spends
        # minutes in its own code between get() and ack(): with heartbeats on, the broker would
        # drop it mid-task. A worker that dies closes its socket, which the broker sees anyway.
        params.heartbeat = 0
    return params


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
