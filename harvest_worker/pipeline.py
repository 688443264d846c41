"""The enrichment pipeline for one image: decode once, then every step on the same working copy.

Each step is a pure function (or a loaded model) in its own module; this module only runs them
in order and writes their results, with the version of what made each feature, in one
transaction. Work is idempotent by image id: a redelivered job rewrites the same rows.
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property

from mosaic.backends import Backends
from mosaic.catalog.features import register_versions, write_features
from mosaic.catalog.images import get_image, replace_children, set_state
from mosaic.catalog.schema import colours, exif, features, hashes, objects, places, renditions, tags
from mosaic.consumer import Permanent
from mosaic.imaging import colours as colour_step
from mosaic.imaging import fingerprints as fingerprint_step
from mosaic.imaging import renditions as rendition_step
from mosaic.imaging.decode import ImageRejected, decode
from mosaic.imaging.exif import read_exif
from mosaic.settings import Settings
from mosaic.versions import PIPELINE_VERSION

log = logging.getLogger(__name__)

SPOOL_IN_MEMORY = 16 * 1024 * 1024
DECODE_VERSION = "1"
EXIF_VERSION = "1"


@dataclass
class Enrichment:
    """Everything the steps found for one image, ready to write."""

    width: int
    height: int
    exif: dict
    colours: list[dict]
    objects: list[dict] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    hashes: list[dict] = field(default_factory=list)
    place: dict | None = None
    renditions: list[dict] = field(default_factory=list)


class Pipeline:
    """One per worker process: models load on first use and stay loaded."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def detector(self):
        from harvest_worker.objects import open_detector

        return open_detector(self.settings)

    @cached_property
    def scenes(self):
        from harvest_worker.scenes import open_scene_classifier

        return open_scene_classifier(self.settings)

    @cached_property
    def versions(self) -> dict[str, str]:
        from harvest_worker import place

        versions = {
            "decode": DECODE_VERSION,
            "exif": EXIF_VERSION,
            "colours": colour_step.VERSION,
            "fingerprints": fingerprint_step.VERSION,
            "place": place.VERSION,
            "renditions": f"{rendition_step.VERSION}:" + ",".join(
                f"{name}={side}" for name, side in sorted(self.settings.rendition_sizes.items())),
            "scenes": self.scenes.version,
        }
        if self.detector is not None:
            versions["objects"] = self.detector.version
        return versions

    def register(self, backends: Backends) -> None:
        with backends.catalog.begin() as connection:
            register_versions(connection, self.versions)
        log.info("harvest pipeline: %s", ", ".join(f"{k}={v}" for k, v in self.versions.items()))

    # -- the job ------------------------------------------------------------------------------

    def harvest(self, backends: Backends, body: dict) -> None:
        image_id = body["image_id"]
        with backends.catalog.connect() as connection:
            image = get_image(connection, image_id)
            current = image is not None and self._is_current(connection, image)
        if image is None:
            return  # deleted since it was queued: nothing to do
        if current:
            backends.queue.publish("process", {"image_id": image_id})  # a redelivery: finish the hand-off
            return
        found = self.enrich(backends, image)
        self._write(backends, image, found)
        backends.queue.publish("process", {"image_id": image_id})

    def enrich(self, backends: Backends, image: dict) -> Enrichment:
        settings = self.settings
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as original:
            with backends.objects.get(image["object_key"]) as stream:
                shutil.copyfileobj(stream, original)
            original.seek(0)
            exif_fields = read_exif(original)
            original.seek(0)
            try:
                decoded = decode(original, settings.max_pixels, working_side=settings.working_side,
                                 min_side=settings.min_side, min_long_side=settings.min_long_side,
                                 max_bytes=settings.max_upload_bytes)
            except ImageRejected as exc:
                raise Permanent(str(exc)) from None
        picture = decoded.image
        found = Enrichment(decoded.width, decoded.height, exif_fields, _colour_rows(picture))
        found.hashes = [{"kind": kind, "value": value}
                        for kind, value in fingerprint_step.fingerprints(picture).items()]
        found.tags = _best_per_label(self.scenes.classify(picture, threshold=settings.scene_threshold), "scene")
        if self.detector is not None:
            detections = self.detector.detect(picture)
            found.objects = [
                {"rank": rank, "label": d.label, "score": d.score,
                 "x_min": d.box[0], "y_min": d.box[1], "x_max": d.box[2], "y_max": d.box[3]}
                for rank, d in enumerate(detections)
            ]
            found.tags += _best_per_label(detections, "detector")
        found.place = _place_row(exif_fields, settings.place_max_km)
        found.renditions = self._renditions(backends, image["sha256"], picture)
        return found

    # -- helpers ------------------------------------------------------------------------------

    def _renditions(self, backends: Backends, sha256: str, picture) -> list[dict]:
        rows = []
        for name, side in sorted(self.settings.rendition_sizes.items()):
            made = rendition_step.render(picture, name, side)
            key = rendition_step.rendition_key(sha256, side)
            backends.objects.put(key, io.BytesIO(made.data), size=len(made.data), content_type=rendition_step.MIME)
            rows.append({"name": name, "object_key": key, "width": made.width, "height": made.height,
                         "bytes": len(made.data), "mime": rendition_step.MIME})
        return rows

    def _is_current(self, connection, image: dict) -> bool:
        if image["state"] not in ("harvested", "indexed"):
            return False
        from sqlalchemy import select

        made = dict(connection.execute(
            select(features.c.name, features.c.version).where(features.c.image_id == image["id"])).all())
        return all(made.get(name) == version for name, version in self.versions.items())

    def _write(self, backends: Backends, image: dict, found: Enrichment) -> None:
        image_id = image["id"]
        with backends.catalog.begin() as connection:
            replace_children(connection, exif, image_id, [found.exif] if found.exif else [])
            replace_children(connection, colours, image_id, found.colours)
            replace_children(connection, objects, image_id, found.objects)
            replace_children(connection, tags, image_id, found.tags)
            replace_children(connection, hashes, image_id, found.hashes)
            replace_children(connection, places, image_id, [found.place] if found.place else [])
            replace_children(connection, renditions, image_id, found.renditions)
            write_features(connection, image_id, self.versions)
            set_state(connection, image_id, "harvested", width=found.width, height=found.height,
                      pipeline_version=PIPELINE_VERSION)


def _colour_rows(picture) -> list[dict]:
    return [
        {"rank": rank, "hex": c.hex, "red": c.rgb[0], "green": c.rgb[1], "blue": c.rgb[2],
         "lab_l": c.lab[0], "lab_a": c.lab[1], "lab_b": c.lab[2], "share": c.share, "name": c.name}
        for rank, c in enumerate(colour_step.dominant_colours(picture, k=4))
    ]


def _best_per_label(found, source: str) -> list[dict]:
    """One tag per label with its best score: "two dogs" is still the tag "dog"."""
    best: dict[str, float] = {}
    for item in found:
        best[item.label] = max(best.get(item.label, 0.0), item.score)
    return [{"label": label, "source": source, "score": score} for label, score in best.items()]


def _place_row(exif_fields: dict, max_km: float) -> dict | None:
    from harvest_worker.place import locate

    found = locate(exif_fields.get("gps_latitude"), exif_fields.get("gps_longitude"),
                   exif_fields.get("gps_altitude"), max_km=max_km)
    if found is None:
        return None
    return {"latitude": found.latitude, "longitude": found.longitude, "altitude": found.altitude,
            "country_code": found.country_code, "country": found.country, "city": found.city,
            "city_distance_km": found.city_distance_km}


def give_up(backends: Backends, body: dict, reason: str) -> None:
    with backends.catalog.begin() as connection:
        set_state(connection, body["image_id"], "failed", error=reason)
