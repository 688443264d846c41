"""Find images that need work for the current pipeline and put them on the `harvest` queue.

Each image in a waiting state has one message: `queued` on the `harvest` queue, `harvested` on
`process`. Reprocessing leaves a queued image alone (its message is already there), and the
reconciler sends a message anew only for a photo that has waited longer than the lease while its
queue held nothing, i.e. whose message an outage or a crash lost.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, true, update

from mosaic.backends import Backends, unavailable
from mosaic.backends.queue import HARVEST, IMPORTS, PROCESS, PURGE
from mosaic.catalog.features import DONE_STATES, forget_features, images_with_failed_steps, stale_image_ids
from mosaic.catalog.images import now
from mosaic.catalog.rows import chunks
from mosaic.catalog.schema import images, imports
from mosaic.consumer import Backoff

log = logging.getLogger(__name__)

# The state a photo waits in for each queue's worker.
MAX_IMPORT_LETTERS = 10_000  # import runs are few: their dead letters are read whole
WAITING_ON = {"queued": HARVEST, "harvested": PROCESS}
RECONCILE_EVERY_CAP = 30.0
PURGE_BATCH = 100  # photos per purge message, as gather/trash.py sends them


def pending(backends: Backends, limit: int) -> list[str]:
    # A photo marked for purging is not started: its purge would otherwise wait for the pipeline (gather/trash.py).
    query = (select(images.c.id).where(images.c.state == "stored", images.c.purge_requested_at.is_(None))
             .order_by(images.c.created_at))
    with backends.catalog.connect() as connection:
        return list(connection.execute(query.limit(limit)).scalars())


def dispatch(backends: Backends, limit: int = 500) -> int:
    """Publish first, then mark queued: a crash in between sends an image twice, never zero times."""
    ids = pending(backends, limit)
    for image_id in ids:
        backends.queue.publish(HARVEST, {"image_id": image_id})
        with backends.catalog.begin() as connection:
            connection.execute(
                update(images)
                # A worker may already have finished it: never move a done image back to queued.
                .where(images.c.id == image_id, images.c.state == "stored")
                .values(state="queued", error=None, updated_at=now())
            )
    return len(ids)


def reprocess(backends: Backends, image_ids: list[str] | None = None, stale: bool = False) -> int:
    """Mark images as stored again, so the dispatcher sends them anew; returns how many will run again.

    stale: the images with a step that is missing, made by an older version, or failed; the workers
    then re-run only those steps. Otherwise the given images (or all) run every step again.
    A `queued` image keeps its state: its message is waiting already, and its worker decides what to
    run when it takes it, so sending it again would only queue the same work twice."""
    with backends.catalog.begin() as connection:
        if stale:
            image_ids = stale_image_ids(connection) + (image_ids or [])
            if not image_ids:
                return 0
        else:
            forget_features(connection, image_ids)
        chosen = images.c.id.in_(image_ids) if image_ids else true()
        moved = connection.execute(
            update(images).where(chosen, images.c.state != "queued")
            .values(state="stored", error=None, updated_at=now())
        ).rowcount
        waiting = connection.execute(
            select(func.count()).select_from(images).where(chosen, images.c.state == "queued")
        ).scalar()
        return moved + waiting


def retry_failed(backends: Backends) -> int:
    """Send failed work through the pipeline again; returns how many images and imports go back.

    Failed images go back to `stored`, and so do images with a failed step (only that step runs
    again) and the images of dead letters (their worker kept dying, or a give-up could not be
    recorded). Dead letters of the photo queues are not put back on their queue: the dispatcher sends
    each image once. They are taken before the catalog is written: should that fail, a failed photo stays
    failed (shown, and retried next time) and a waiting one is the reconciler's; none is lost from sight.
    Dead-lettered imports are queued again as they were (a run skips what an earlier run stored)."""
    letters = [letter for queue in WAITING_ON.values() for letter in backends.queue.take_dead(queue)]
    lettered = sorted({letter.body["image_id"] for letter in letters
                       if isinstance(letter.body.get("image_id"), str)})
    with backends.catalog.begin() as connection:
        again = images.c.state == "failed"
        if lettered:
            # A done image's dead letter is an old one: it has been through the pipeline since.
            again = again | (images.c.id.in_(lettered) & images.c.state.in_(tuple(WAITING_ON)))
        partial = images_with_failed_steps(connection)
        if partial:
            again = again | (images.c.id.in_(partial) & images.c.state.in_(DONE_STATES))
        count = connection.execute(
            update(images).where(again).values(state="stored", error=None, updated_at=now())
        ).rowcount
    if letters:
        log.info("retry: %d dead letter(s) taken back; %d image(s) back to stored", len(letters), count)
    return count + _retry_imports(backends)


def _retry_imports(backends: Backends) -> int:
    letters = backends.queue.dead_letters(IMPORTS, limit=MAX_IMPORT_LETTERS)
    moved = backends.queue.retry_dead(IMPORTS)  # the backend moves them back in one step: none is lost
    ids = [letter.body["import_id"] for letter in letters if isinstance(letter.body.get("import_id"), str)]
    if ids:
        with backends.catalog.begin() as connection:
            connection.execute(update(imports).where(imports.c.id.in_(ids))
                               .values(state="queued", message=None, updated_at=now()))
    if moved:
        log.info("retry: %d dead-lettered import(s) queued again", moved)
    return moved


def reconcile(backends: Backends, limit: int = 500) -> int:
    """Queue again each photo that has waited (queued or harvested) longer than the lease while its
    queue held no message: an outage or a crash lost its message, and nothing else would send it.

    Only an empty queue proves a message lost: with a backlog the photo may just be waiting its turn
    (and RabbitMQ cannot say which photos its queue holds). Returns how many were sent again."""
    cutoff = now() - timedelta(seconds=backends.settings.requeue_after_seconds)
    sent = 0
    for state, queue_name in WAITING_ON.items():
        if backends.queue.depth(queue_name):
            continue
        with backends.catalog.connect() as connection:
            ids = list(connection.execute(
                select(images.c.id).where(images.c.state == state, images.c.updated_at < cutoff)
                .order_by(images.c.updated_at).limit(limit)
            ).scalars())
        for image_id in ids:
            backends.queue.publish(queue_name, {"image_id": image_id})
            with backends.catalog.begin() as connection:
                # A new lease: the photo is sent again only if this message is lost too.
                connection.execute(update(images).where(images.c.id == image_id, images.c.state == state)
                                   .values(updated_at=now()))
        if ids:
            log.warning("%d photo(s) %s for over %.0f s with nothing on the %s queue (a lost message): "
                        "queued again", len(ids), state, backends.settings.requeue_after_seconds, queue_name)
        sent += len(ids)
    return sent


def sweep_trash(backends: Backends, limit: int = 500, lease_seconds: float | None = None) -> int:
    """Queue the purges nothing else would send: photos whose time in the trash (MOSAIC_TRASH_DAYS) is over,
    and photos marked for purging longer than the lease while the purge queue is empty (a crash between
    marking and publishing, a lost message, a purge given up on). The purge is idempotent, so a photo
    sent twice costs a second, empty run. Returns how many were sent.

    Here rather than in the purger: the dispatcher is the one process per deployment that queues work on a
    timer, while purgers are consumers that may run several at once and would each send every photo."""
    moment = now()
    cutoff = moment - timedelta(days=backends.settings.trash_days)
    with backends.catalog.begin() as connection:
        # Marked first, published after: a crash in between leaves a mark the next sweep finds.
        expired = list(connection.execute(
            select(images.c.id).where(images.c.deleted_at.is_not(None), images.c.deleted_at <= cutoff,
                                      images.c.purge_requested_at.is_(None))
            .order_by(images.c.deleted_at).limit(limit)).scalars())
        if expired:
            connection.execute(update(images).where(images.c.id.in_(expired), images.c.purge_requested_at.is_(None))
                               .values(purge_requested_at=moment))
    stuck: list[str] = []
    if not backends.queue.depth(PURGE):
        lease = backends.settings.requeue_after_seconds if lease_seconds is None else lease_seconds
        with backends.catalog.connect() as connection:
            stuck = list(connection.execute(
                select(images.c.id).where(images.c.purge_requested_at.is_not(None),
                                          images.c.purge_requested_at <= moment - timedelta(seconds=lease))
                .order_by(images.c.purge_requested_at).limit(limit)).scalars())
    sent = list(dict.fromkeys(expired + stuck))
    # The purger's message (gather/trash.py): up to PURGE_BATCH photos each, so Milvus is called per batch.
    for part in chunks(sent, PURGE_BATCH):
        backends.queue.publish(PURGE, {"image_ids": part})
    if expired:
        log.info("%d photo(s) in the trash for %d day(s): queued for purging", len(expired),
                 backends.settings.trash_days)
    if stuck:
        log.warning("%d photo(s) marked for purging with nothing on the purge queue: queued again", len(stuck))
    return len(sent)


def run_dispatcher(backends: Backends, stop: threading.Event) -> None:
    settings = backends.settings
    interval = settings.dispatch_interval
    reconcile_every = max(interval, min(settings.requeue_after_seconds / 4, RECONCILE_EVERY_CAP))
    next_reconcile = 0.0
    backoff = Backoff()
    while not stop.is_set():
        try:
            sent = dispatch(backends)
            if sent:
                log.info("dispatched %d image(s) to harvest", sent)
            if time.monotonic() >= next_reconcile:
                reconcile(backends)
                sweep_trash(backends)
                next_reconcile = time.monotonic() + reconcile_every
        except Exception as exc:  # a backend hiccup must not end the dispatcher; it retries next round
            backend = unavailable(exc)
            if backend is None:
                log.exception("dispatch round failed")
                stop.wait(5 * interval)
            else:
                backoff.wait(stop, backend, exc)  # one warning per outage, not a traceback per round
            continue
        backoff.recovered()
        stop.wait(interval)
