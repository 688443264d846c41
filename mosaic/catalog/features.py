"""Which code made each feature, and which images a newer pipeline would enrich differently."""

from __future__ import annotations

from sqlalchemy import Connection, and_, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from mosaic.catalog.images import now, replace_children
from mosaic.catalog.schema import features, images, pipeline_versions

DONE_STATES = ("harvested", "indexed")


def register_versions(connection: Connection, versions: dict[str, str]) -> None:
    """Record what a starting worker makes now (the reference that marks older features stale)."""
    stamp = now()
    for name, version in versions.items():
        changed = connection.execute(
            update(pipeline_versions).where(pipeline_versions.c.name == name).values(version=version, updated_at=stamp)
        ).rowcount
        if not changed:
            try:
                with connection.begin_nested():
                    connection.execute(insert(pipeline_versions).values(name=name, version=version, updated_at=stamp))
            except IntegrityError:
                pass  # another worker registered the same name at the same moment


def write_features(connection: Connection, image_id: str, versions: dict[str, str]) -> None:
    stamp = now()
    replace_children(connection, features, image_id, [
        {"name": name, "version": version, "updated_at": stamp} for name, version in versions.items()
    ])


def stale_image_ids(connection: Connection, limit: int | None = None) -> list[str]:
    """Finished images with a feature made by another version than the workers' current one,
    or missing a feature the workers make now."""
    outdated = exists().where(
        features.c.image_id == images.c.id,
        features.c.name == pipeline_versions.c.name,
        features.c.version != pipeline_versions.c.version,
    )
    missing = ~exists().where(and_(features.c.image_id == images.c.id, features.c.name == pipeline_versions.c.name))
    query = (
        select(images.c.id).distinct()
        .select_from(images.join(pipeline_versions, pipeline_versions.c.name.isnot(None)))
        # A harvested image has no vector features yet (the processor is on it): not stale.
        .where((images.c.state.in_(DONE_STATES) & outdated) | ((images.c.state == "indexed") & missing))
        .order_by(images.c.id)
    )
    if limit:
        query = query.limit(limit)
    return list(connection.execute(query).scalars())
