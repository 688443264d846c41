"""HTTP views of gather: thin, the work happens in `storing`."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from gather.storing import record_batch, store_file
from mosaic.catalog.schema import batch_files, batches, images
from mosaic.web import ApiError, backends

blueprint = Blueprint("gather", __name__)

UPLOAD_FIELDS = ("files", "files[]")  # `files[]` is what the original platform's clients send
_ALL_REJECTED_STATUS = {"too_large": 413, "not_an_image": 415, "empty": 400}


@blueprint.post("/uploads")
def upload():
    files = [storage for field in UPLOAD_FIELDS for storage in request.files.getlist(field)]
    if not files:
        raise ApiError(400, "no_files", "send the photos as multipart form data in the field `files`")
    results = [store_file(backends(), storage.stream, storage.filename, "upload") for storage in files]
    batch_id = record_batch(backends(), "upload", results)
    body = {"batch": batch_id, "files": [result.to_json() for result in results]}
    rejected = [result for result in results if result.status == "rejected"]
    if len(rejected) < len(results):
        stored = any(result.status == "stored" for result in results)
        return jsonify(body), (201 if stored else 200)
    codes = {result.code for result in rejected}
    status = _ALL_REJECTED_STATUS.get(codes.pop(), 422) if len(codes) == 1 else 422
    body.update(error="rejected", message="; ".join(f"{r.name}: {r.reason}" for r in rejected))
    return jsonify(body), status


@blueprint.get("/batches/<batch_id>")
def batch(batch_id: str):
    with backends().catalog.connect() as connection:
        found = connection.execute(select(batches).where(batches.c.id == batch_id)).mappings().first()
        if found is None:
            raise ApiError(404, "not_found", f"no batch {batch_id}")
        rows = connection.execute(
            select(batch_files, images.c.state, images.c.error)
            .select_from(batch_files.outerjoin(images, images.c.id == batch_files.c.image_id))
            .where(batch_files.c.batch_id == batch_id)
            .order_by(batch_files.c.position)
        ).mappings()
        files = [
            {"name": row["name"], "status": row["status"], "id": row["image_id"], "duplicate_of": row["duplicate_of"],
             "reason": row["reason"], "state": row["state"], "error": row["error"]}
            for row in rows
        ]
    states = {}
    for item in files:
        key = item["state"] or item["status"]
        states[key] = states.get(key, 0) + 1
    return jsonify(batch=batch_id, source=found["source"], created_at=found["created_at"].isoformat(),
                   counts=states, files=files)
