"""The consume loop every queue worker runs: one message at a time, ack only after commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mosaic.backends import Backends

log = logging.getLogger(__name__)


class Permanent(Exception):
    """The input itself is bad (say, not an image): retrying cannot help, so the message is not retried."""


Handler = Callable[[Backends, dict], None]
OnGiveUp = Callable[[Backends, dict, str], None]


def consume(
    backends: Backends, queue_name: str, handle: Handler, on_give_up: OnGiveUp, stop: threading.Event,
    idle_timeout: float = 1.0,
) -> None:
    """Run `handle(body)` for each message until `stop` is set.

    `handle` commits its result before returning; only then is the message acknowledged. A
    `Permanent` error or a last failed attempt calls `on_give_up` (to record the reason on the
    image) and the message is acknowledged or dead-lettered; other errors are retried.
    """
    queue = backends.queue
    while not stop.is_set():
        delivery = queue.get(queue_name, timeout=idle_timeout)
        if delivery is None:
            continue
        try:
            handle(backends, delivery.body)
        except Permanent as exc:
            on_give_up(backends, delivery.body, str(exc))
            queue.ack(delivery)
        except Exception as exc:  # any failure is retried, then dead-lettered with its reason
            error = f"{type(exc).__name__}: {exc}"
            log.exception("%s message %s failed (attempt %d)", queue_name, delivery.body, delivery.attempt)
            if delivery.attempt >= backends.settings.queue_max_attempts:
                on_give_up(backends, delivery.body, error)
            queue.nack(delivery, error)
        else:
            queue.ack(delivery)


def consume_until_interrupted(backends: Backends, queue_name: str, handle: Handler, on_give_up: OnGiveUp) -> None:
    """`consume` for a worker command: Ctrl-C (or the runner's SIGINT) ends it between messages."""
    try:
        consume(backends, queue_name, handle, on_give_up, threading.Event())
    except KeyboardInterrupt:
        log.info("%s worker stopped", queue_name)
