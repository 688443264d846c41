"""Write one image's vectors to Milvus (style, perceptual hash, visual embedding); mark it indexed."""

from __future__ import annotations

import io
import logging
from functools import cached_property

from PIL import Image
from sqlalchemy import select

from mosaic import versions as current
from mosaic.backends import Backends
from mosaic.catalog.features import (
    Made,
    check_models,
    failure_reason,
    made_features,
    record_features,
    register_versions,
    steps_to_run,
)
from mosaic.catalog.images import get_image, set_state
from mosaic.catalog.schema import colours, exif, hashes, renditions
from mosaic.imaging.fingerprints import fingerprint_bytes
from mosaic.metrics import PHOTOS_DONE, STEP_FAILURES, STEP_SECONDS
from mosaic.settings import Settings
from mosaic.vector_layouts import FINGERPRINT, STYLE, VISUAL, style_attributes, style_vector

log = logging.getLogger(__name__)

# The embedder looks at a small picture: the smallest rendition serves, no original is decoded.
EMBED_FROM = "thumb"


class Indexer:
    """One per processor process: the embedding model loads once, at start (`load_models`)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.unavailable: dict[str, str] = {}  # feature -> why its model did not load

    @cached_property
    def embedder(self):
        from processor.embedding import open_embedder

        return open_embedder()

    @cached_property
    def versions(self) -> dict[str, str]:
        from processor.embedding import ImageEmbedder

        return {"vectors.style": current.STYLE_VECTOR, "vectors.fingerprint": current.FINGERPRINT_VECTOR,
                "vectors.visual": ImageEmbedder.version}

    def load_models(self) -> dict[str, str | None]:
        """{feature: None if its model works, else why not}; a failed model fails its step on each photo."""
        probe = Image.new("RGB", (64, 64), (120, 140, 160))
        found = check_models({"vectors.visual": lambda: self.embedder.embed(probe)}, self.versions)
        self.unavailable.update({name: reason for name, reason in found.items() if reason})
        return found

    def register(self, backends: Backends) -> None:
        self.load_models()
        with backends.catalog.begin() as connection:
            register_versions(connection, self.versions, self.unavailable)

    def index(self, backends: Backends, body: dict) -> None:
        """Write the vectors this photo lacks (missing, older or failed). A vector whose own step raises is
        recorded as failed and the photo is indexed with the others; a backend error retries the message."""
        image_id = body["image_id"]
        with backends.catalog.connect() as connection:
            image = get_image(connection, image_id)
            if image is None or image["state"] not in ("harvested", "indexed"):
                return  # deleted, or sent back for harvesting since: the next harvest re-queues it
            todo = steps_to_run(self.versions, made_features(connection, image_id))
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
        results: dict[str, Made] = {}
        if "vectors.style" in todo:
            style = style_vector([(r.lab_l, r.lab_a, r.lab_b) for r in colour_rows], [r.share for r in colour_rows],
                                 image["width"] or 0, image["height"] or 0)
            backends.vectors.upsert(STYLE, [(image_id, style)],
                                    [style_attributes(image["width"] or 0, image["height"] or 0, make)])
            results["vectors.style"] = Made(self.versions["vectors.style"])
        if "vectors.fingerprint" in todo:
            if len(prints) == 2:
                backends.vectors.upsert(FINGERPRINT, [(image_id, fingerprint_bytes(prints["phash"], prints["dhash"]))])
                results["vectors.fingerprint"] = Made(self.versions["vectors.fingerprint"])
            else:
                results["vectors.fingerprint"] = Made(self.versions["vectors.fingerprint"],
                                                      "no fingerprints to index (the fingerprints step failed)")
        if "vectors.visual" in todo:
            results["vectors.visual"] = self._visual(backends, image_id, small)
        with backends.catalog.begin() as connection:
            record_features(connection, image_id, results)  # the harvest worker's rows stay as they are
            set_state(connection, image_id, "indexed")
        PHOTOS_DONE.labels("indexed").inc()

    def _visual(self, backends: Backends, image_id: str, small: str | None) -> Made:
        version = self.versions["vectors.visual"]
        if small is None:
            return Made(version, "no rendition to embed (the renditions step failed)")
        if "vectors.visual" in self.unavailable:
            return Made(version, f"model not available on this processor: {self.unavailable['vectors.visual']}")
        with backends.objects.get(small) as stream:  # a store outage raises here: retried, not a step failure
            data = stream.read()
        try:
            with STEP_SECONDS.labels("vectors.visual").time(), Image.open(io.BytesIO(data)) as picture:
                vector = self.embedder.embed(picture.convert("RGB"))
        except Exception as exc:
            STEP_FAILURES.labels("vectors.visual").inc()
            log.warning("vectors.visual failed on %s: %s: %s", image_id, type(exc).__name__, exc)
            return Made(version, failure_reason(exc))
        backends.vectors.upsert(VISUAL, [(image_id, vector)])
        return Made(version)


def give_up(backends: Backends, body: dict, reason: str) -> None:
    with backends.catalog.begin() as connection:
        set_state(connection, body["image_id"], "failed", error=f"indexing: {reason}")
