"""HTTP views of harvest: one image's record, pipeline status, dispatch on demand."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from harvest.dispatch import dispatch, reprocess, retry_failed
from harvest.status import pipeline_status
from mosaic.catalog.images import image_details
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
    return jsonify(pipeline_status(backends()))


@blueprint.post("/retry")
def retry():
    """Send failed images and dead-lettered messages through the pipeline again."""
    return jsonify(retried=retry_failed(backends()), dispatched=dispatch(backends()))


@blueprint.post("/dispatch")
def dispatch_now():
    return jsonify(dispatched=dispatch(backends()))


@blueprint.post("/reprocess")
def reprocess_images():
    payload = request.get_json(silent=True) or {}
    if not isinstance(payload, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    ids = payload.get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise ApiError(400, "bad_request", "`ids` must be a list of image ids")
    return jsonify(marked=reprocess(backends(), ids, stale=bool(payload.get("stale"))))
