"""The harvest worker's pipeline and consume loop on the embedded backends, on real photos."""

import io
import threading

import pytest

from gather.storing import store_file
from harvest.dispatch import dispatch, reprocess
from harvest_worker.pipeline import Pipeline, give_up
from mosaic.catalog.images import image_details
from mosaic.consumer import consume
from mosaic.versions import PIPELINE_VERSION


@pytest.fixture
def pipeline(backends):
    made = Pipeline(backends.settings)
    made.register(backends)
    return made


def _store(backends, data: bytes, name: str) -> str:
    result = store_file(backends, io.BytesIO(data), name, "upload")
    assert result.status == "stored", result
    return result.id


def _details(backends, image_id):
    with backends.catalog.connect() as connection:
        return image_details(connection, image_id)


def _drain(backends, pipeline, queue_name: str) -> None:
    """Run the real consume loop in a thread until the queue is empty."""
    stop = threading.Event()
    worker = threading.Thread(target=consume, args=(backends, queue_name, pipeline.harvest, give_up, stop, 0.05))
    worker.start()
    try:
        for _ in range(400):
            if backends.queue.depth(queue_name) == 0:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(10)


def test_a_photo_is_enriched_by_every_step_and_handed_to_the_processor(backends, pipeline, photos_dir):
    image_id = _store(backends, (photos_dir / "darknet" / "dog.jpg").read_bytes(), "dog.jpg")
    pipeline.harvest(backends, {"image_id": image_id})
    details = _details(backends, image_id)
    assert details["state"] == "harvested" and details["pipeline_version"] == PIPELINE_VERSION
    assert (details["width"], details["height"]) == (768, 576)
    assert details["exif"]["make"] == "Canon" and details["exif"]["iso"] > 0
    assert len(details["colours"]) == 4 and all(c["name"] for c in details["colours"])
    labels = {o["label"] for o in details["objects"]}
    assert {"dog", "bicycle"} <= labels
    assert all(0 <= v <= 1 for o in details["objects"] for v in o["box"])
    assert details["scenes"] and all(s["label"] == s["label"].lower() for s in details["scenes"])
    assert {t["label"] for t in details["tags"] if t["source"] == "detector"} == labels
    assert set(details["fingerprints"]) == {"phash", "dhash"}
    assert details["place"] is None  # dog.jpg carries no GPS
    assert set(details["renditions"]) == {"thumb", "preview"}
    assert details["renditions"]["thumb"]["width"] == 256 and details["renditions"]["preview"]["width"] == 768
    assert set(details["features"]) >= {"exif", "colours", "objects", "scenes", "fingerprints", "place", "renditions"}
    for rendition in details["renditions"].values():
        assert rendition["url"].startswith(f"/cdn/show/{image_id}?size=")
    delivery = backends.queue.get("process", timeout=1)
    assert delivery.body == {"image_id": image_id}

    pipeline.harvest(backends, {"image_id": image_id})  # a redelivery rewrites nothing and doubles nothing
    again = _details(backends, image_id)
    assert again["colours"] == details["colours"] and again["objects"] == details["objects"]


def test_gps_becomes_a_place_with_altitude(backends, pipeline, photos_dir):
    image_id = _store(backends, (photos_dir / "exif" / "IMG_0001.JPG").read_bytes(), "IMG_0001.JPG")
    pipeline.harvest(backends, {"image_id": image_id})
    details = _details(backends, image_id)
    assert details["place"]["country_code"] == "CN" and details["place"]["city"]
    assert details["place"]["altitude"] == pytest.approx(details["exif"]["gps_altitude"])
    assert (details["width"], details["height"]) == (2448, 2448)


def test_only_images_made_by_an_older_step_are_stale(backends, pipeline, photos_dir):
    ids = [_store(backends, (photos_dir / "darknet" / n).read_bytes(), n) for n in ("eagle.jpg", "kite.jpg")]
    for image_id in ids:
        pipeline.harvest(backends, {"image_id": image_id})
    assert reprocess(backends, stale=True) == 0
    with backends.catalog.begin() as connection:  # as if eagle.jpg had been made by an older colour step
        connection.exec_driver_sql(
            f"UPDATE features SET version = '0' WHERE name = 'colours' AND image_id = '{ids[0]}'")
    assert reprocess(backends, stale=True) == 1
    assert [_details(backends, i)["state"] for i in ids] == ["stored", "harvested"]


def test_dispatch_sends_each_stored_image_once(backends, photos_dir):
    ids = [_store(backends, (photos_dir / "darknet" / n).read_bytes(), n) for n in ("dog.jpg", "eagle.jpg")]
    assert dispatch(backends) == 2
    assert dispatch(backends) == 0
    assert backends.queue.depth("harvest") == 2
    assert {_details(backends, i)["state"] for i in ids} == {"queued"}


def test_a_corrupt_image_fails_with_its_reason_without_retries(backends, pipeline, photos_dir):
    truncated = (photos_dir / "darknet" / "dog.jpg").read_bytes()[:20_000]  # header intact, pixels cut
    image_id = _store(backends, truncated, "cut.jpg")
    dispatch(backends)
    _drain(backends, pipeline, "harvest")
    details = _details(backends, image_id)
    assert details["state"] == "failed" and "truncated" in details["error"]
    assert backends.queue.dead_letters("harvest") == []


def test_a_job_that_keeps_failing_is_dead_lettered_and_the_image_marked_failed(backends, pipeline, photos_dir):
    image_id = _store(backends, (photos_dir / "darknet" / "horses.jpg").read_bytes(), "horses.jpg")
    with backends.catalog.connect() as connection:
        key = image_details(connection, image_id)["object_key"]
    backends.objects.delete(key)  # the original vanished: every attempt fails
    dispatch(backends)
    _drain(backends, pipeline, "harvest")
    details = _details(backends, image_id)
    assert details["state"] == "failed" and "ObjectNotFound" in details["error"]
    dead = backends.queue.dead_letters("harvest")
    assert [d.body for d in dead] == [{"image_id": image_id}] and "ObjectNotFound" in dead[0].error
