"""The trash: moving 1,000 photos to the trash (target <= 2 s) and purging 1,000 (target <= 30 s), each beside a
baseline measured in the same run (`make bench`).

The catalog is generated, labelled as such: rows of indexed photos with a palette, fingerprints and a tag, two
renditions and an original each as small made-up objects in the local store, and a random vector per photo in
each Milvus collection (Milvus Lite). Baselines: the trash one photo per request (DELETE /gather/images/<id> per
photo, the way a client without the bulk endpoint would), and for the purge the bare deletes of the same objects,
vectors and rows with no queue, no marks and no checks (a lower bound: what any purge has to do), and one
photo per purge message (three Milvus calls per photo: what the batching saves).
"""

from __future__ import annotations

import io
import os
import random
import time

import pytest
from sqlalchemy import delete, select, update

import gather
from gather import trash
from mosaic.backends import Backends
from mosaic.backends.objects import content_key
from mosaic.backends.queue import PURGE
from mosaic.catalog import upgrade
from mosaic.catalog.images import new_id, now
from mosaic.catalog.rows import chunks
from mosaic.catalog.schema import colours, hashes, images, renditions, tags
from mosaic.settings import load_settings
from mosaic.vector_layouts import FINGERPRINT, STYLE, VISUAL, style_attributes, style_vector

PHOTOS = 1_000
SINGLE_SAMPLE = 200  # photos purged one per message (~70 ms each on Milvus Lite): measured on fewer, scaled
TRASH_TARGET, PURGE_TARGET = 2.0, 30.0


@pytest.fixture
def backends(tmp_path):
    opened = Backends(load_settings(data_dir=tmp_path / "var", ingest_samples=False))
    upgrade(opened.catalog)
    yield opened
    opened.close()


def generated_photos(backends: Backends, count: int) -> list[str]:
    """`count` generated indexed photos (rows, objects, vectors), written in bulk."""
    rng = random.Random(count)
    moment = now()
    photos, rows, children = [], [], {renditions: [], colours: [], hashes: [], tags: []}
    for _ in range(count):
        image_id, sha = new_id(), os.urandom(32).hex()
        original = content_key("originals", sha, ".jpg")
        backends.objects.put(original, io.BytesIO(b"generated original"))
        for name, side in (("thumb", 256), ("preview", 1024)):
            key = content_key("renditions", sha, f"-{side}.webp")
            backends.objects.put(key, io.BytesIO(b"generated rendition"))
            children[renditions].append({"image_id": image_id, "name": name, "object_key": key, "width": side,
                                         "height": side, "bytes": 19, "mime": "image/webp"})
        rows.append({"id": image_id, "sha256": sha, "object_key": original, "source": "upload",
                     "original_name": "generated.jpg", "bytes": 18, "mime": "image/jpeg", "width": 3000,
                     "height": 2000, "state": "indexed", "created_at": moment, "updated_at": moment,
                     "shot_at": moment.replace(tzinfo=None)})
        children[colours].append({"image_id": image_id, "rank": 0, "hex": "#808080", "red": 128, "green": 128,
                                  "blue": 128, "lab_l": 53.6, "lab_a": 0.0, "lab_b": 0.0, "share": 1.0, "name": "grey"})
        children[hashes] += [{"image_id": image_id, "kind": kind, "value": os.urandom(8).hex()}
                             for kind in ("phash", "dhash")]
        children[tags].append({"image_id": image_id, "label": "generated", "source": "detector", "score": 0.9})
        photos.append(image_id)
    with backends.catalog.begin() as connection:
        connection.execute(images.insert(), rows)
        for table, values in children.items():
            connection.execute(table.insert(), values)
    for part in chunks(photos, 250):
        backends.vectors.upsert(STYLE, [(i, style_vector([(50.0, 0.0, 0.0)], [1.0], 3000, 2000)) for i in part],
                                [style_attributes(3000, 2000, None)] * len(part))
        backends.vectors.upsert(FINGERPRINT, [(i, os.urandom(16)) for i in part])
        backends.vectors.upsert(VISUAL, [(i, [rng.random() for _ in range(VISUAL.dim)]) for i in part])
    return photos


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def test_moving_1000_photos_to_the_trash(backends):
    bulk, one_by_one = generated_photos(backends, PHOTOS), generated_photos(backends, PHOTOS)
    client = gather.create_app(backends.settings, backends).test_client()

    def bulk_request():
        answer = client.post("/images/delete", json={"ids": bulk})
        assert answer.get_json()["trashed"] == PHOTOS

    def per_photo_requests():
        for image_id in one_by_one:
            assert client.delete(f"/images/{image_id}").status_code == 200

    ours, baseline = _timed(bulk_request), _timed(per_photo_requests)
    print(f"\ntrash {PHOTOS:,} generated photos: {ours:.3f} s (POST /gather/images/delete) vs {baseline:.3f} s "
          f"(DELETE /gather/images/<id> per photo) -> {baseline / ours:.1f}x; target <= {TRASH_TARGET:g} s")
    assert client.get("/trash").get_json()["total"] == 2 * PHOTOS
    assert ours <= TRASH_TARGET


def _drain(backends: Backends) -> None:
    while (delivery := backends.queue.get(PURGE, timeout=0.05)) is not None:
        trash.purge_image(backends, delivery.body)
        backends.queue.ack(delivery)


def test_purging_1000_photos(backends):
    purged, bare = generated_photos(backends, PHOTOS), generated_photos(backends, PHOTOS)
    single = generated_photos(backends, SINGLE_SAMPLE)

    def purge():
        trash.trash(backends, purged, purge=True)
        _drain(backends)

    def one_photo_per_message():
        trash.trash(backends, single, purge=False)
        with backends.catalog.begin() as connection:
            connection.execute(update(images).where(images.c.id.in_(single)).values(purge_requested_at=now()))
        for image_id in single:
            backends.queue.publish(PURGE, {"image_id": image_id})
        _drain(backends)

    def bare_deletes():
        with backends.catalog.connect() as connection:
            keys = list(connection.execute(select(images.c.object_key).where(images.c.id.in_(bare))).scalars())
            for part in chunks(bare):
                keys += connection.execute(select(renditions.c.object_key)
                                           .where(renditions.c.image_id.in_(part))).scalars().all()
        for part in chunks(bare):
            for collection in (STYLE, FINGERPRINT, VISUAL):
                backends.vectors.delete(collection, part)
        for key in keys:
            backends.objects.delete(key)
        with backends.catalog.begin() as connection:
            for part in chunks(bare):
                connection.execute(delete(images).where(images.c.id.in_(part)))

    ours, baseline = _timed(purge), _timed(bare_deletes)
    per_photo = _timed(one_photo_per_message) * PHOTOS / SINGLE_SAMPLE
    print(f"\npurge {PHOTOS:,} generated photos (3 objects, 3 vectors, rows each): {ours:.2f} s "
          f"(queued, {trash.PURGE_BATCH} photos per message, idempotent steps) vs {baseline:.2f} s (bare bulk "
          f"deletes, no queue: the lower bound) and {per_photo:.1f} s (one photo per message, measured on "
          f"{SINGLE_SAMPLE} and scaled); target <= {PURGE_TARGET:g} s")
    with backends.catalog.connect() as connection:
        assert connection.execute(select(images.c.id)).first() is None
    assert list(backends.objects.list("")) == []
    assert all(backends.vectors.count(collection) == 0 for collection in (STYLE, FINGERPRINT, VISUAL))
    assert ours <= PURGE_TARGET
