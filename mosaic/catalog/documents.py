"""Search documents: one row of words per photo, searched by words (recommend/text_search.py).

The document is rebuilt from the catalog whenever what it is made of changes: the harvest worker's rows
(labels, place, camera), a dataset's description linked to the photo, album membership. It lives here, not
in recommend, because harvest_worker and gather write it too (services never import each other).

Only a photo outside the trash has a document (trashing deletes it, restoring writes it again), and the
document carries the photo's shot_at: search finds and orders a page from the documents alone.

Two columns of words: `body` holds every word a person would search the photo by (confident labels, place, camera,
file name, dataset description and keywords, album names); `weak` holds the scene labels the classifier was
unsure of (under CONFIDENT_SCENE_SCORE), so a word still reaches the photo, ranked low.

Text is normalised here (lowercase, accents stripped, one space between words) before either engine sees it:
PostgreSQL's `simple` configuration and SQLite FTS5's unicode61 tokenizer then split it the same way, so a
query finds the same photos on both catalogs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sqlalchemy import Connection, delete, insert, select

from mosaic.catalog.images import CONFIDENT_SCENE_SCORE
from mosaic.catalog.rows import chunks
from mosaic.catalog.schema import (
    album_photos,
    albums,
    dataset_keywords,
    dataset_photos,
    exif,
    images,
    places,
    search_documents,
    tags,
)

FTS_TABLE = "search_fts"  # SQLite only: the FTS5 index over search_documents (see migration 0010)
MAX_BODY = 20_000  # characters: a dataset description is a paragraph, not a book
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalise(text: str | None) -> str:
    """Lowercase ASCII words separated by single spaces: "Zürich_IMG-01.JPG" -> "zurich img 01 jpg"."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return " ".join(_NOT_WORD.split(folded)).strip()


def rebuild(connection: Connection, image_ids: Iterable[str]) -> int:
    """Rewrite the documents of `image_ids` from the catalog (in the caller's transaction); how many written."""
    written = 0
    for chunk in chunks(dict.fromkeys(image_ids)):
        documents = _documents(connection, chunk)
        connection.execute(delete(search_documents).where(search_documents.c.image_id.in_(chunk)))
        if documents:
            connection.execute(insert(search_documents), documents)
        written += len(documents)
    return written


def rebuild_all(connection: Connection, batch: int = 2000) -> int:
    """Rewrite every photo's document, in id order, `batch` photos per round."""
    written, last = 0, ""
    while True:
        ids = list(connection.execute(select(images.c.id).where(images.c.id > last).order_by(images.c.id)
                                      .limit(batch)).scalars())
        if not ids:
            return written
        written += rebuild(connection, ids)
        last = ids[-1]


def _documents(connection: Connection, ids: list[str]) -> list[dict]:
    # A photo deleted meanwhile, in the trash, or not yet placed in time gets no document.
    shot_at, body = {}, {}
    for image_id, name, shot in connection.execute(
            select(images.c.id, images.c.original_name, images.c.shot_at)
            .where(images.c.id.in_(ids), images.c.deleted_at.is_(None), images.c.shot_at.is_not(None))):
        shot_at[image_id], body[image_id] = shot, [name or ""]
    if not shot_at:
        return []
    ids = list(shot_at)
    weak: dict[str, list[str]] = {image_id: [] for image_id in ids}
    for image_id, label, source, score in connection.execute(
            select(tags.c.image_id, tags.c.label, tags.c.source, tags.c.score).where(tags.c.image_id.in_(ids))):
        unsure = source == "scene" and score is not None and score < CONFIDENT_SCENE_SCORE
        (weak if unsure else body)[image_id].append(label)
    for row in connection.execute(select(places.c.image_id, places.c.country, places.c.country_code, places.c.city)
                                  .where(places.c.image_id.in_(ids))):
        body[row.image_id] += [row.country, row.country_code, row.city]
    for row in connection.execute(select(exif.c.image_id, exif.c.make, exif.c.make_raw, exif.c.model)
                                  .where(exif.c.image_id.in_(ids))):
        body[row.image_id] += [row.make, row.make_raw, row.model]
    linked = connection.execute(
        select(dataset_photos.c.image_id, dataset_photos.c.dataset, dataset_photos.c.photo_id,
               dataset_photos.c.description, dataset_photos.c.ai_description, dataset_photos.c.location_name,
               dataset_photos.c.country, dataset_photos.c.city, dataset_photos.c.landmark)
        .where(dataset_photos.c.image_id.in_(ids))).all()
    for row in linked:
        body[row.image_id] += [row.description, row.ai_description, row.location_name, row.country, row.city,
                               row.landmark]
    photo_of = {(row.dataset, row.photo_id): row.image_id for row in linked}
    if photo_of:
        for dataset, photo_id, keyword in connection.execute(
                select(dataset_keywords.c.dataset, dataset_keywords.c.photo_id, dataset_keywords.c.keyword)
                .where(dataset_keywords.c.photo_id.in_([key[1] for key in photo_of]))):
            if (dataset, photo_id) in photo_of:
                body[photo_of[(dataset, photo_id)]].append(keyword)
    for image_id, name in connection.execute(
            select(album_photos.c.image_id, albums.c.name).join(albums, albums.c.id == album_photos.c.album_id)
            .where(album_photos.c.image_id.in_(ids))):
        body[image_id].append(name)
    documents = []
    for image_id, shot in shot_at.items():
        text = normalise(" ".join(part for part in body[image_id] if part))[:MAX_BODY]
        unsure = normalise(" ".join(weak[image_id]))
        documents.append({"image_id": image_id, "body": text, "weak": unsure, "shot_at": shot})
    return documents
