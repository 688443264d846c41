"""Write one image's vectors to Milvus (style, perceptual hash, visual embedding); mark it indexed."""

from __future__ import annotations

import logging
from functools import cached_property

from PIL import Image
from sqlalchemy import select

from mosaic.backends import Backends
from mosaic.catalog.features import register_versions, write_features
from mosaic.catalog.images import get_image, set_state
from mosaic.catalog.schema import colours, exif, features, hashes, renditions
from mosaic.features import FINGERPRINT, STYLE, STYLE_VERSION, VISUAL, style_attributes, style_vector
from mosaic.imaging.fingerprints import fingerprint_bytes
from mosaic.settings import Settings

log = logging.getLogger(__name__)

# The embedder looks at a small picture: the smallest rendition serves, no original is decoded.
EMBED_FROM = "thumb"


class Indexer:
    """One per processor process: the embedding model loads once."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def embedder(self):
        from processor.embedding import open_embedder

        return open_embedder()

    @cached_property
    def versions(self) -> dict[str, str]:
        return {"vectors.style": STYLE_VERSION, "vectors.fingerprint": "1", "vectors.visual": self.embedder.version}

    def register(self, backends: Backends) -> None:
        with backends.catalog.begin() as connection:
            register_versions(connection, self.versions)

    def index(self, backends: Backends, body: dict) -> None:
        image_id = body["image_id"]
        with backends.catalog.connect() as connection:
            image = get_image(connection, image_id)
            if image is None or image["state"] not in ("harvested", "indexed"):
                return  # deleted, or sent back for harvesting since: the next harvest re-queues it
            colour_rows = connection.execute(
                select(colours.c.lab_l, colours.c.lab_a, colours.c.lab_b, colours.c.share)
                .where(colours.c.image_id == image_id).order_by(colours.c.rank)
            ).all()
            prints = dict(connection.execute(
                select(hashes.c.kind, hashes.c.value)
                .where(hashes.c.image_id == image_id, hashes.c.kind.in_(("phash", "dhash")))).all())
            small = connection.execute(
                select(renditions.c.object_key).where(renditions.c.image_id == image_id)
                .order_by(renditions.c.width)
            ).scalar()
            make = connection.execute(select(exif.c.make).where(exif.c.image_id == image_id)).scalar()
            made = dict(connection.execute(
                select(features.c.name, features.c.version).where(features.c.image_id == image_id)).all())
        style = style_vector([(r.lab_l, r.lab_a, r.lab_b) for r in colour_rows], [r.share for r in colour_rows],
                             image["width"] or 0, image["height"] or 0)
        backends.vectors.upsert(STYLE, [(image_id, style)],
                                [style_attributes(image["width"] or 0, image["height"] or 0, make)])
        if len(prints) == 2:
            backends.vectors.upsert(FINGERPRINT, [(image_id, fingerprint_bytes(prints["phash"], prints["dhash"]))])
        if small:
            with backends.objects.get(small) as stream:
                picture = Image.open(stream)
                picture.load()
            backends.vectors.upsert(VISUAL, [(image_id, self.embedder.embed(picture.convert("RGB")))])
        with backends.catalog.begin() as connection:
            # Keep the harvest worker's feature rows; add ours.
            write_features(connection, image_id, {**made, **self.versions})
            set_state(connection, image_id, "indexed")


def give_up(backends: Backends, body: dict, reason: str) -> None:
    with backends.catalog.begin() as connection:
        set_state(connection, body["image_id"], "failed", error=f"indexing: {reason}")
