"""Find an image's rendition: the one the harvest worker made, else make it now and keep it."""

from __future__ import annotations

import io
import shutil
import tempfile

from sqlalchemy import select

from mosaic.backends import Backends
from mosaic.backends.objects import ObjectNotFound
from mosaic.catalog.schema import renditions
from mosaic.imaging.decode import decode
from mosaic.imaging.renditions import MIME, render, rendition_key


def rendition(backends: Backends, image: dict, name: str) -> tuple[str, int]:
    """(object key, byte length) of `image`'s rendition `name` (a key of settings.rendition_sizes)."""
    with backends.catalog.connect() as connection:
        row = connection.execute(
            select(renditions.c.object_key, renditions.c.bytes)
            .where(renditions.c.image_id == image["id"], renditions.c.name == name)
        ).first()
    if row is not None:
        return row.object_key, row.bytes
    side = backends.settings.rendition_sizes[name]
    key = rendition_key(image["sha256"], side)
    try:
        return key, backends.objects.stat(key).size
    except ObjectNotFound:
        pass
    # Not harvested yet: make it from the original, as the worker would, so the page shows now.
    with tempfile.SpooledTemporaryFile(16 * 1024 * 1024) as original:
        with backends.objects.get(image["object_key"]) as stream:
            shutil.copyfileobj(stream, original)
        original.seek(0)
        decoded = decode(original, backends.settings.max_pixels, working_side=side)
    made = render(decoded.image, name, side)
    backends.objects.put(key, io.BytesIO(made.data), size=len(made.data), content_type=MIME)
    return key, len(made.data)
