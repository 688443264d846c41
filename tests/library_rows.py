"""Catalog rows for library, search and album tests: photos written straight into the catalog (no pixels), with
the child rows the library reads (exif, places, tags, colours, renditions) and their search documents."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, insert

from mosaic.catalog import documents
from mosaic.catalog.images import new_id, now
from mosaic.catalog.schema import colours, exif, images, places, renditions, tags


def add_photo(connection: Connection, shot_at: datetime, *, taken: bool = True, make: str | None = None,
              model: str | None = None, country: str | None = None, code: str | None = None,
              town: str | None = None, labels: list[tuple[str, str, float | None]] = (), colour: str | None = None,
              width: int = 600, height: int = 400, source: str = "upload", state: str = "indexed",
              name: str = "photo.jpg", deleted: bool = False) -> str:
    """One photo; `labels`: (label, source, score) with source detector|scene|dataset|user."""
    image_id = new_id()
    stamp = now()
    connection.execute(insert(images).values(
        id=image_id, sha256=hashlib.sha256(image_id.encode()).hexdigest(), object_key=f"originals/{image_id}",
        source=source, original_name=name, bytes=1000, mime="image/jpeg", width=width, height=height, state=state,
        created_at=stamp, updated_at=stamp, shot_at=shot_at, deleted_at=stamp if deleted else None))
    if taken or make or model:
        connection.execute(insert(exif).values(image_id=image_id, make=make, make_raw=make, model=model,
                                               taken_at=shot_at if taken else None))
    if country or town:
        connection.execute(insert(places).values(image_id=image_id, latitude=0.0, longitude=0.0, country=country,
                                                 country_code=code, city=town))
    for label, kind, score in labels:
        connection.execute(insert(tags).values(image_id=image_id, label=label, source=kind, score=score))
    if colour:
        connection.execute(insert(colours).values(image_id=image_id, rank=0, hex="#ff0000", red=255, green=0,
                                                  blue=0, lab_l=53.0, lab_a=80.0, lab_b=67.0, share=0.6,
                                                  name=colour))
    if state in ("harvested", "indexed"):  # the harvest worker has made its renditions
        connection.execute(insert(renditions), [
            {"image_id": image_id, "name": size, "object_key": f"renditions/{image_id}/{size}", "width": side,
             "height": side, "bytes": 100, "mime": "image/webp"} for size, side in (("thumb", 256), ("preview", 1024))])
    documents.rebuild(connection, [image_id])
    return image_id
