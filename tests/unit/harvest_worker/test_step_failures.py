"""One broken step never costs the photo: it is indexed with every feature that worked, the failed step
is recorded on it (with its error and version), counted in the status, and `reprocess --stale` re-runs
only that step. Real photos, real models, embedded backends."""

from __future__ import annotations

import io

import pytest

from gather.storing import store_file
from harvest.dispatch import reprocess, retry_failed
from harvest.status import pipeline_status
from harvest_worker.pipeline import Pipeline
from mosaic.backends.vectors import Collection
from mosaic.catalog.images import image_details
from mosaic.vector_layouts import FINGERPRINT, STYLE, VISUAL
from processor.indexing import Indexer


class Broken(RuntimeError):
    pass


def _raise(*args, **kwargs):
    raise Broken("this step is broken on purpose")


# step -> (what to break, the feature rows that must still be there, where its result would show)
BREAK = {
    "exif": "harvest_worker.pipeline.read_exif",
    "colours": "mosaic.imaging.colours.dominant_colours",
    "fingerprints": "mosaic.imaging.fingerprints.fingerprints",
    "place": "harvest_worker.place.locate",
    "renditions": "mosaic.imaging.renditions.render",
    "scenes": "harvest_worker.scenes.SceneClassifier.classify",
    "objects": None,  # the detector instance's detect (patched on the pipeline below)
    "vectors.visual": "processor.embedding.ImageEmbedder.embed",
}
HARVEST_STEPS = {"exif", "colours", "fingerprints", "place", "renditions", "scenes", "objects"}


@pytest.fixture
def workers(backends):
    pipeline, indexer = Pipeline(backends.settings), Indexer(backends.settings)
    pipeline.register(backends)
    indexer.register(backends)
    return pipeline, indexer


def _store(backends, path) -> str:
    stored = store_file(backends, io.BytesIO(path.read_bytes()), path.name, "upload")
    assert stored.status == "stored", stored
    return stored.id


def _run(backends, workers, image_id) -> dict:
    pipeline, indexer = workers
    pipeline.harvest(backends, {"image_id": image_id})
    indexer.index(backends, {"image_id": image_id})
    while backends.queue.get("process", timeout=0.01) is not None:  # the hand-off message was acted on above
        pass
    with backends.catalog.connect() as connection:
        return image_details(connection, image_id)


def _break(monkeypatch, workers, step):
    if step == "objects":
        monkeypatch.setattr(workers[0].detector, "detect", _raise)
    else:
        monkeypatch.setattr(BREAK[step], _raise)


def _has_vector(backends, collection: Collection, image_id: str) -> bool:
    return backends.vectors.get(collection, image_id) is not None


@pytest.mark.parametrize("step", sorted(BREAK))
def test_a_failing_step_costs_only_its_own_feature(backends, workers, photos_dir, monkeypatch, step):
    # IMG_0001.JPG has camera EXIF and GPS, so every step (place included) has something to make.
    image_id = _store(backends, photos_dir / "exif" / "IMG_0001.JPG")
    with monkeypatch.context() as patch:
        _break(patch, workers, step)
        details = _run(backends, workers, image_id)

    assert details["state"] == "indexed", details["error"]
    assert details["error"] is None
    failed = details["failed_steps"]
    # What is made from the failed step's output fails with it, saying why: the place is read from the EXIF's
    # GPS fields, the fingerprint vector from the fingerprints, the visual vector from the thumbnail.
    lost_with = {"exif": {"place"}, "fingerprints": {"vectors.fingerprint"},
                 "renditions": {"vectors.visual"}}.get(step, set())
    assert set(failed) == {step} | lost_with
    assert "Broken: this step is broken on purpose" in failed[step]["error"]
    assert failed[step]["version"] == details["features"][step]
    # Everything else was made.
    expected = {
        "exif": bool(details["exif"]), "colours": len(details["colours"]) == 4,
        "fingerprints": set(details["fingerprints"]) == {"phash", "dhash"}, "place": details["place"] is not None,
        "renditions": set(details["renditions"]) == {"thumb", "preview"},
        "scenes": bool(details["scenes"]), "objects": "objects" in details["features"],
    }
    # Each vector needs what it is made from.
    for name, present in expected.items():
        if name != step and name not in lost_with:
            assert present, f"{name} missing when only {step} failed"
    assert _has_vector(backends, STYLE, image_id)
    assert _has_vector(backends, FINGERPRINT, image_id) == (step != "fingerprints")
    assert _has_vector(backends, VISUAL, image_id) == (step not in ("renditions", "vectors.visual"))

    status = pipeline_status(backends)
    counted = {f["step"]: f for f in status["step_failures"]}
    assert counted[step]["photos"] == 1 and "broken on purpose" in counted[step]["reason"]
    assert status["counts"] == {"indexed": 1} and status["recent_failures"] == []


@pytest.mark.parametrize("step", ["objects", "colours", "vectors.visual"])
def test_reprocess_stale_reruns_only_the_failed_step(backends, workers, photos_dir, monkeypatch, step):
    image_id = _store(backends, photos_dir / "darknet" / "dog.jpg")
    with monkeypatch.context() as patch:
        _break(patch, workers, step)
        before = _run(backends, workers, image_id)
    assert list(before["failed_steps"]) == [step]
    with backends.catalog.connect() as connection:
        stamps = dict(connection.exec_driver_sql(
            f"SELECT name, updated_at FROM features WHERE image_id = '{image_id}'").all())

    assert reprocess(backends, stale=True) == 1
    after = _run(backends, workers, image_id)
    assert after["state"] == "indexed" and after["failed_steps"] == {}
    with backends.catalog.connect() as connection:
        again = dict(connection.exec_driver_sql(
            f"SELECT name, updated_at FROM features WHERE image_id = '{image_id}'").all())
    rerun = {name for name in again if again[name] != stamps.get(name)}
    # The failed step ran again, and the vectors made from its output; nothing else did.
    dependants = {"colours": {"vectors.style"}}.get(step, set())
    assert rerun == {step} | dependants
    if step == "objects":
        assert {"dog", "bicycle"} <= {o["label"] for o in after["objects"]}
    assert reprocess(backends, stale=True) == 0


def test_retry_reruns_failed_steps_of_indexed_photos(backends, workers, photos_dir, monkeypatch):
    image_id = _store(backends, photos_dir / "darknet" / "eagle.jpg")
    with monkeypatch.context() as patch:
        _break(patch, workers, "scenes")
        _run(backends, workers, image_id)
    assert retry_failed(backends) == 1
    after = _run(backends, workers, image_id)
    assert after["failed_steps"] == {} and after["scenes"]


def test_a_model_that_cannot_load_degrades_its_feature_and_fails_only_that_step(backends, photos_dir, monkeypatch):
    import harvest_worker.detection.ssd as ssd

    def unloadable(*args):
        raise AttributeError("module 'cv2.dnn' has no attribute 'readNetFromTensorflow'")

    monkeypatch.setattr(ssd, "_net", unloadable)
    settings = backends.settings.model_copy(update={"detector": "ssd"})
    pipeline, indexer = Pipeline(settings), Indexer(settings)
    assert "readNetFromTensorflow" in pipeline.load_models()["objects"]
    pipeline.register(backends)
    indexer.register(backends)

    image_id = _store(backends, photos_dir / "darknet" / "dog.jpg")
    details = _run(backends, (pipeline, indexer), image_id)
    assert details["state"] == "indexed" and details["colours"] and details["scenes"]
    assert "model not available" in details["failed_steps"]["objects"]["error"]
    status = pipeline_status(backends)
    assert "readNetFromTensorflow" in status["degraded"]["objects"]
    assert status["step_failures"][0]["step"] == "objects"


def test_an_undecodable_photo_still_fails_as_a_whole(backends, workers, photos_dir):
    from mosaic.consumer import Permanent

    truncated = (photos_dir / "darknet" / "dog.jpg").read_bytes()[:20_000]
    stored = store_file(backends, io.BytesIO(truncated), "cut.jpg", "upload")
    with pytest.raises(Permanent):
        workers[0].harvest(backends, {"image_id": stored.id})
