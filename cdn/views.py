"""GET /cdn/show/<id>[.ext][?size=thumb|preview]: bytes with long-lived caching headers.

Bytes are streamed from the object store as they are read, never held whole. A rendition the harvest worker
has not made yet is a 202 with Retry-After (the photo is waiting for its worker), one that will not come is a 404:
the CDN never decodes an original (cdn/renditions.py says why).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from werkzeug.wsgi import wrap_file

from cdn.models import Pending, ShowQuery
from cdn.renditions import RETRY_AFTER_SECONDS, Missing, rendition
from mosaic.backends.objects import ObjectNotFound
from mosaic.catalog.images import get_image
from mosaic.contract import Reply, endpoint, found
from mosaic.errors import ApiError, Error
from mosaic.imaging.renditions import MIME
from mosaic.imaging.sniff import EXTENSIONS
from mosaic.web import backends, settings

blueprint = Blueprint("cdn", __name__)

CHUNK = 256 * 1024
# Content never changes under a given id and size: let browsers and proxies keep it for a year.
IMMUTABLE = "public, max-age=31536000, immutable"


@blueprint.get("/show/<name>")
@endpoint("An image's bytes (original or a rendition), cacheable for a year.", query=ShowQuery, answers={
    200: Reply({"type": "string", "format": "binary"}, "the image", media="image/*"),
    202: Reply(Pending, "the rendition is not made yet: the photo waits for its harvest worker", retry_after=True),
    304: Reply(None, "not modified (If-None-Match matched the ETag)"),
    404: Reply(Error, "no such image, or a rendition that will not be made (the message says why)"),
})
def show(name: str, query: ShowQuery):
    image_id = _strip_extension(name)
    size = query.size
    sizes = settings().rendition_sizes
    if size not in sizes and size != "original":  # the sizes are settings: not known to the model
        raise ApiError(400, "invalid_request", f"size must be one of original, {', '.join(sizes)}",
                       fields={"size": f"one of original, {', '.join(sizes)}"})
    with backends().catalog.connect() as connection:
        image = found(get_image(connection, image_id), "image", image_id)
    if size == "original":
        key, mime, length = image["object_key"], image["mime"], image["bytes"]
    else:
        made = rendition(backends(), image, size)
        if isinstance(made, Missing):
            return _missing(made)
        key, length = made
        mime = MIME
    # The key names the content (sha256, and the rendition's pixel size): a perfect validator.
    etag = key.rsplit("/", 1)[-1]
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"', "Cache-Control": IMMUTABLE})
    try:
        stream = backends().objects.get(key)
    except ObjectNotFound:
        raise ApiError(404, "not_found", f"the bytes of image {image_id} are missing from the object store") from None
    # The server's file wrapper: gunicorn sends a local file with sendfile(), anything else is read in chunks.
    return Response(
        wrap_file(request.environ, stream, CHUNK), mimetype=mime, direct_passthrough=True,
        headers={"Content-Length": str(length), "ETag": f'"{etag}"', "Cache-Control": IMMUTABLE},
    )


def _missing(missing: Missing):
    headers = {"Cache-Control": "no-store"}  # the answer changes once the worker is done
    if missing.pending:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return jsonify(status="pending", message=missing.reason), 202, headers
    raise ApiError(404, "no_rendition", missing.reason, headers)


def _strip_extension(name: str) -> str:
    # The original platform's clients ask for `<name>.jpg`; our ids never contain a dot.
    stem, dot, extension = name.rpartition(".")
    if dot and f".{extension.lower()}" in set(EXTENSIONS.values()) | {".jpeg", ".tiff"}:
        return stem
    return name
