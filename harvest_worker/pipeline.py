"""The enrichment pipeline for one image: decode once, then every step on the same working copy.

Each step is a pure function (or a loaded model) in its own module; this module runs the steps a
photo still needs (missing, made by an older version, or failed) and writes their results, with
the version of what made each feature, in one transaction. A step that raises costs only its own
feature: the error is recorded on the photo (table `features`) and the other steps go on. Only a
photo that cannot be decoded at all fails. Work is idempotent by image id.
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import delete, insert

from mosaic import versions as current
from mosaic.backends import Backends, unavailable
from mosaic.backends.queue import PROCESS
from mosaic.catalog import documents
from mosaic.catalog.features import (
    Made,
    check_models,
    failure_reason,
    forget_features,
    made_features,
    record_features,
    register_versions,
    steps_to_run,
)
from mosaic.catalog.images import get_image, replace_children, set_state
from mosaic.catalog.schema import colours, exif, hashes, objects, places, renditions, tags
from mosaic.consumer import Permanent
from mosaic.imaging import colours as colour_step
from mosaic.imaging import fingerprints as fingerprint_step
from mosaic.imaging import renditions as rendition_step
from mosaic.imaging.decode import ImageRejected, decode
from mosaic.imaging.exif import read_exif
from mosaic.metrics import PHOTOS_DONE, STEP_FAILURES, STEP_SECONDS
from mosaic.settings import Settings

log = logging.getLogger(__name__)

SPOOL_IN_MEMORY = 16 * 1024 * 1024
# 2: a JPEG cut short (libjpeg calls it a warning) is refused, so reprocess --stale re-checks what 1 accepted.
# The steps that work on pixels; exif and place read only the file's bytes, so they never need a decode.
PIXEL_STEPS = ("colours", "fingerprints", "scenes", "objects", "renditions")
# The steps whose results are tags, and the `source` their tags carry.
TAG_SOURCES = {"scenes": "scene", "objects": "detector"}
# The processor's vectors made from each step's output: a step that writes new rows sends them to be redone.
VECTORS_FROM = {
    "decode": ("vectors.style",),
    "exif": ("vectors.style",),
    "colours": ("vectors.style",),
    "fingerprints": ("vectors.fingerprint",),
    "renditions": ("vectors.visual",),
}


class ModelUnavailable(RuntimeError):
    """A step whose model could not load: recorded on each photo as that step's failure."""


@dataclass
class Enrichment:
    """What the steps found for one image, ready to write: rows per step that ran, errors per step that raised."""

    width: int | None = None
    height: int | None = None
    exif: dict = field(default_factory=dict)
    colours: list[dict] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    hashes: list[dict] = field(default_factory=list)
    place: dict | None = None
    renditions: list[dict] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def run(self, name: str, step: Callable[[], None]) -> None:
        """Run one step; its exception becomes its recorded error, never the photo's."""
        try:
            with STEP_SECONDS.labels(name).time():
                step()
        except Exception as exc:
            if unavailable(exc):  # a backend outage is never the photo's failure: the message is retried
                raise
            STEP_FAILURES.labels(name).inc()
            log.warning("step %s failed: %s: %s", name, type(exc).__name__, exc)
            # A model that did not load says so itself; any other error keeps its type, which names the cause.
            self.errors[name] = str(exc) if isinstance(exc, ModelUnavailable) else failure_reason(exc)
        self.ran.append(name)


class Pipeline:
    """One per worker process: `load_models` loads every model once, at start."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.unavailable: dict[str, str] = {}  # feature -> why its model did not load

    @cached_property
    def detector(self):
        from harvest_worker.detection import open_detector

        return open_detector(self.settings)

    @cached_property
    def scenes(self):
        from harvest_worker.scenes import SceneClassifier

        return SceneClassifier()

    @cached_property
    def versions(self) -> dict[str, str]:
        from harvest_worker.detection import detector_version
        from harvest_worker.scenes import SceneClassifier

        versions = {
            "decode": current.DECODE,
            "exif": current.EXIF,
            "colours": current.COLOURS,
            "fingerprints": current.FINGERPRINTS,
            "place": current.PLACE,
            "renditions": f"{current.RENDITIONS}:" + ",".join(
                f"{name}={side}" for name, side in sorted(self.settings.rendition_sizes.items())),
            "scenes": SceneClassifier.version,
        }
        objects_version = detector_version(self.settings)
        if objects_version is not None:  # MOSAIC_DETECTOR=none: no objects step at all
            versions["objects"] = objects_version
        return versions

    def load_models(self) -> dict[str, str | None]:
        """Load each model now and try it on a small picture: {feature: None if it works, else why not}.
        A model that fails stays failed for this process: its step is recorded as failed on each photo."""
        from PIL import Image

        probe = Image.new("RGB", (96, 64), (120, 140, 160))
        checks = {"scenes": lambda: self.scenes.classify(probe)}
        if "objects" in self.versions:
            checks["objects"] = lambda: self.detector.detect(probe)
        found = check_models(checks, self.versions)
        self.unavailable.update({name: reason for name, reason in found.items() if reason})
        return found

    def register(self, backends: Backends) -> None:
        self.load_models()
        with backends.catalog.begin() as connection:
            register_versions(connection, self.versions, self.unavailable)
        log.info("harvest pipeline: %s", ", ".join(f"{k}={v}" for k, v in self.versions.items()))

    # -- the job ------------------------------------------------------------------------------

    def harvest(self, backends: Backends, body: dict) -> None:
        image_id = body["image_id"]
        with backends.catalog.connect() as connection:
            image = get_image(connection, image_id)
            made = made_features(connection, image_id) if image is not None else {}
        if image is None:
            return  # deleted since it was queued: nothing to do
        todo = steps_to_run(self.versions, made)
        if todo:
            found = self.enrich(backends, image, todo)
            self._write(backends, image, found)
        elif image["state"] not in ("harvested", "indexed"):
            # Only vectors were missing or failed (reprocess --stale): straight on to the processor.
            with backends.catalog.begin() as connection:
                set_state(connection, image_id, "harvested")
        backends.queue.publish(PROCESS, {"image_id": image_id})  # also finishes the hand-off of a redelivery

    def enrich(self, backends: Backends, image: dict, steps: list[str] | None = None) -> Enrichment:
        """Run `steps` (default: all) on one image. Raises Permanent only when the image cannot be decoded."""
        settings = self.settings
        steps = list(self.versions) if steps is None else steps
        found = Enrichment()
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as original:
            with backends.objects.get(image["object_key"]) as stream:
                shutil.copyfileobj(stream, original)
            exif_error = None
            if "exif" in steps or "place" in steps:  # the place is read from the GPS fields
                original.seek(0)
                try:
                    found.exif = read_exif(original)
                except Exception as exc:
                    exif_error = failure_reason(exc)
                if "exif" in steps:  # otherwise read only for the place: the stored EXIF rows stay
                    found.ran.append("exif")
                    if exif_error:
                        found.errors["exif"] = exif_error
            picture = None
            if "decode" in steps or any(step in steps for step in PIXEL_STEPS):
                original.seek(0)
                try:
                    decoded = decode(original, settings.max_pixels, working_side=settings.working_side,
                                     min_side=settings.min_side, min_long_side=settings.min_long_side,
                                     max_bytes=settings.max_upload_bytes)
                except ImageRejected as exc:
                    raise Permanent(str(exc)) from None
                picture, found.width, found.height = decoded.image, decoded.width, decoded.height
                if "decode" in steps:  # otherwise only a prerequisite of a pixel step being re-run
                    found.ran.append("decode")
        for name, step in self._pixel_steps(backends, image, picture, found).items():
            if name in steps:
                found.run(name, step)
        if "place" in steps:
            def place() -> None:
                if exif_error:
                    raise RuntimeError(f"no EXIF to place the photo: {exif_error}")
                found.place = _place_row(found.exif, settings.place_max_km)
            found.run("place", place)
        return found

    def _pixel_steps(self, backends: Backends, image: dict, picture, found: Enrichment) -> dict[str, Callable]:
        def colours_step() -> None:
            found.colours = _colour_rows(picture)

        def fingerprints_step() -> None:
            found.hashes = [{"kind": kind, "value": value}
                            for kind, value in fingerprint_step.fingerprints(picture).items()]

        def scenes_step() -> None:
            self._require("scenes")
            # Every photo keeps its top labels, sure or not: words must reach it (see harvest_worker/scenes.py).
            scenes = self.scenes.classify(picture)
            found.tags += _best_per_label(scenes, TAG_SOURCES["scenes"])

        def objects_step() -> None:
            self._require("objects")
            detections = self.detector.detect(picture)
            found.objects = [
                {"rank": rank, "label": d.label, "score": d.score,
                 "x_min": d.box[0], "y_min": d.box[1], "x_max": d.box[2], "y_max": d.box[3]}
                for rank, d in enumerate(detections)
            ]
            found.tags += _best_per_label(detections, TAG_SOURCES["objects"])

        def renditions_step() -> None:
            found.renditions = self._renditions(backends, image["sha256"], picture)

        return {"colours": colours_step, "fingerprints": fingerprints_step, "scenes": scenes_step,
                "objects": objects_step, "renditions": renditions_step}

    def _require(self, feature: str) -> None:
        if feature in self.unavailable:
            raise ModelUnavailable(f"model not available on this worker: {self.unavailable[feature]}")

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

    def _write(self, backends: Backends, image: dict, found: Enrichment) -> None:
        """Rows of the steps that succeeded replace the photo's old ones; a failed step keeps what an
        earlier run left (nothing is lost) and records its error."""
        image_id = image["id"]
        ok = [name for name in found.ran if name not in found.errors]
        children = {
            "exif": (exif, [found.exif] if found.exif else []),
            "colours": (colours, found.colours),
            "fingerprints": (hashes, found.hashes),
            "place": (places, [found.place] if found.place else []),
            "renditions": (renditions, found.renditions),
            "objects": (objects, found.objects),
        }
        with backends.catalog.begin() as connection:
            for name in ok:
                if name in children:
                    table, rows = children[name]
                    replace_children(connection, table, image_id, rows)
            # Tags are shared by two steps: each replaces only the tags of its own source.
            redone = [source for name, source in TAG_SOURCES.items() if name in ok]
            if redone:
                connection.execute(delete(tags).where(tags.c.image_id == image_id, tags.c.source.in_(redone)))
            new_tags = [t for t in found.tags if t["source"] in redone]
            if new_tags:
                connection.execute(insert(tags), [{"image_id": image_id, **t} for t in new_tags])
            stale_vectors = sorted({vector for name in ok for vector in VECTORS_FROM.get(name, ())})
            if stale_vectors:
                forget_features(connection, image_id, stale_vectors)
            record_features(connection, image_id, {
                name: Made(self.versions[name], found.errors.get(name)) for name in found.ran})
            sizes = {} if found.width is None else {"width": found.width, "height": found.height}
            if "exif" in ok and found.exif.get("taken_at"):
                sizes["shot_at"] = found.exif["taken_at"]  # the library's order: when it was taken, not uploaded
            set_state(connection, image_id, "harvested", pipeline_version=current.PIPELINE_VERSION, **sizes)
            documents.rebuild(connection, [image_id])  # its labels, place and camera, searchable by words
        PHOTOS_DONE.labels("harvested").inc()


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
