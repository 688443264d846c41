"""Find images that need work for the current pipeline and put them on the `harvest` queue."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select, update

from mosaic.backends import Backends
from mosaic.catalog.features import DONE_STATES, forget_features, images_with_failed_steps, stale_image_ids
from mosaic.catalog.images import now
from mosaic.catalog.schema import images

log = logging.getLogger(__name__)


def pending(backends: Backends, limit: int) -> list[str]:
    query = select(images.c.id).where(images.c.state == "stored").order_by(images.c.created_at)
    with backends.catalog.connect() as connection:
        return list(connection.execute(query.limit(limit)).scalars())


def dispatch(backends: Backends, limit: int = 500) -> int:
    """Publish first, then mark queued: a crash in between sends an image twice, never zero times."""
    ids = pending(backends, limit)
    for image_id in ids:
        backends.queue.publish("harvest", {"image_id": image_id})
        with backends.catalog.begin() as connection:
            connection.execute(
                update(images)
                # A worker may already have finished it: never move a done image back to queued.
                .where(images.c.id == image_id, images.c.state == "stored")
                .values(state="queued", error=None, updated_at=now())
            )
    return len(ids)


def reprocess(backends: Backends, image_ids: list[str] | None = None, stale: bool = False) -> int:
    """Mark images as stored again, so the dispatcher sends them anew.

    stale: the images with a step that is missing, made by an older version, or failed; the workers
    then re-run only those steps. Otherwise the given images (or all) run every step again."""
    with backends.catalog.begin() as connection:
        if stale:
            image_ids = stale_image_ids(connection) + (image_ids or [])
            if not image_ids:
                return 0
        else:
            forget_features(connection, image_ids)
        statement = update(images).values(state="stored", error=None, updated_at=now())
        if image_ids:
            statement = statement.where(images.c.id.in_(image_ids))
        return connection.execute(statement).rowcount


def retry_failed(backends: Backends) -> int:
    """Failed images go back to `stored`, and so do images with a failed step (only that step runs
    again); dead letters of both queues go back to their queue."""
    with backends.catalog.begin() as connection:
        count = connection.execute(
            update(images).where(images.c.state == "failed").values(state="stored", error=None, updated_at=now())
        ).rowcount
        partial = images_with_failed_steps(connection)
        if partial:
            count += connection.execute(
                update(images).where(images.c.id.in_(partial), images.c.state.in_(DONE_STATES))
                .values(state="stored", updated_at=now())
            ).rowcount
    for queue in ("harvest", "process"):
        backends.queue.retry_dead(queue)
    return count


def run_dispatcher(backends: Backends, stop: threading.Event) -> None:
    interval = backends.settings.dispatch_interval
    while not stop.is_set():
        try:
            sent = dispatch(backends)
            if sent:
                log.info("dispatched %d image(s) to harvest", sent)
        except Exception:  # a backend hiccup must not end the dispatcher; it retries next round
            log.exception("dispatch round failed")
            stop.wait(5 * interval)
        stop.wait(interval)
