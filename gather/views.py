"""HTTP views of gather: thin, the work happens in `storing`."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from gather.imports import get_import, latest_import, recent_imports, start_import
from gather.storing import record_batch, store_file
from mosaic.catalog.schema import batch_files, batches, images
from mosaic.web import ApiError, backends, settings

blueprint = Blueprint("gather", __name__)

UPLOAD_FIELDS = ("files", "files[]")  # `files[]` is what the original platform's clients send
_ALL_REJECTED_STATUS = {"too_large": 413, "not_an_image": 415, "empty": 400}
# The list travels in one queue message: bigger lists belong in a file for `mosaic import urls`.
MAX_URLS = 10_000
MAX_LISTED = 100  # import runs per GET /imports
MAX_URL_LENGTH = 2048


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


@blueprint.post("/imports")
def queue_import():
    """Import the configured Unsplash dataset folder in the import worker: {"limit": N, "sample": 0.1}."""
    payload = request.get_json(silent=True) or {}
    if not isinstance(payload, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    limit, sample = payload.get("limit"), payload.get("sample")
    if limit is not None and not (isinstance(limit, int) and limit > 0):
        raise ApiError(400, "bad_limit", "limit must be a positive whole number")
    if sample is not None and not (isinstance(sample, (int, float)) and 0 < sample <= 1):
        raise ApiError(400, "bad_sample", "sample must be a fraction between 0 and 1")
    return jsonify(_queue_unsplash(limit, sample)), 202


@blueprint.post("/imports/urls")
def queue_url_import():
    """Download a list of photo URLs in the import worker: {"urls": [url, …]}."""
    payload = request.get_json(silent=True)
    urls = payload.get("urls") if isinstance(payload, dict) else None
    if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
        raise ApiError(400, "bad_request", 'send {"urls": ["https://…", …]}: a JSON list of URLs')
    urls = list(dict.fromkeys(url.strip() for url in urls if url.strip()))
    if not urls:
        raise ApiError(400, "no_urls", "the list holds no URL")
    if len(urls) > MAX_URLS:
        raise ApiError(400, "too_many_urls", f"at most {MAX_URLS:,} URLs per request, got {len(urls):,}; "
                                             "import longer lists with `mosaic import urls FILE`")
    if any(len(url) > MAX_URL_LENGTH for url in urls):
        raise ApiError(400, "bad_url", f"a URL is longer than {MAX_URL_LENGTH} characters")
    shown = urls[0] + (f" and {len(urls) - 1} more" if len(urls) > 1 else "")
    import_id = start_import(backends(), "urls", shown, total=len(urls), state="queued")
    backends().queue.publish("imports", {"import_id": import_id, "kind": "urls", "urls": urls})
    return jsonify(get_import(backends(), import_id)), 202


@blueprint.get("/imports")
def list_imports():
    """The newest import runs first (?limit=, at most MAX_LISTED)."""
    raw = request.args.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LISTED:
        raise ApiError(400, "bad_limit", f"limit must be a whole number from 1 to {MAX_LISTED}, got {raw!r}")
    return jsonify(imports=recent_imports(backends(), int(raw)))


@blueprint.get("/imports/<import_id>")
def show_import(import_id: str):
    found = get_import(backends(), import_id)
    if found is None:
        raise ApiError(404, "not_found", f"no import {import_id}")
    return jsonify(found)


@blueprint.get("/download")
def download():
    """The original platform's route: start importing the configured dataset folder."""
    try:
        started = _queue_unsplash(None, None)
    except ApiError as exc:
        return jsonify(status="error", message=exc.message), exc.status
    return jsonify(status="success", message=f"import {started['id']} of {started['source']} {started['state']}",
                   import_id=started["id"])


@blueprint.get("/status")
def status():
    """The original platform's route: how the latest dataset import is going."""
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
    backends().queue.publish("imports", {"import_id": import_id, "folder": str(folder), "limit": limit,
                                         "sample": sample})
    return get_import(backends(), import_id)
