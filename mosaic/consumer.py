"""The consume loop every queue worker runs: one message at a time, ack only after commit.

A backend outage is never the message's fault: while the catalog, the object store, the vectors
or the broker cannot be reached, the worker keeps the message it holds and tries again with
backoff (the message's attempts are not spent), and it waits for the queue in place rather than
exiting, so its models stay loaded.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from mosaic.backends import Backends, unavailable
from mosaic.backends.queue import Delivery
from mosaic.logs import log_context

log = logging.getLogger(__name__)

T = TypeVar("T")

BACKOFF_FIRST = 0.5
BACKOFF_CAP = 2.0  # a refused connection costs nothing: come back soon after the backend does


class Permanent(Exception):
    """The input itself is bad (say, not an image): retrying cannot help, so the message is not retried."""


Handler = Callable[[Backends, dict], None]
OnGiveUp = Callable[[Backends, dict, str], None]


class Backoff:
    """Growing, jittered pauses while a backend is down; `wait` returns False once `stop` is set."""

    def __init__(self, first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP):
        self.first, self.cap = first, cap
        self.delay = first
        self.down_since: float | None = None
        self.backend: str | None = None

    def wait(self, stop: threading.Event, backend: str, error: BaseException) -> bool:
        if self.down_since is None:
            self.down_since, self.backend = time.monotonic(), backend
            log.warning("%s unavailable (%s: %s); waiting for it, retrying with backoff",
                        backend, type(error).__name__, str(error)[:300])
        else:
            log.debug("%s still unavailable: %s", backend, error)
        # Jitter: the workers hit by one outage must not all come back at the same instant.
        pause = self.delay * random.uniform(0.75, 1.25)
        self.delay = min(self.delay * 2, self.cap)
        return not stop.wait(pause)

    def recovered(self) -> None:
        if self.down_since is not None:
            log.warning("%s is back after %.1f s", self.backend, time.monotonic() - self.down_since)
        self.delay, self.down_since, self.backend = self.first, None, None


def retry_while_unavailable(action: Callable[[], T], stop: threading.Event, backoff: Backoff | None = None) -> T | None:
    """`action()`, tried again with backoff for as long as it fails on a backend outage; other errors
    raise. None when `stop` is set while waiting."""
    backoff = backoff or Backoff()
    while True:  # tried at least once: a stop only cuts the waiting short
        try:
            result = action()
        except Exception as exc:
            backend = unavailable(exc)
            if backend is None:
                raise
            if not backoff.wait(stop, backend, exc):
                return None
            continue
        backoff.recovered()
        return result


def consume(
    backends: Backends, queue_name: str, handle: Handler, on_give_up: OnGiveUp, stop: threading.Event,
    idle_timeout: float = 1.0, backoff: Backoff | None = None,
) -> None:
    """Run `handle(body)` for each message until `stop` is set.

    `handle` commits its result before returning; only then is the message acknowledged. A
    `Permanent` error or a last failed attempt calls `on_give_up` (to record the reason on the
    image) and the message is acknowledged or dead-lettered; other errors are retried. A message
    whose every attempt died with its worker comes back once more, flagged (attempt past the
    limit): `on_give_up` records that on the image and the message is dead-lettered.
    """
    queue = backends.queue
    backoff = backoff or Backoff()
    while not stop.is_set():
        try:
            delivery = queue.get(queue_name, timeout=idle_timeout)
        except Exception as exc:
            # The queue itself: whatever broke, a worker that exits reloads its models on restart
            # and comes back to the same broken broker; waiting here costs nothing.
            backoff.wait(stop, unavailable(exc) or "queue", exc)
            continue
        backoff.recovered()
        if delivery is not None:
            body = delivery.body if isinstance(delivery.body, dict) else {}
            with log_context(photo_id=body.get("image_id")):  # every line about this photo names it
                _work(backends, queue_name, delivery, handle, on_give_up, stop, backoff)


def _work(backends: Backends, queue_name: str, delivery: Delivery, handle: Handler, on_give_up: OnGiveUp,
          stop: threading.Event, backoff: Backoff) -> None:
    # Each stage is retried on its own while a backend is down: the handler until it has an outcome,
    # then the give-up (never the handler again), then the ack or nack. Stopping mid-outage leaves
    # the message unacknowledged: it goes back when the queue closes.
    verdict = retry_while_unavailable(lambda: _outcome(backends, queue_name, delivery, handle), stop, backoff)
    if verdict is None:
        return
    reason, settle = verdict
    if reason is not None:
        gave_up = retry_while_unavailable(lambda: on_give_up(backends, delivery.body, reason) or True, stop, backoff)
        if gave_up is None:
            return
    retry_while_unavailable(settle, stop, backoff)


def _outcome(backends: Backends, queue_name: str, delivery: Delivery,
             handle: Handler) -> tuple[str | None, Callable[[], None]]:
    """Run the message once: (the reason to give up with, or None; how to settle the message).
    Outage errors raise, for the caller to wait and run it again."""
    queue = backends.queue
    max_attempts = backends.settings.queue_max_attempts
    if delivery.attempt > max_attempts:
        reason = died_reason(delivery)
        log.error("%s message %s: %s; giving up", queue_name, delivery.body, reason)
        return reason, lambda: queue.nack(delivery, reason)
    try:
        handle(backends, delivery.body)
    except Permanent as exc:
        return str(exc), lambda: queue.ack(delivery)
    except Exception as exc:  # any failure is retried, then dead-lettered with its reason
        if unavailable(exc):
            raise
        error = f"{type(exc).__name__}: {exc}"
        log.exception("%s message %s failed (attempt %d)", queue_name, delivery.body, delivery.attempt)
        return (error if delivery.attempt >= max_attempts else None), lambda: queue.nack(delivery, error)
    return None, lambda: queue.ack(delivery)


def died_reason(delivery: Delivery) -> str:
    subject = "photo" if "image_id" in delivery.body else ("import" if "import_id" in delivery.body else "message")
    return f"worker died {delivery.attempt - 1} times on this {subject} (crashed, killed or disconnected)"


def consume_until_interrupted(backends: Backends, queue_name: str, handle: Handler, on_give_up: OnGiveUp,
                              stop: threading.Event | None = None,
                              prepare: Callable[[], object] | None = None) -> None:
    """`consume` for a worker command. SIGTERM (the runner's stop, `docker stop`) lets the message in hand
    finish and be acknowledged, then ends the loop; a second SIGTERM, or Ctrl-C, ends it at once (the
    message is then redelivered).

    `prepare` (loading models, registering versions) runs first, once; a backend down at start is waited
    for rather than a reason to exit and load everything again. An interrupt while preparing ends at once."""
    stop = stop or threading.Event()
    if prepare is not None:
        try:
            retry_while_unavailable(prepare, stop)
        except KeyboardInterrupt:
            return
    previous = None
    if threading.current_thread() is threading.main_thread():
        def finish_then_stop(*_):
            if stop.is_set():
                raise KeyboardInterrupt
            stop.set()

        previous = signal.signal(signal.SIGTERM, finish_then_stop)
    try:
        consume(backends, queue_name, handle, on_give_up, stop)
        log.info("%s worker stopped", queue_name)
    except KeyboardInterrupt:
        log.info("%s worker interrupted", queue_name)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
