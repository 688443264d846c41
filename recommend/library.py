"""The library: every photo not in the trash, newest first by when it was taken, in pages, with filters.

Pages are keyset-paged on (images.shot_at, images.id) descending, the order of the partial index
`ix_images_library` (WHERE deleted_at IS NULL): the thousandth page costs what the first does, where OFFSET
would read and drop every row before it. The cursor is the last item's (shot_at, id), opaque to clients
(urlsafe base64 of JSON). Filters combine (AND); each is an EXISTS on a child table keyed by image id, so the
walk down the index checks each photo by primary key.

An item's place and tags are read for the whole page at once, one query each.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, exists, func, or_, select, tuple_

from mosaic.catalog.images import confident, is_confident, thumbnail_urls
from mosaic.catalog.schema import album_photos, colours, exif, images, places, tags

MAX_LIMIT = 200
SOURCES = ("upload", "url", "unsplash", "folder", "sample")
ORIENTATIONS = ("landscape", "portrait", "square")
TOP_TAGS = 3
KIND = {"detector": "object", "scene": "scene", "dataset": "keyword", "user": "tag"}
# What a page reads of each image (the item's own fields; place and tags come in one query each).
COLUMNS = (images.c.id, images.c.width, images.c.height, images.c.shot_at, images.c.created_at, images.c.state,
           images.c.source)


@dataclass(frozen=True)
class Filters:
    """What narrows the library; every field set must hold (AND). Dates bound shot_at: `start` included,
    `end` excluded."""

    start: datetime | None = None
    end: datetime | None = None
    make: str | None = None
    model: str | None = None
    country: str | None = None
    town: str | None = None
    tag: str | None = None
    colour: str | None = None
    orientation: str | None = None
    state: str | None = None
    source: str | None = None
    album: str | None = None  # an album id (resolved from a name by albums.resolve)

    def given(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def day_after(day: date) -> datetime:
    return day_start(day) + timedelta(days=1) if day < date.max else datetime.max


def conditions(filters: Filters) -> list[ColumnElement]:
    """The WHERE clauses of `filters` over `images` (the trash left out)."""
    # shot_at is set when a photo is stored; a row without one could not be placed in the keyset order.
    where = [images.c.deleted_at.is_(None), images.c.shot_at.is_not(None)]
    if filters.start is not None:
        where.append(images.c.shot_at >= filters.start)
    if filters.end is not None:
        where.append(images.c.shot_at < filters.end)
    if filters.make:
        where.append(exists().where(exif.c.image_id == images.c.id,
                                    func.lower(exif.c.make) == filters.make.lower()))
    if filters.model:
        where.append(exists().where(exif.c.image_id == images.c.id,
                                    func.lower(exif.c.model).contains(filters.model.lower(), autoescape=True)))
    if filters.country:
        wanted = filters.country.lower()
        where.append(exists().where(places.c.image_id == images.c.id,
                                    or_(func.lower(places.c.country) == wanted,
                                        func.lower(places.c.country_code) == wanted)))
    if filters.town:
        where.append(exists().where(places.c.image_id == images.c.id,
                                    func.lower(places.c.city) == filters.town.lower()))
    if filters.tag:
        where.append(exists().where(tags.c.image_id == images.c.id, func.lower(tags.c.label) == filters.tag.lower(),
                                    confident()))
    if filters.colour:
        where.append(exists().where(colours.c.image_id == images.c.id, colours.c.name == filters.colour.lower()))
    if filters.orientation == "landscape":
        where.append(images.c.width > images.c.height)
    elif filters.orientation == "portrait":
        where.append(images.c.width < images.c.height)
    elif filters.orientation == "square":
        where.append(images.c.width == images.c.height)
    if filters.state:
        where.append(images.c.state == filters.state)
    if filters.source:
        where.append(images.c.source == filters.source)
    if filters.album:
        where.append(exists().where(album_photos.c.album_id == filters.album, album_photos.c.image_id == images.c.id))
    return where


# -- the cursor ---------------------------------------------------------------------------------------------


def encode_cursor(*parts) -> str:
    values = [part.isoformat() if isinstance(part, datetime) else part for part in parts]
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, scored: bool = False) -> tuple:
    """(shot_at, id), or (score, shot_at, id) for search; ValueError for anything this server did not make."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValueError("not a cursor this server gave (pass next_cursor back unchanged)") from None
    size = 3 if scored else 2
    if not isinstance(values, list) or len(values) != size or not isinstance(values[-1], str) \
            or not isinstance(values[-2], str) or (scored and not isinstance(values[0], int)):
        raise ValueError("not a cursor this server gave (pass next_cursor back unchanged)")
    try:
        values[-2] = datetime.fromisoformat(values[-2])
    except ValueError:
        raise ValueError("not a cursor this server gave (pass next_cursor back unchanged)") from None
    return tuple(values)


# -- pages --------------------------------------------------------------------------------------------------


def browse(connection: Connection, filters: Filters, limit: int = 60, after: tuple | None = None) -> dict:
    """{"photos": [item...], "next_cursor"}: the `limit` newest photos passing `filters`, after the cursor."""
    query = select(*COLUMNS).where(*conditions(filters))
    if after is not None:
        query = query.where(tuple_(images.c.shot_at, images.c.id) < tuple_(*after))
    rows = connection.execute(query.order_by(images.c.shot_at.desc(), images.c.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].shot_at, page[-1].id) if len(rows) > limit else None
    return {"photos": items(connection, page), "next_cursor": next_cursor}


def months(connection: Connection, filters: Filters) -> list[dict]:
    """[{"month": "2024-06", "count"}] newest first: the timeline beside the library."""
    if connection.dialect.name == "postgresql":
        month = func.to_char(images.c.shot_at, "YYYY-MM")
    else:
        month = func.strftime("%Y-%m", images.c.shot_at)
    query = (select(month.label("month"), func.count().label("count")).where(*conditions(filters))
             .group_by(month).order_by(month.desc()))
    return [{"month": row.month, "count": row.count} for row in connection.execute(query)]


def items(connection: Connection, rows, all_tags: dict | None = None) -> list[dict]:
    """Photo items for image rows (COLUMNS): one query for places and capture times, one for tags."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    about = {row.id: row for row in connection.execute(
        select(images.c.id, exif.c.taken_at, places.c.country, places.c.country_code, places.c.city)
        .select_from(images.outerjoin(exif, exif.c.image_id == images.c.id)
                     .outerjoin(places, places.c.image_id == images.c.id))
        .where(images.c.id.in_(ids)))}
    labels = all_tags if all_tags is not None else page_tags(connection, ids, only_confident=True)
    thumbnails = thumbnail_urls(connection, ids)
    found = []
    for row in rows:
        extra = about.get(row.id)
        place = None
        if extra is not None and (extra.country or extra.city or extra.country_code):
            place = {"country": extra.country, "country_code": extra.country_code, "town": extra.city}
        shown = [t for t in labels.get(row.id, []) if is_confident(t[1], t[2])]
        found.append({
            "id": row.id,
            "thumbnail_url": thumbnails.get(row.id),
            "url": f"/cdn/show/{row.id}",
            "width": row.width,
            "height": row.height,
            "shot_at": row.shot_at.isoformat() if row.shot_at else None,
            # shot_at is the capture time when it is EXIF's; else it is the upload time.
            "taken": bool(extra is not None and extra.taken_at is not None and extra.taken_at == row.shot_at),
            "uploaded_at": row.created_at.isoformat(),
            "place": place,
            "tags": list(dict.fromkeys(label for label, _, _ in shown))[:TOP_TAGS],
            "state": row.state,
            "source": row.source,
        })
    return found


def page_tags(connection: Connection, ids: list[str], only_confident: bool) -> dict[str, list[tuple]]:
    """{image id: [(label, source, score), ...] best first} for a page of photos, in one query."""
    query = select(tags.c.image_id, tags.c.label, tags.c.source, tags.c.score).where(tags.c.image_id.in_(ids))
    if only_confident:
        query = query.where(confident())
    found: dict[str, list[tuple]] = {}
    for image_id, label, source, score in connection.execute(query):
        found.setdefault(image_id, []).append((label.lower(), source, score))
    for listed in found.values():
        # Best first; a tag without a score (a user's, a dataset's) after the scored ones.
        listed.sort(key=lambda t: (t[2] is None, -(t[2] or 0.0), t[0]))
    return found
