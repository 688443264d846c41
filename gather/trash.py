"""The trash: deleting a photo hides it everywhere at once; purging it removes every trace, as queued work.

Deleting sets `images.deleted_at`: every listing, search, recommendation and chart leaves the photo out from then
on, and restoring clears it. Purging (`?purge=true`, "empty trash", or MOSAIC_TRASH_DAYS after the delete) sets
`purge_requested_at` and puts the photo on the `purge` queue (`{"image_ids": [...]}`, up to PURGE_BATCH photos a
message, see `publish_purges`); the purger (`mosaic purger`) removes them.

Purge order, each step idempotent, so a crash anywhere is resumed by running the whole purge again:
  1. read the rendition keys and the original's key from the catalog (the rows are what remembers them);
  2. delete the photo's vectors from every Milvus collection (a missing id is a no-op);
  3. delete the objects: the renditions, then the original (a missing key is a no-op);
  4. delete the catalog row last (its children, album entries and votes cascade) and any duplicate resolution
     naming it.
The row goes last because it is what the next run reads the keys from: a crash between 3 and 4 leaves a row
whose objects are gone, but that row is already in the trash and marked for purging, so nothing shows it and
the next run finishes it; deleting the row first would lose track of objects and vectors for good.

A photo still in the pipeline (queued for the harvest worker, or harvested and queued for the processor) waits
for it, up to PIPELINE_GRACE: a worker holding it would otherwise write renditions or vectors after the purge.
A photo marked for purging whose message was lost (a crash between marking and publishing, a broker outage), or
whose purge waited on the pipeline, is sent again by the dispatcher's sweep (harvest/dispatch.py `sweep_trash`),
which also marks the photos whose time in the trash is over.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update

from mosaic.backends import Backends
from mosaic.backends.queue import PURGE
from mosaic.catalog import documents
from mosaic.catalog.images import confident, now, thumbnail_urls
from mosaic.catalog.rows import chunks
from mosaic.catalog.schema import duplicate_resolutions, exif, images, places, renditions, tags
from mosaic.errors import Conflict, NotFound, Refused
from mosaic.vector_layouts import FINGERPRINT, STYLE, VISUAL

log = logging.getLogger(__name__)

COLLECTIONS = (STYLE, FINGERPRINT, VISUAL)
TOP_TAGS = 3
# A photo waiting on the harvest worker or the processor (its message is on their queue) is left alone this long
# after its purge was asked for: a worker holding it would write renditions or vectors after the purge, for no row.
# Past this the pipeline is taken to be stuck and the photo is purged anyway.
IN_PIPELINE = ("queued", "harvested")
PIPELINE_GRACE = timedelta(hours=1)
PURGE_BATCH = 100  # photos per purge message


class BadCursor(Refused):
    code = "bad_cursor"


def purge_after(deleted_at: datetime, days: int) -> datetime:
    return deleted_at + timedelta(days=days)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands timestamps back naive; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# -- delete, restore ---------------------------------------------------------------------------------------------


def trash(backends: Backends, ids: list[str], purge: bool = False) -> dict:
    """Move the photos to the trash (and mark them for purging when `purge`); unknown ids are listed, not errors.

    {"trashed": photos now in the trash, "purging": photos marked for purging, "unknown": [ids]}."""
    wanted = list(dict.fromkeys(ids))
    when = now()
    known: list[str] = []
    with backends.catalog.begin() as connection:
        for part in chunks(wanted):
            known += connection.execute(select(images.c.id).where(images.c.id.in_(part))).scalars().all()
            connection.execute(update(images).where(images.c.id.in_(part), images.c.deleted_at.is_(None))
                               .values(deleted_at=when))
            documents.rebuild(connection, part)  # a photo in the trash has no search document
            if purge:
                connection.execute(update(images).where(images.c.id.in_(part),
                                                        images.c.purge_requested_at.is_(None))
                                   .values(purge_requested_at=when))
    if purge:
        # Published after the commit: a message never names a photo not yet marked. A crash before publishing
        # leaves the marks, which the dispatcher's sweep sends again.
        publish_purges(backends, known)
    found = set(known)
    return {"trashed": len(known), "purging": len(known) if purge else 0,
            "unknown": [image_id for image_id in wanted if image_id not in found]}


def trash_one(backends: Backends, image_id: str, purge: bool = False) -> dict:
    done = trash(backends, [image_id], purge)
    if done["unknown"]:
        raise NotFound(f"no photo {image_id!r}")
    if purge:
        return {"id": image_id, "purging": True}
    with backends.catalog.connect() as connection:
        deleted_at = _aware(connection.execute(select(images.c.deleted_at).where(images.c.id == image_id)).scalar())
    return {"id": image_id, "deleted_at": deleted_at.isoformat(),
            "purge_after": purge_after(deleted_at, backends.settings.trash_days).isoformat()}


def restore(backends: Backends, ids: list[str]) -> dict:
    """Take the photos out of the trash. A photo already being purged cannot come back: it is listed under
    `unknown` with the ids that name no photo. {"restored": n, "unknown": [ids]}"""
    wanted = list(dict.fromkeys(ids))
    live: set[str] = set()
    with backends.catalog.begin() as connection:
        for part in chunks(wanted):
            restorable = images.c.id.in_(part) & images.c.purge_requested_at.is_(None)
            live.update(connection.execute(select(images.c.id).where(restorable)).scalars())
            connection.execute(update(images).where(restorable, images.c.deleted_at.is_not(None))
                               .values(deleted_at=None))
        documents.rebuild(connection, live)  # searchable again
    return {"restored": len(live), "unknown": [image_id for image_id in wanted if image_id not in live]}


def restore_one(backends: Backends, image_id: str) -> dict:
    if restore(backends, [image_id])["restored"]:
        return {"id": image_id, "restored": True}
    with backends.catalog.connect() as connection:
        exists = connection.execute(select(images.c.id).where(images.c.id == image_id)).scalar()
    if exists:
        raise Conflict(f"photo {image_id} is being purged: it cannot be restored")
    raise NotFound(f"no photo {image_id!r}")


def empty_trash(backends: Backends) -> dict:
    """Mark every photo in the trash for purging and queue it. {"purging": n}"""
    with backends.catalog.begin() as connection:
        connection.execute(update(images).where(images.c.deleted_at.is_not(None),
                                                images.c.purge_requested_at.is_(None))
                           .values(purge_requested_at=now()))
        ids = connection.execute(select(images.c.id).where(images.c.deleted_at.is_not(None))).scalars().all()
    publish_purges(backends, ids)
    return {"purging": len(ids)}


# -- the trash listing -------------------------------------------------------------------------------------------


def _encode_cursor(deleted_at: datetime, image_id: str) -> str:
    return base64.urlsafe_b64encode(f"{deleted_at.isoformat()}|{image_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, image_id = text.split("|", 1)
        when = _aware(datetime.fromisoformat(moment))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("cursor is not one this listing gave: start again without it") from None
    if not image_id:
        raise BadCursor("cursor is not one this listing gave: start again without it")
    return when, image_id


def list_trash(backends: Backends, cursor: str | None = None, limit: int = 60) -> dict:
    """The photos in the trash, the most recently deleted first, by keyset on (deleted_at, id)."""
    where = [images.c.deleted_at.is_not(None)]
    if cursor:
        when, image_id = _decode_cursor(cursor)
        where.append(or_(images.c.deleted_at < when, and_(images.c.deleted_at == when, images.c.id < image_id)))
    days = backends.settings.trash_days
    with backends.catalog.connect() as connection:
        rows = connection.execute(
            select(images.c.id, images.c.width, images.c.height, images.c.shot_at, images.c.created_at,
                   images.c.state, images.c.source, images.c.deleted_at, exif.c.taken_at,
                   places.c.country, places.c.country_code, places.c.city)
            .select_from(images.outerjoin(exif, exif.c.image_id == images.c.id)
                         .outerjoin(places, places.c.image_id == images.c.id))
            .where(*where).order_by(images.c.deleted_at.desc(), images.c.id.desc()).limit(limit + 1)
        ).all()
        total = connection.execute(select(func.count()).select_from(images)
                                   .where(images.c.deleted_at.is_not(None))).scalar()
        page = rows[:limit]
        labels = _top_tags(connection, [row.id for row in page])
        thumbnails = thumbnail_urls(connection, [row.id for row in page])
    photos = []
    for row in page:
        deleted_at = _aware(row.deleted_at)
        photos.append({
            "id": row.id, "thumbnail_url": thumbnails.get(row.id), "url": f"/cdn/show/{row.id}",
            "width": row.width, "height": row.height,
            "shot_at": row.shot_at.isoformat() if row.shot_at else None,
            # shot_at is the capture time when it is EXIF's, else the upload time (as in the library's items).
            "taken": row.taken_at is not None and row.taken_at == row.shot_at,
            "uploaded_at": _aware(row.created_at).isoformat(),
            "place": ({"country": row.country, "country_code": row.country_code, "town": row.city}
                      if row.country or row.country_code or row.city else None),
            "tags": labels.get(row.id, []), "state": row.state, "source": row.source,
            "deleted_at": deleted_at.isoformat(), "purge_after": purge_after(deleted_at, days).isoformat(),
        })
    more = len(rows) > limit
    return {"photos": photos, "total": total,
            "next_cursor": _encode_cursor(_aware(page[-1].deleted_at), page[-1].id) if more else None}


def _top_tags(connection, ids: list[str]) -> dict[str, list[str]]:
    scored: dict[str, dict[str, float]] = {}
    for part in chunks(ids):
        for image_id, label, score in connection.execute(
                select(tags.c.image_id, tags.c.label, tags.c.score).where(tags.c.image_id.in_(part), confident())):
            best = scored.setdefault(image_id, {})
            best[label.lower()] = max(best.get(label.lower(), 0.0), score if score is not None else 0.0)
    return {image_id: [label for label, _ in sorted(best.items(), key=lambda item: (-item[1], item[0]))[:TOP_TAGS]]
            for image_id, best in scored.items()}


# -- the purge (the purger's handler) ----------------------------------------------------------------------------


def purge_message(image_ids: list[str]) -> dict:
    return {"image_ids": list(image_ids)}


def publish_purges(backends: Backends, image_ids: list[str]) -> None:
    """One message per PURGE_BATCH photos: Milvus Lite takes ~16 ms per delete call whatever its size, so three
    calls per photo would cost 1,000 photos ~50 s; per batch of 100 they cost well under a second."""
    for part in chunks(image_ids, PURGE_BATCH):
        backends.queue.publish(PURGE, purge_message(part))


def purge_image(backends: Backends, body: dict) -> None:
    """The purger's handler: `{"image_ids": [...]}` (or `{"image_id"}`), see `purge`."""
    ids = body.get("image_ids", [body.get("image_id")])
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        from mosaic.consumer import Permanent

        raise Permanent(f"not a purge message: {body!r}")
    purge(backends, ids)


def purge(backends: Backends, image_ids: list[str]) -> int:
    """Remove the photos marked for purging among `image_ids`: vectors, objects, then rows (see the module's
    docstring); the rest are left alone. Returns how many were purged."""
    with backends.catalog.connect() as connection:
        rows = connection.execute(select(images.c.id, images.c.object_key, images.c.state,
                                         images.c.purge_requested_at).where(images.c.id.in_(image_ids))).all()
        # Ids with no row were purged already (the row goes last, so nothing of them is left); unmarked ones came
        # with a stale message: purging is only ever done on request.
        chosen = []
        for row in rows:
            if row.purge_requested_at is None:
                continue
            if row.state in IN_PIPELINE and now() - _aware(row.purge_requested_at) < PIPELINE_GRACE:
                # Deferred, not lost: the dispatcher's sweep sends it again once the purge queue is idle.
                log.info("photo %s is %s: its purge waits for the pipeline to finish with it", row.id, row.state)
                continue
            chosen.append(row)
        if not chosen:
            return 0
        ids = [row.id for row in chosen]
        keys = connection.execute(select(renditions.c.object_key).where(renditions.c.image_id.in_(ids))
                                  .order_by(renditions.c.image_id, renditions.c.name)).scalars().all()
    for collection in COLLECTIONS:
        backends.vectors.delete(collection, ids)
    for key in [*keys, *(row.object_key for row in chosen)]:
        backends.objects.delete(key)
    with backends.catalog.begin() as connection:
        _forget_resolutions(connection, ids)
        # Only photos still marked: a row is never deleted on the word of a message alone.
        connection.execute(delete(images).where(images.c.id.in_(ids), images.c.purge_requested_at.is_not(None)))
    log.info("purged %d photo(s) (%d object(s))", len(ids), len(keys) + len(ids))
    return len(ids)


def _forget_resolutions(connection, ids: list[str]) -> None:
    """Duplicate resolutions naming a purged photo describe a group that can no longer exist (a group id is the
    hash of its members): they go with it. Resolutions are few (one per settled group), so they are read whole."""
    gone = set(ids)
    stale = [row.group_id for row in connection.execute(
        select(duplicate_resolutions.c.group_id, duplicate_resolutions.c.best, duplicate_resolutions.c.members))
        if row.best in gone or gone.intersection(row.members or [])]
    for part in chunks(stale):
        connection.execute(delete(duplicate_resolutions).where(duplicate_resolutions.c.group_id.in_(part)))


def give_up(backends: Backends, body: dict, reason: str) -> None:
    """The photo keeps its mark: part of it may be gone already, so it must never be restored, and it stays
    hidden. The dispatcher's sweep sends it again after MOSAIC_REQUEUE_AFTER_SECONDS (the dead letter says why)."""
    log.error("purging photo %s failed: %s; the sweep will try again", body.get("image_id"), reason)
