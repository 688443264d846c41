"""The enrichment pipeline for one image: decode once, EXIF, dominant colours -> catalog."""

from __future__ import annotations

import shutil
import tempfile

from mosaic.backends import Backends
from mosaic.catalog.images import get_image, replace_children, set_state
from mosaic.catalog.schema import colours, exif
from mosaic.consumer import Permanent
from mosaic.imaging.colours import dominant_colours
from mosaic.imaging.decode import ImageRejected, decode
from mosaic.imaging.exif import read_exif
from mosaic.versions import PIPELINE_VERSION

SPOOL_IN_MEMORY = 16 * 1024 * 1024


def harvest(backends: Backends, body: dict) -> None:
    image_id = body["image_id"]
    with backends.catalog.connect() as connection:
        image = get_image(connection, image_id)
    if image is None:
        return  # deleted since it was queued: nothing to do
    if image["state"] in ("harvested", "indexed") and image["pipeline_version"] == PIPELINE_VERSION:
        backends.queue.publish("process", {"image_id": image_id})  # a redelivery: finish the hand-off
        return
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as original:
        with backends.objects.get(image["object_key"]) as stream:
            shutil.copyfileobj(stream, original)
        original.seek(0)
        fields = read_exif(original)
        original.seek(0)
        try:
            decoded = decode(original, backends.settings.max_pixels)
        except ImageRejected as exc:
            raise Permanent(str(exc)) from None
    found = dominant_colours(decoded.image, k=4)
    with backends.catalog.begin() as connection:
        replace_children(connection, exif, image_id, [fields] if fields else [])
        replace_children(
            connection,
            colours,
            image_id,
            [
                {"rank": rank, "hex": c.hex, "red": c.rgb[0], "green": c.rgb[1], "blue": c.rgb[2],
                 "lab_l": c.lab[0], "lab_a": c.lab[1], "lab_b": c.lab[2], "share": c.share}
                for rank, c in enumerate(found)
            ],
        )
        set_state(connection, image_id, "harvested", width=decoded.width, height=decoded.height,
                  pipeline_version=PIPELINE_VERSION)
    backends.queue.publish("process", {"image_id": image_id})


def give_up(backends: Backends, body: dict, reason: str) -> None:
    with backends.catalog.begin() as connection:
        set_state(connection, body["image_id"], "failed", error=reason)
