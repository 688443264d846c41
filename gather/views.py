"""HTTP views of gather: thin, the work happens in `storing`."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from gather import trash
from gather.imports import get_import, latest_import, recent_imports, start_import
from gather.models import (
    Batch,
    BulkDelete,
    BulkDeleted,
    BulkRestore,
    BulkRestored,
    DatasetImport,
    DeleteQuery,
    Emptying,
    Import,
    Imports,
    ImportsQuery,
    LegacyStatus,
    Purging,
    Restored,
    Trash,
    Trashed,
    TrashQuery,
    Uploaded,
    UrlImport,
)
from gather.storing import record_batch, store_file
from mosaic.backends.queue import IMPORTS
from mosaic.catalog.schema import batch_files, batches, images
from mosaic.contract import Reply, endpoint, found
from mosaic.errors import ApiError
from mosaic.web import backends, settings

blueprint = Blueprint("gather", __name__)

UPLOAD_FIELDS = ("files", "files[]")  # `files[]` is what the original platform's clients send
_ALL_REJECTED_STATUS = {"too_large": 413, "not_an_image": 415, "empty": 400}


@blueprint.post("/uploads")
@endpoint("Upload photos (multipart, field `files`); each is stored or rejected with a reason.", files="files",
          mutates=True, answers={201: Reply(Uploaded, "at least one photo stored"),
                                 200: Reply(Uploaded, "nothing new stored: duplicates (and maybe rejections)"),
                                 422: Reply(Uploaded, "every file was rejected (413, 415 or 400 when all for "
                                                      "one reason): `message` says why for each")})
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
@endpoint("One upload batch: each file's outcome and processing state.", answers={200: Batch})
def batch(batch_id: str):
    with backends().catalog.connect() as connection:
        row = found(connection.execute(select(batches).where(batches.c.id == batch_id)).mappings().first(),
                    "batch", batch_id)
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
    return jsonify(batch=batch_id, source=row["source"], created_at=row["created_at"].isoformat(),
                   counts=states, files=files)


@blueprint.post("/imports")
@endpoint("Import the configured Unsplash dataset folder in the import worker.", body=DatasetImport, mutates=True,
          answers={202: Reply(Import, "queued (or the import already running)")})
def queue_import(body: DatasetImport):
    return jsonify(_queue_unsplash(body.limit, body.sample)), 202


@blueprint.post("/imports/urls")
@endpoint("Download a list of photo URLs in the import worker.", body=UrlImport, body_required=True, mutates=True,
          answers={202: Reply(Import, "queued")})
def queue_url_import(body: UrlImport):
    urls = body.urls
    shown = urls[0] + (f" and {len(urls) - 1} more" if len(urls) > 1 else "")
    import_id = start_import(backends(), "urls", shown, total=len(urls), state="queued")
    backends().queue.publish(IMPORTS, {"import_id": import_id, "kind": "urls", "urls": urls})
    return jsonify(get_import(backends(), import_id)), 202


@blueprint.get("/imports")
@endpoint("Import runs, newest first.", query=ImportsQuery, answers={200: Imports})
def list_imports(query: ImportsQuery):
    return jsonify(imports=recent_imports(backends(), query.limit))


@blueprint.get("/imports/<import_id>")
@endpoint("One import run and its counts.", answers={200: Import})
def show_import(import_id: str):
    return jsonify(found(get_import(backends(), import_id), "import", import_id))


@blueprint.get("/download")
@endpoint("The original platform's route: start importing the configured dataset folder.", mutates=True,
          answers={200: LegacyStatus, 404: Reply(LegacyStatus, "no dataset folder: not started")})
def download():
    try:
        started = _queue_unsplash(None, None)
    except ApiError as exc:
        return jsonify(status="error", message=exc.message), exc.status
    return jsonify(status="success", message=f"import {started['id']} of {started['source']} {started['state']}",
                   import_id=started["id"])


@blueprint.get("/status")
@endpoint("The original platform's route: how the latest dataset import is going.", answers={200: LegacyStatus})
def status():
    found = latest_import(backends(), "unsplash")
    if found is None:
        return jsonify(status="completed", message="0 of 0 images downloaded", import_id=None)
    done = found["stored"] + found["duplicates"] + found["skipped"]
    state = {"queued": "in progress", "running": "in progress", "completed": "completed"}.get(found["state"], "error")
    message = f"{done} of {found['total']} images downloaded"
    if state == "error" and found["message"]:
        message += f": {found['message']}"
    return jsonify(status=state, message=message, import_id=found["id"], failed=found["failed"],
                   bad_rows=found["bad_rows"], details=found["message"])


def _queue_unsplash(limit: int | None, sample: float | None) -> dict:
    """One import of the dataset folder at a time: asking again while one runs returns that one."""
    folder = settings().dataset_dir.absolute()
    running = latest_import(backends(), "unsplash")
    if running is not None and running["state"] in ("queued", "running"):
        return running
    if not folder.is_dir():
        raise ApiError(404, "no_dataset", f"the dataset folder {folder} does not exist (setting MOSAIC_DATASET_DIR)")
    import_id = start_import(backends(), "unsplash", str(folder), state="queued")
    backends().queue.publish(IMPORTS, {"import_id": import_id, "folder": str(folder), "limit": limit,
                                         "sample": sample})
    return get_import(backends(), import_id)


# -- the trash ---------------------------------------------------------------------------------------------------


@blueprint.delete("/images/<image_id>")
@endpoint("Move a photo to the trash (idempotent), or purge it at once with `?purge=true`.", query=DeleteQuery,
          mutates=True, answers={200: Trashed, 202: Reply(Purging, "queued for purging")})
def delete_image(image_id: str, query: DeleteQuery):
    done = trash.trash_one(backends(), image_id, purge=query.purge)
    return jsonify(done), (202 if query.purge else 200)


@blueprint.post("/images/delete")
@endpoint("Move photos to the trash (or purge them with `purge`); unknown ids are listed.", body=BulkDelete,
          body_required=True, mutates=True, answers={200: BulkDeleted})
def delete_images(body: BulkDelete):
    return jsonify(trash.trash(backends(), body.ids, purge=body.purge))


@blueprint.post("/images/<image_id>/restore")
@endpoint("Take a photo out of the trash.", mutates=True, answers={200: Restored})
def restore_image(image_id: str):
    return jsonify(trash.restore_one(backends(), image_id))


@blueprint.post("/images/restore")
@endpoint("Take photos out of the trash; unknown ids (or photos already being purged) are listed.",
          body=BulkRestore, body_required=True, mutates=True, answers={200: BulkRestored})
def restore_images(body: BulkRestore):
    return jsonify(trash.restore(backends(), body.ids))


@blueprint.get("/trash")
@endpoint("The photos in the trash, the most recently deleted first.", query=TrashQuery, answers={200: Trash})
def list_trash(query: TrashQuery):
    return jsonify(trash.list_trash(backends(), query.cursor, query.limit))


@blueprint.post("/trash/empty")
@endpoint("Purge every photo in the trash (queued).", mutates=True, answers={202: Reply(Emptying, "queued")})
def empty_trash():
    return jsonify(trash.empty_trash(backends())), 202
