"""Find an image's rendition: the one the harvest worker made. The CDN never decodes an original itself.

Making a rendition means decoding the original, which for a large image costs hundreds of MB: that is the
harvest workers' job, one image at a time under their memory bound. A gateway that did it on request, for
anyone, as often as asked, could be taken down by a handful of thumbnail requests. So a missing rendition
is either still to come (the photo waits for its worker: 202 with Retry-After) or will not come (404).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from mosaic.backends import Backends
from mosaic.backends.objects import ObjectNotFound
from mosaic.catalog.schema import features, renditions
from mosaic.imaging.renditions import rendition_key

WAITING_STATES = ("stored", "queued")  # not harvested yet: the worker makes the renditions
RETRY_AFTER_SECONDS = 2


@dataclass(frozen=True)
class Missing:
    """Why there is no rendition to send: `pending` (it is being made) or not, and a reason for people."""

    pending: bool
    reason: str


def rendition(backends: Backends, image: dict, name: str) -> tuple[str, int] | Missing:
    """(object key, byte length) of `image`'s rendition `name` (a key of settings.rendition_sizes), or Missing."""
    with backends.catalog.connect() as connection:
        row = connection.execute(
            select(renditions.c.object_key, renditions.c.bytes)
            .where(renditions.c.image_id == image["id"], renditions.c.name == name)
        ).first()
        if row is not None:
            return row.object_key, row.bytes
        failed_step = connection.execute(
            select(features.c.error).where(features.c.image_id == image["id"], features.c.name == "renditions",
                                           features.c.error.is_not(None))
        ).scalar()
    key = rendition_key(image["sha256"], backends.settings.rendition_sizes[name])
    try:
        return key, backends.objects.stat(key).size  # the same picture made for another image with these bytes
    except ObjectNotFound:
        pass
    if image["state"] in WAITING_STATES:
        return Missing(True, f"the {name} of this image is being made; ask again in a few seconds")
    if image["state"] == "failed":
        return Missing(False, f"this image has no {name}: it could not be processed ({image.get('error')})")
    if failed_step:
        return Missing(False, f"this image has no {name}: making it failed ({failed_step})")
    return Missing(False, f"this image has no {name} yet: `mosaic reprocess --stale` makes the missing ones")
