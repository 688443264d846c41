"""The harvest worker's pipeline and consume loop on the embedded backends."""

import io
import threading

from gather.storing import store_file
from harvest.dispatch import dispatch
from harvest_worker.pipeline import give_up, harvest
from mosaic.catalog.images import image_details
from mosaic.consumer import consume
from mosaic.versions import PIPELINE_VERSION


def _store(backends, data: bytes, name: str) -> str:
    result = store_file(backends, io.BytesIO(data), name, "upload")
    assert result.status == "stored", result
    return result.id


def _details(backends, image_id):
    with backends.catalog.connect() as connection:
        return image_details(connection, image_id)


def _drain(backends, queue_name: str) -> None:
    """Run the real consume loop in a thread until the queue is empty."""
    stop = threading.Event()
    worker = threading.Thread(target=consume, args=(backends, queue_name, harvest, give_up, stop, 0.05))
    worker.start()
    try:
        for _ in range(400):
            if backends.queue.depth(queue_name) == 0:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(10)


def test_a_photo_is_harvested_and_handed_to_the_processor(backends, photos_dir):
    image_id = _store(backends, (photos_dir / "darknet" / "kite.jpg").read_bytes(), "kite.jpg")
    harvest(backends, {"image_id": image_id})
    details = _details(backends, image_id)
    assert details["state"] == "harvested" and details["pipeline_version"] == PIPELINE_VERSION
    assert details["exif"]["make"] == "Canon" and details["width"] > details["height"] > 0
    assert len(details["colours"]) == 4
    delivery = backends.queue.get("process", timeout=1)
    assert delivery.body == {"image_id": image_id}

    harvest(backends, {"image_id": image_id})  # a redelivery rewrites nothing and doubles nothing
    assert _details(backends, image_id)["colours"] == details["colours"]


def test_dispatch_sends_each_stored_image_once(backends, photos_dir):
    ids = [_store(backends, (photos_dir / "darknet" / n).read_bytes(), n) for n in ("dog.jpg", "eagle.jpg")]
    assert dispatch(backends) == 2
    assert dispatch(backends) == 0
    assert backends.queue.depth("harvest") == 2
    assert {_details(backends, i)["state"] for i in ids} == {"queued"}


def test_a_corrupt_image_fails_with_its_reason_without_retries(backends, photos_dir):
    truncated = (photos_dir / "darknet" / "dog.jpg").read_bytes()[:20_000]  # header intact, pixels cut
    image_id = _store(backends, truncated, "cut.jpg")
    dispatch(backends)
    _drain(backends, "harvest")
    details = _details(backends, image_id)
    assert details["state"] == "failed" and "truncated" in details["error"]
    assert backends.queue.dead_letters("harvest") == []


def test_a_job_that_keeps_failing_is_dead_lettered_and_the_image_marked_failed(backends, photos_dir):
    image_id = _store(backends, (photos_dir / "darknet" / "horses.jpg").read_bytes(), "horses.jpg")
    with backends.catalog.connect() as connection:
        key = image_details(connection, image_id)["object_key"]
    backends.objects.delete(key)  # the original vanished: every attempt fails
    dispatch(backends)
    _drain(backends, "harvest")
    details = _details(backends, image_id)
    assert details["state"] == "failed" and "ObjectNotFound" in details["error"]
    dead = backends.queue.dead_letters("harvest")
    assert [d.body for d in dead] == [{"image_id": image_id}] and "ObjectNotFound" in dead[0].error
