"""GET /harvest/status and POST /harvest/retry on the embedded backends (Flask test client)."""

import io

import harvest
from gather.storing import record_batch, store_file
from harvest.dispatch import dispatch
from mosaic.catalog.images import set_state


def test_status_shows_counts_batches_the_oldest_waiting_rate_and_failures(backends, photos_dir):
    results = [store_file(backends, (photos_dir / "darknet" / name).open("rb"), name, "upload")
               for name in ("dog.jpg", "eagle.jpg", "kite.jpg")]
    results.append(store_file(backends, io.BytesIO(b""), "empty.jpg", "upload"))
    batch_id = record_batch(backends, "upload", results)
    dog, eagle, kite = (r.id for r in results[:3])
    with backends.catalog.begin() as connection:
        set_state(connection, dog, "indexed")
        set_state(connection, eagle, "failed", error="corrupt or truncated image: broken data stream")
    client = harvest.create_app(backends.settings, backends).test_client()

    status = client.get("/status").get_json()
    assert status["counts"] == {"indexed": 1, "failed": 1, "stored": 1}
    assert status["rate_per_minute"] == 0.2  # one image finished in the last five minutes
    assert status["oldest_waiting"]["id"] == kite
    assert status["recent_failures"][0]["name"] == "eagle.jpg" and "truncated" in status["recent_failures"][0]["reason"]
    assert status["batches"] == [{"batch": batch_id, "counts": {"indexed": 1, "failed": 1, "stored": 1,
                                                                 "rejected": 1}}]
    assert status["dead_letters"] == 0 and status["queues"]["harvest"]["depth"] == 0

    retried = client.post("/retry").get_json()
    assert retried == {"retried": 1, "dispatched": 2}  # eagle back to the queue, with kite
    assert dispatch(backends) == 0  # nothing is sent twice
    after = client.get("/status").get_json()
    assert after["counts"] == {"indexed": 1, "queued": 2}
    assert after["queues"]["harvest"]["depth"] == 2
