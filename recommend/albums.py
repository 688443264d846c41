"""Albums: named sets of photos. A photo may be in many; deleting an album leaves its photos in the library.

An album's count and cover leave out photos in the trash (they come back with the photo). Album names are
searchable words of their photos (mosaic/catalog/documents.py), so every change here rebuilds the documents
of the photos it touches, in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, select, update

from mosaic.catalog import documents
from mosaic.catalog.images import new_id, now
from mosaic.catalog.rows import chunks
from mosaic.catalog.schema import album_photos, albums, images
from mosaic.errors import Conflict, NotFound, Refused

MAX_NAME = 200


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise Refused("an album needs a name", "invalid_name")
    if len(cleaned) > MAX_NAME:
        raise Refused(f"an album name has at most {MAX_NAME} characters", "invalid_name")
    return cleaned


def _as_json(connection: Connection, rows) -> list[dict]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    counts = _counts(connection, ids)
    covers = _covers(connection, ids)
    return [{"id": row.id, "name": row.name, "count": counts.get(row.id, 0),
             "cover_url": f"/cdn/show/{covers[row.id]}?size=thumb" if row.id in covers else None,
             "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()} for row in rows]


def _counts(connection: Connection, ids: list[str]) -> dict[str, int]:
    query = (select(album_photos.c.album_id, func.count())
             .join(images, images.c.id == album_photos.c.image_id)
             .where(album_photos.c.album_id.in_(ids), images.c.deleted_at.is_(None))
             .group_by(album_photos.c.album_id))
    return dict(connection.execute(query).all())


def _covers(connection: Connection, ids: list[str]) -> dict[str, str]:
    """Each album's cover: the photo added last (not in the trash)."""
    latest = (select(album_photos.c.album_id, func.max(album_photos.c.added_at).label("added_at"))
              .join(images, images.c.id == album_photos.c.image_id)
              .where(album_photos.c.album_id.in_(ids), images.c.deleted_at.is_(None))
              .group_by(album_photos.c.album_id).subquery())
    query = (select(album_photos.c.album_id, func.max(album_photos.c.image_id))
             .join(latest, (latest.c.album_id == album_photos.c.album_id)
                   & (latest.c.added_at == album_photos.c.added_at))
             .join(images, images.c.id == album_photos.c.image_id)
             .where(images.c.deleted_at.is_(None))
             .group_by(album_photos.c.album_id))
    return dict(connection.execute(query).all())


def list_albums(connection: Connection) -> list[dict]:
    rows = connection.execute(select(albums).order_by(func.lower(albums.c.name), albums.c.id)).all()
    return _as_json(connection, rows)


def get_album(connection: Connection, album_id: str) -> dict:
    row = connection.execute(select(albums).where(albums.c.id == album_id)).first()
    if row is None:
        raise NotFound(f"no album {album_id[:64]!r}")
    return _as_json(connection, [row])[0]


def resolve(connection: Connection, name_or_id: str) -> str:
    """The id of the album with this id, else with this name (any case); NotFound otherwise."""
    found = connection.execute(select(albums.c.id).where(albums.c.id == name_or_id)).scalar()
    if found is None:
        found = connection.execute(select(albums.c.id).where(
            func.lower(albums.c.name) == " ".join(name_or_id.split()).lower()).order_by(albums.c.id)).scalar()
    if found is None:
        raise NotFound(f"no album {name_or_id[:64]!r}", "unknown_album")
    return found


def _refuse_taken(connection: Connection, name: str, but: str | None = None) -> None:
    # Names are unique (any case): `album:<name>` in a search must name one album.
    query = select(albums.c.id).where(func.lower(albums.c.name) == name.lower())
    if but is not None:
        query = query.where(albums.c.id != but)
    if connection.execute(query).first() is not None:
        raise Conflict(f"an album named {name!r} exists already", "album_exists")


def create(connection: Connection, name: str) -> dict:
    name = clean_name(name)
    _refuse_taken(connection, name)
    stamp = now()
    album_id = new_id()
    connection.execute(insert(albums).values(id=album_id, name=name, created_at=stamp, updated_at=stamp))
    return get_album(connection, album_id)


def rename(connection: Connection, album_id: str, name: str) -> dict:
    get_album(connection, album_id)
    name = clean_name(name)
    _refuse_taken(connection, name, but=album_id)
    connection.execute(update(albums).where(albums.c.id == album_id).values(name=name, updated_at=now()))
    documents.rebuild(connection, _members(connection, album_id))
    return get_album(connection, album_id)


def remove_album(connection: Connection, album_id: str) -> None:
    get_album(connection, album_id)
    members = _members(connection, album_id)
    connection.execute(delete(albums).where(albums.c.id == album_id))  # its album_photos rows cascade
    connection.execute(delete(album_photos).where(album_photos.c.album_id == album_id))  # without FK enforcement
    documents.rebuild(connection, members)


def add_photos(connection: Connection, album_id: str, ids: list[str]) -> int:
    """Add the photos among `ids` that exist and are not in the album yet; how many were added."""
    get_album(connection, album_id)
    wanted = list(dict.fromkeys(ids))
    added = []
    for chunk in chunks(wanted):
        known = set(connection.execute(select(images.c.id).where(images.c.id.in_(chunk))).scalars())
        present = set(connection.execute(select(album_photos.c.image_id).where(
            album_photos.c.album_id == album_id, album_photos.c.image_id.in_(chunk))).scalars())
        added += [image_id for image_id in chunk if image_id in known and image_id not in present]
    if added:
        stamp = now()
        connection.execute(insert(album_photos), [{"album_id": album_id, "image_id": image_id, "added_at": stamp}
                                                  for image_id in added])
        connection.execute(update(albums).where(albums.c.id == album_id).values(updated_at=stamp))
        documents.rebuild(connection, added)
    return len(added)


def remove_photos(connection: Connection, album_id: str, ids: list[str]) -> int:
    get_album(connection, album_id)
    wanted = list(dict.fromkeys(ids))
    removed = []
    for chunk in chunks(wanted):
        present = list(connection.execute(select(album_photos.c.image_id).where(
            album_photos.c.album_id == album_id, album_photos.c.image_id.in_(chunk))).scalars())
        if present:
            connection.execute(delete(album_photos).where(album_photos.c.album_id == album_id,
                                                          album_photos.c.image_id.in_(present)))
            removed += present
    if removed:
        connection.execute(update(albums).where(albums.c.id == album_id).values(updated_at=now()))
        documents.rebuild(connection, removed)
    return len(removed)


def photo_ids(connection: Connection, album_id: str, limit: int) -> list[str]:
    """Up to `limit` ids of the album's photos not in the trash, added last first (recommend's candidates)."""
    query = (select(album_photos.c.image_id).join(images, images.c.id == album_photos.c.image_id)
             .where(album_photos.c.album_id == album_id, images.c.deleted_at.is_(None))
             .order_by(album_photos.c.added_at.desc(), album_photos.c.image_id.desc()).limit(limit))
    return list(connection.execute(query).scalars())


def _members(connection: Connection, album_id: str) -> list[str]:
    return list(connection.execute(select(album_photos.c.image_id).where(album_photos.c.album_id == album_id))
                .scalars())
