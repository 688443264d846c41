"""What the pipeline is doing, read from the catalog and the queues: nothing sits invisible."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select

from mosaic.backends import Backends, unavailable
from mosaic.backends.queue import QUEUES
from mosaic.catalog.features import degraded_features, step_failures
from mosaic.catalog.images import now
from mosaic.catalog.schema import batch_files, batches, images

log = logging.getLogger(__name__)

RATE_MINUTES = 5
WAITING = ("stored", "queued")


def pipeline_status(backends: Backends, failures: int = 20, recent_batches: int = 10) -> dict:
    """Everything below that can be read: while the catalog or the queue is down, the other half is
    still shown, the missing fields are null (or empty) and `unavailable` says which backend is down and why."""
    missing: dict[str, str] = {}
    catalog = _read(missing, "catalog", lambda: _catalog_part(backends, failures, recent_batches))
    queues = _read(missing, "queue", lambda: _queue_part(backends))
    if catalog is None:
        catalog = {"counts": {}, "total": None, "trash": None, "rate_per_minute": None, "oldest_waiting": None,
                   "recent_failures": [], "step_failures": [], "degraded": {}, "batches": []}
    if queues is None:
        queues = {name: {"depth": None, "dead_count": None, "dead": []} for name in QUEUES}
    dead = [q["dead_count"] for q in queues.values()]
    return {
        "counts": catalog["counts"],
        "total": catalog["total"],
        "trash": catalog["trash"],
        "rate_per_minute": catalog["rate_per_minute"],
        "oldest_waiting": catalog["oldest_waiting"],
        "recent_failures": catalog["recent_failures"],
        # A step that raised costs only its feature: the photo is indexed with the rest ("objects failed on 25
        # photos: <reason>"); POST /harvest/retry or `mosaic reprocess --stale` re-runs just those steps.
        "step_failures": catalog["step_failures"],
        "degraded": catalog["degraded"],
        "dead_letters": None if None in dead else sum(dead),
        "queues": queues,
        "batches": catalog["batches"],
        "unavailable": missing,
    }


def _read(missing: dict[str, str], backend: str, read):
    try:
        return read()
    except Exception as exc:  # the status page must answer whatever is down
        found = unavailable(exc)
        if found is None:
            log.exception("status: reading the %s failed", backend)
        missing[found or backend] = f"{type(exc).__name__}: {exc}"[:300]
        return None


def _catalog_part(backends: Backends, failures: int, recent_batches: int) -> dict:
    since = now() - timedelta(minutes=RATE_MINUTES)
    with backends.catalog.connect() as connection:
        # The state counts are of the library (photos not in the trash); the trash is one figure of its own.
        live = images.c.deleted_at.is_(None)
        counts = dict(connection.execute(
            select(images.c.state, func.count()).where(live).group_by(images.c.state)).all())
        trashed = connection.execute(
            select(func.count()).select_from(images).where(images.c.deleted_at.is_not(None))).scalar()
        finished = connection.execute(
            select(func.count()).where(images.c.state == "indexed", images.c.updated_at >= since)
        ).scalar()
        oldest = connection.execute(
            select(images.c.id, images.c.original_name, images.c.state, images.c.created_at)
            .where(images.c.state.in_(WAITING)).order_by(images.c.created_at).limit(1)
        ).mappings().first()
        failed = connection.execute(
            select(images.c.id, images.c.original_name, images.c.error, images.c.updated_at)
            .where(images.c.state == "failed", live).order_by(images.c.updated_at.desc()).limit(failures)
        ).mappings().all()
        by_batch = _batches(connection, recent_batches)
        failed_steps = step_failures(connection)
        degraded = degraded_features(connection)
    return {
        "counts": counts,
        "total": sum(counts.values()),
        "trash": trashed,
        "rate_per_minute": round(finished / RATE_MINUTES, 2),
        "oldest_waiting": None if oldest is None else {
            "id": oldest["id"], "name": oldest["original_name"], "state": oldest["state"],
            "since": oldest["created_at"].isoformat()},
        "recent_failures": [
            {"id": row["id"], "name": row["original_name"], "reason": row["error"], "at": row["updated_at"].isoformat()}
            for row in failed
        ],
        "step_failures": failed_steps,
        "degraded": degraded,
        "batches": by_batch,
    }


def _queue_part(backends: Backends) -> dict:
    queue = backends.queue
    queues = {}
    for name in QUEUES:
        dead = queue.dead_letters(name, 20)
        queues[name] = {"depth": queue.depth(name), "dead_count": queue.dead_count(name),
                        "dead": [{"body": d.body, "error": d.error, "attempts": d.attempts} for d in dead]}
    return queues


def _batches(connection, limit: int) -> list[dict]:
    recent = select(batches.c.id).order_by(batches.c.created_at.desc()).limit(limit).subquery()
    state = func.coalesce(images.c.state, batch_files.c.status)
    rows = connection.execute(
        select(batch_files.c.batch_id, state.label("state"), func.count())
        .select_from(batch_files.outerjoin(images, images.c.id == batch_files.c.image_id))
        .where(batch_files.c.batch_id.in_(select(recent.c.id)))
        .group_by(batch_files.c.batch_id, state)
    ).all()
    grouped: dict[str, dict[str, int]] = {}
    for batch_id, name, count in rows:
        grouped.setdefault(batch_id, {})[name] = count
    return [{"batch": batch_id, "counts": counts} for batch_id, counts in grouped.items()]
