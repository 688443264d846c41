"""Write one image's style vector to Milvus and mark it indexed."""

from __future__ import annotations

from sqlalchemy import select

from mosaic.backends import Backends
from mosaic.catalog.images import get_image, set_state
from mosaic.catalog.schema import colours
from mosaic.features import STYLE, style_vector


def index(backends: Backends, body: dict) -> None:
    image_id = body["image_id"]
    with backends.catalog.connect() as connection:
        image = get_image(connection, image_id)
        if image is None or image["state"] not in ("harvested", "indexed"):
            return  # deleted, or sent back for harvesting since: the next harvest re-queues it
        rows = connection.execute(
            select(colours.c.lab_l, colours.c.lab_a, colours.c.lab_b, colours.c.share)
            .where(colours.c.image_id == image_id)
            .order_by(colours.c.rank)
        ).all()
    vector = style_vector([(r.lab_l, r.lab_a, r.lab_b) for r in rows], [r.share for r in rows],
                          image["width"] or 0, image["height"] or 0)
    backends.vectors.upsert(STYLE, [(image_id, vector)])
    with backends.catalog.begin() as connection:
        set_state(connection, image_id, "indexed")


def give_up(backends: Backends, body: dict, reason: str) -> None:
    with backends.catalog.begin() as connection:
        set_state(connection, body["image_id"], "failed", error=f"indexing: {reason}")
