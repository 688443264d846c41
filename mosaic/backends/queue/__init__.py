"""Work queues: a durable embedded queue (SQLite file) and RabbitMQ, behind one interface.

Semantics shared by both: messages are JSON objects and persistent; a consumer takes one message
at a time and acknowledges it only after its result is committed; a consumer that dies before
acknowledging gets its message redelivered; a message that fails `max_attempts` times moves to
the queue's dead-letter list with the last error. A message whose every attempt was lost with its
consumer (it never acked nor nacked) is handed out once more with `attempt == max_attempts + 1`, so
that the consumer can record why (see mosaic/consumer.py); lost once more, it is dead-lettered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlparse

# The work queues, named once: photos to harvest, harvested photos to index, imports to run, photos to purge.
HARVEST, PROCESS, IMPORTS, PURGE = "harvest", "process", "imports", "purge"
QUEUES = (HARVEST, PROCESS, IMPORTS, PURGE)


@dataclass
class Delivery:
    queue: str
    body: dict[str, Any]
    attempt: int  # 1 on first delivery
    tag: Any = field(repr=False, default=None)  # backend's handle for ack/nack


@dataclass
class DeadLetter:
    queue: str
    body: dict[str, Any]
    error: str
    attempts: int


class Queue(Protocol):
    def publish(self, queue: str, body: dict[str, Any]) -> None: ...

    def get(self, queue: str, timeout: float = 1.0) -> Delivery | None:
        """Wait up to `timeout` seconds for one message; None when there is none."""

    def ack(self, delivery: Delivery) -> None: ...

    def nack(self, delivery: Delivery, error: str) -> None:
        """Give the message back for another attempt, or dead-letter it when attempts are spent."""

    def depth(self, queue: str) -> int:
        """Messages waiting or in flight (not dead)."""

    def dead_count(self, queue: str) -> int: ...

    def dead_letters(self, queue: str, limit: int = 50) -> list[DeadLetter]: ...

    def retry_dead(self, queue: str) -> int:
        """Move every dead letter of `queue` back to it; returns how many."""

    def take_dead(self, queue: str) -> list[DeadLetter]:
        """Remove every dead letter of `queue` and return them (the caller sends their work anew)."""

    def check(self) -> None:
        """Raise when the backend cannot be reached."""

    def close(self) -> None: ...


def open_queue(url: str, max_attempts: int = 3, lease_seconds: float = 300.0) -> Queue:
    scheme = urlparse(url).scheme
    if scheme == "local":
        from mosaic.backends.queue.local import LocalQueue

        return LocalQueue(urlparse(url).path, max_attempts=max_attempts, lease_seconds=lease_seconds)
    if scheme in ("amqp", "amqps"):
        from mosaic.backends.queue.rabbitmq import RabbitQueue

        return RabbitQueue(url, max_attempts=max_attempts)
    raise ValueError(f"unsupported queue URL {url!r}: use local:///path or amqp://host")
