"""GET /cdn/show/<id>[.ext][?size=thumb|preview]: bytes with long-lived caching headers."""

from __future__ import annotations

from flask import Blueprint, Response, request

from cdn.renditions import rendition
from mosaic.catalog.images import get_image
from mosaic.imaging.decode import ImageRejected
from mosaic.imaging.renditions import MIME
from mosaic.imaging.sniff import EXTENSIONS
from mosaic.web import ApiError, backends, settings

blueprint = Blueprint("cdn", __name__)

CHUNK = 256 * 1024
# Content never changes under a given id and size: let browsers and proxies keep it for a year.
IMMUTABLE = "public, max-age=31536000, immutable"


@blueprint.get("/show/<name>")
def show(name: str):
    image_id = _strip_extension(name)
    size = request.args.get("size", "original")
    sizes = settings().rendition_sizes
    if size not in sizes and size != "original":
        raise ApiError(400, "bad_size", f"size must be one of original, {', '.join(sizes)}")
    with backends().catalog.connect() as connection:
        image = get_image(connection, image_id)
    if image is None:
        raise ApiError(404, "not_found", f"no image {image_id}")
    if size == "original":
        key, mime, length = image["object_key"], image["mime"], image["bytes"]
    else:
        try:
            key, length = rendition(backends(), image, size)
        except ImageRejected as exc:
            raise ApiError(422, "no_rendition", f"cannot make a {size} of this image: {exc}") from None
        mime = MIME
    # The key names the content (sha256, and the rendition's pixel size): a perfect validator.
    etag = key.rsplit("/", 1)[-1]
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"', "Cache-Control": IMMUTABLE})
    stream = backends().objects.get(key)
    return Response(
        _chunks(stream), mimetype=mime, direct_passthrough=True,
        headers={"Content-Length": str(length), "ETag": f'"{etag}"', "Cache-Control": IMMUTABLE},
    )


def _strip_extension(name: str) -> str:
    # The original platform's clients ask for `<name>.jpg`; our ids never contain a dot.
    stem, dot, extension = name.rpartition(".")
    if dot and f".{extension.lower()}" in set(EXTENSIONS.values()) | {".jpeg", ".tiff"}:
        return stem
    return name


def _chunks(stream):
    try:
        while chunk := stream.read(CHUNK):
            yield chunk
    finally:
        stream.close()
