"""Catalog reads and writes shared by several services. Plain functions taking a connection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, delete, insert, or_, select, update

from mosaic.catalog.rows import plain
from mosaic.catalog.schema import colours, exif, features, hashes, images, objects, places, renditions, tags

STATES = ("stored", "queued", "harvested", "indexed", "failed")
# The harvest worker keeps each photo's top scene labels even when the classifier is unsure, so that words can
# reach every photo (search ranks those low); what shows a photo's tags shows only scenes scoring this much.
CONFIDENT_SCENE_SCORE = 0.2


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """Opaque, unguessable image/batch/profile id (never derived from a user's filename)."""
    return uuid.uuid4().hex


def get_image(connection: Connection, image_id: str) -> dict | None:
    row = connection.execute(select(images).where(images.c.id == image_id)).mappings().first()
    return dict(row) if row else None


def set_state(connection: Connection, image_id: str, state: str, error: str | None = None, **values) -> None:
    assert state in STATES, state
    connection.execute(
        update(images).where(images.c.id == image_id).values(state=state, error=error, updated_at=now(), **values)
    )


def replace_children(connection: Connection, table, image_id: str, rows: list[dict]) -> None:
    """Idempotent write of one image's rows in a child table (a retried job rewrites, never doubles)."""
    connection.execute(delete(table).where(table.c.image_id == image_id))
    if rows:
        connection.execute(insert(table), [{"image_id": image_id, **row} for row in rows])


def confident(table=tags) -> ColumnElement:
    """The tags worth showing: every object, dataset and user tag, and the scenes the classifier was sure of."""
    return or_(table.c.source != "scene", table.c.score.is_(None), table.c.score >= CONFIDENT_SCENE_SCORE)


def is_confident(source: str, score: float | None) -> bool:
    return source != "scene" or score is None or score >= CONFIDENT_SCENE_SCORE


def thumbnail_urls(connection: Connection, ids: list[str]) -> dict[str, str]:
    """{image id: its thumbnail's URL} for those of `ids` that have one: a photo not yet processed, or one that
    could not be read, has none, and a grid shows it as such rather than a broken image."""
    if not ids:
        return {}
    found = connection.execute(select(renditions.c.image_id).where(renditions.c.image_id.in_(ids),
                                                                   renditions.c.name == "thumb")).scalars()
    return {image_id: f"/cdn/show/{image_id}?size=thumb" for image_id in found}


def image_details(connection: Connection, image_id: str) -> dict | None:
    """Everything the catalog knows about one image, JSON-ready."""
    image = get_image(connection, image_id)
    if image is None:
        return None

    def rows(table, order=None):
        query = select(table).where(table.c.image_id == image_id)
        if order is not None:
            query = query.order_by(order)
        return [plain(row, drop="image_id") for row in connection.execute(query).mappings()]

    exif_rows = rows(exif)
    place_rows = rows(places)
    tag_rows = [row for row in rows(tags, tags.c.score.desc()) if is_confident(row["source"], row["score"])]
    feature_rows = rows(features, features.c.name)
    return {
        **plain(image),
        "exif": exif_rows[0] if exif_rows else None,
        "colours": rows(colours, colours.c.rank),
        "objects": [
            {"label": o["label"], "score": o["score"], "box": [o["x_min"], o["y_min"], o["x_max"], o["y_max"]]}
            for o in rows(objects, objects.c.rank)
        ],
        "scenes": [{"label": t["label"], "score": t["score"]} for t in tag_rows if t["source"] == "scene"],
        "tags": tag_rows,
        "fingerprints": {row["kind"]: row["value"] for row in rows(hashes)},
        "place": place_rows[0] if place_rows else None,
        "renditions": {
            r["name"]: {"url": f"/cdn/show/{image_id}?size={r['name']}", "width": r["width"], "height": r["height"],
                        "bytes": r["bytes"], "mime": r["mime"]}
            for r in rows(renditions)
        },
        "url": f"/cdn/show/{image_id}",
        "features": {row["name"]: row["version"] for row in feature_rows},
        # Steps that raised on this photo: it keeps every other feature; reprocess --stale runs these again.
        "failed_steps": {row["name"]: {"version": row["version"], "error": row["error"], "at": row["updated_at"]}
                         for row in feature_rows if row["error"] is not None},
    }
