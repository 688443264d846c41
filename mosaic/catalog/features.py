"""Which code made each feature, and which images a newer pipeline would enrich differently."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, exists, func, insert, select

from mosaic.catalog.images import now
from mosaic.catalog.rows import upsert
from mosaic.catalog.schema import features, images, pipeline_versions

log = logging.getLogger(__name__)

DONE_STATES = ("harvested", "indexed")


@dataclass(frozen=True)
class Made:
    """What one step left on one photo: the version that ran, and its error if it raised."""

    version: str
    error: str | None = None


def failure_reason(error: BaseException) -> str:
    """How an error is recorded on a photo or a feature: its type names the cause, the text the detail."""
    return f"{type(error).__name__}: {error}"[:1000]


def check_models(checks: dict[str, Callable[[], object]], versions: dict[str, str]) -> dict[str, str | None]:
    """Run each feature's model check once (at a worker's start): {feature: None if it works, else why not},
    with one log line per feature, `available` or `degraded (<reason>)`."""
    found: dict[str, str | None] = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:
            found[name] = failure_reason(exc)
            log.error("feature %s: degraded (%s)", name, found[name])
        else:
            found[name] = None
            log.info("feature %s: available (%s)", name, versions[name])
    return found


def register_versions(connection: Connection, versions: dict[str, str],
                      degraded: dict[str, str] | None = None) -> None:
    """Record what a starting worker makes now (the reference that marks older features stale), and
    why it cannot make a feature at all (a model that failed to load), for health and the status page."""
    stamp = now()
    degraded = degraded or {}
    rows = [{"name": name, "version": version, "updated_at": stamp, "degraded": degraded.get(name)}
            for name, version in versions.items()]
    upsert(connection, pipeline_versions, rows, [pipeline_versions.c.name], lambda excluded: {
        "version": excluded.version, "updated_at": excluded.updated_at, "degraded": excluded.degraded})


def degraded_features(connection: Connection) -> dict[str, str]:
    """{feature: reason} for what the workers registered as unable to make."""
    return dict(connection.execute(
        select(pipeline_versions.c.name, pipeline_versions.c.degraded).where(pipeline_versions.c.degraded.isnot(None))
    ).all())


def made_features(connection: Connection, image_id: str) -> dict[str, Made]:
    rows = connection.execute(
        select(features.c.name, features.c.version, features.c.error).where(features.c.image_id == image_id))
    return {name: Made(version, error) for name, version, error in rows}


def steps_to_run(wanted: dict[str, str], made: dict[str, Made]) -> list[str]:
    """The steps of `wanted` ({name: current version}) that are missing, older or failed on a photo."""
    return [name for name, version in wanted.items()
            if name not in made or made[name].version != version or made[name].error is not None]


def record_features(connection: Connection, image_id: str, results: dict[str, Made]) -> None:
    """Upsert the rows of the steps that ran; the photo's other feature rows stay as they are."""
    if not results:
        return
    stamp = now()
    forget_features(connection, image_id, list(results))
    connection.execute(insert(features), [
        {"image_id": image_id, "name": name, "version": made.version, "error": made.error, "updated_at": stamp}
        for name, made in results.items()
    ])


def forget_features(connection: Connection, image_id: str | list[str] | None, names: list[str] | None = None) -> None:
    """Drop feature rows (of some names, or all) so the steps that make them run again.
    image_id None means every image."""
    statement = delete(features)
    if isinstance(image_id, str):
        statement = statement.where(features.c.image_id == image_id)
    elif image_id is not None:
        statement = statement.where(features.c.image_id.in_(image_id))
    if names is not None:
        statement = statement.where(features.c.name.in_(names))
    connection.execute(statement)


def step_failures(connection: Connection) -> list[dict]:
    """Per step, how many photos it failed on, and the latest reason: "objects failed on 25 photos: ..."."""
    counts = connection.execute(
        select(features.c.name, func.count(), func.max(features.c.updated_at))
        .where(features.c.error.isnot(None)).group_by(features.c.name).order_by(features.c.name)
    ).all()
    found = []
    for name, count, latest in counts:
        row = connection.execute(
            select(features.c.version, features.c.error)
            .where(features.c.name == name, features.c.error.isnot(None))
            .order_by(features.c.updated_at.desc()).limit(1)
        ).first()
        found.append({"step": name, "photos": count, "version": row.version, "reason": row.error,
                      "latest": latest.isoformat() if latest else None})
    return found


def images_with_failed_steps(connection: Connection) -> list[str]:
    return list(connection.execute(
        select(features.c.image_id).distinct().where(features.c.error.isnot(None)).order_by(features.c.image_id)
    ).scalars())


def stale_image_ids(connection: Connection, limit: int | None = None) -> list[str]:
    """Finished images with a feature made by another version than the workers' current one,
    missing a feature the workers make now, or with a step that failed on them."""
    outdated = exists().where(
        features.c.image_id == images.c.id,
        features.c.name == pipeline_versions.c.name,
        features.c.version != pipeline_versions.c.version,
    )
    missing = ~exists().where(and_(features.c.image_id == images.c.id, features.c.name == pipeline_versions.c.name))
    failed = exists().where(features.c.image_id == images.c.id, features.c.error.isnot(None))
    query = (
        select(images.c.id).distinct()
        .select_from(images.join(pipeline_versions, pipeline_versions.c.name.isnot(None)))
        # A harvested image has no vector features yet (the processor is on it): not stale.
        .where((images.c.state.in_(DONE_STATES) & (outdated | failed)) | ((images.c.state == "indexed") & missing))
        .order_by(images.c.id)
    )
    if limit:
        query = query.limit(limit)
    return list(connection.execute(query).scalars())
