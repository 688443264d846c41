"""HTTP views of harvest: one image's record, pipeline status, dispatch on demand."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import func, select

from harvest.dispatch import dispatch, reprocess
from mosaic.backends.queue import QUEUES
from mosaic.catalog.images import image_details
from mosaic.catalog.schema import images
from mosaic.web import ApiError, backends

blueprint = Blueprint("harvest", __name__)


@blueprint.get("/images/<image_id>")
def image(image_id: str):
    with backends().catalog.connect() as connection:
        details = image_details(connection, image_id)
    if details is None:
        raise ApiError(404, "not_found", f"no image {image_id}")
    return jsonify(details)


@blueprint.get("/status")
def status():
    with backends().catalog.connect() as connection:
        counts = dict(connection.execute(select(images.c.state, func.count()).group_by(images.c.state)).all())
        failures = connection.execute(
            select(images.c.id, images.c.original_name, images.c.error, images.c.updated_at)
            .where(images.c.state == "failed")
            .order_by(images.c.updated_at.desc())
            .limit(20)
        ).mappings()
        recent_failures = [
            {"id": row["id"], "name": row["original_name"], "reason": row["error"],
             "at": row["updated_at"].isoformat()}
            for row in failures
        ]
    queue = backends().queue
    queues = {
        name: {
            "depth": queue.depth(name),
            "dead": [{"body": d.body, "error": d.error, "attempts": d.attempts} for d in queue.dead_letters(name, 20)],
        }
        for name in QUEUES
    }
    return jsonify(counts=counts, total=sum(counts.values()), queues=queues, recent_failures=recent_failures)


@blueprint.post("/dispatch")
def dispatch_now():
    return jsonify(dispatched=dispatch(backends()))


@blueprint.post("/reprocess")
def reprocess_images():
    payload = request.get_json(silent=True) or {}
    ids = payload.get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise ApiError(400, "bad_request", "`ids` must be a list of image ids")
    return jsonify(marked=reprocess(backends(), ids, stale=bool(payload.get("stale"))))
