"""What a profile can ask for, read from the catalog: tag labels, camera makes and colour names, each with
how many photos have it, so a form can offer choices that will match something.

Counts are of distinct images: a label found by the detector and given by a dataset counts once per photo.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, func, select

from mosaic.catalog.images import confident
from mosaic.catalog.schema import colours, exif, tags
from mosaic.imaging.named_colours import NAMED_COLOURS

MAX_LIMIT = 100
MAX_PREFIX = 64


def labels(connection: Connection, prefix: str = "", limit: int = 20) -> list[dict]:
    """[{"label", "count"}], most common first; `prefix` matches the start of a label, any case."""
    return _counted(connection, tags.c.label, tags.c.image_id, prefix, limit, "label", confident())


def makes(connection: Connection, prefix: str = "", limit: int = 20) -> list[dict]:
    """[{"make", "count"}] of the normalised camera makes ("Nikon", not "NIKON CORPORATION")."""
    return _counted(connection, exif.c.make, exif.c.image_id, prefix, limit, "make")


def colour_names(connection: Connection) -> list[dict]:
    """Every searchable colour name with its colour and how many palettes hold it, in the names' fixed order."""
    counts = dict(connection.execute(
        select(colours.c.name, func.count(colours.c.image_id.distinct())).group_by(colours.c.name)).all())
    return [{"name": name, "hex": value, "count": counts.get(name, 0)} for name, value in NAMED_COLOURS.items()]


def _counted(connection: Connection, column: ColumnElement, image_id: ColumnElement, prefix: str, limit: int,
             key: str, *where: ColumnElement) -> list[dict]:
    count = func.count(image_id.distinct())
    query = (select(column, count.label("count")).where(column.is_not(None), *where)
             .group_by(column).order_by(count.desc(), column).limit(limit))
    if prefix:
        # LIKE with an escape character, so a typed % or _ is matched as itself.
        escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(column).like(f"{escaped}%", escape="\\"))
    return [{key: value, "count": n} for value, n in connection.execute(query).all()]
