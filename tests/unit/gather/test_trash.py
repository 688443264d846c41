"""The trash (gather/trash.py): delete, restore, list, purge, over HTTP and as the purger's handler.

Two catalogs: real photos through the real pipeline (module-wide, for "absent everywhere"), and generated photos
(rows, objects and vectors made up here, labelled as such) for the purge, which destroys what it is given.
"""

from __future__ import annotations

import io
import os
import random
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update

import gather
import harvest
import recommend
from gather import trash
from harvest.dispatch import sweep_trash
from mosaic.backends.objects import content_key
from mosaic.backends.queue import PURGE
from mosaic.catalog import documents
from mosaic.catalog.images import new_id, now
from mosaic.catalog.schema import (
    album_photos,
    albums,
    colours,
    duplicate_resolutions,
    features,
    hashes,
    images,
    renditions,
    search_documents,
    tags,
)
from mosaic.vector_layouts import FINGERPRINT, STYLE, VISUAL, style_attributes, style_vector
from tests.enriched import enrich, module_backends
from tests.unit.recommend.test_search_views import dog_copies
from visualize.figures import timeline
from visualize.filters import Filters

PHOTOS = ("dog.jpg", "eagle.jpg", "horses.jpg", "kite.jpg", "person.jpg")


# -- a real catalog (module-wide: the pipeline loads its models once) -----------------------------------------


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, photos_dir):
    from PIL import Image

    with module_backends(tmp_path_factory.mktemp("trash") / "var") as backends:
        files = {name: (photos_dir / "darknet" / name).read_bytes() for name in PHOTOS}
        with Image.open(photos_dir / "darknet" / "dog.jpg") as dog:
            copies = dog_copies(dog.convert("RGB"))
        files.update({name: copies[name] for name in ("dog-half.jpg", "dog-q50.jpg")})
        yield backends, enrich(backends, files)


@pytest.fixture(scope="module")
def apps(catalog):
    backends, _ = catalog
    return (gather.create_app(backends.settings, backends).test_client(),
            recommend.create_app(backends.settings, backends).test_client())


@pytest.fixture
def clean(catalog):
    """Every test of the real catalog leaves it as it found it: nothing in the trash."""
    backends, _ = catalog
    yield
    with backends.catalog.begin() as connection:
        connection.execute(update(images).values(deleted_at=None, purge_requested_at=None))
        connection.execute(duplicate_resolutions.delete())
        documents.rebuild_all(connection)


def test_delete_moves_a_photo_to_the_trash_idempotently_and_restore_brings_it_back(catalog, apps, clean):
    backends, ids = catalog
    client, _ = apps
    first = client.delete(f"/images/{ids['eagle.jpg']}")
    assert first.status_code == 200
    body = first.get_json()
    assert body["id"] == ids["eagle.jpg"]
    deleted_at = datetime.fromisoformat(body["deleted_at"])
    assert deleted_at.tzinfo is not None and abs(now() - deleted_at) < timedelta(minutes=1)
    assert datetime.fromisoformat(body["purge_after"]) == deleted_at + timedelta(days=30)
    again = client.delete(f"/images/{ids['eagle.jpg']}").get_json()
    assert again == body  # idempotent: the first deletion's time stands

    listed = client.get("/trash").get_json()
    assert listed["total"] == 1 and listed["next_cursor"] is None
    item = listed["photos"][0]
    assert item["id"] == ids["eagle.jpg"] and item["deleted_at"] == body["deleted_at"]
    assert item["thumbnail_url"] == f"/cdn/show/{ids['eagle.jpg']}?size=thumb" and item["state"] == "indexed"
    assert {"width", "height", "shot_at", "taken", "uploaded_at", "place", "tags", "source",
            "purge_after"} <= set(item)
    assert "bird" in item["tags"] and len(item["tags"]) <= 3

    restored = client.post(f"/images/{ids['eagle.jpg']}/restore")
    assert restored.status_code == 200 and restored.get_json() == {"id": ids["eagle.jpg"], "restored": True}
    assert client.post(f"/images/{ids['eagle.jpg']}/restore").status_code == 200  # idempotent
    assert client.get("/trash").get_json() == {"photos": [], "next_cursor": None, "total": 0}


def test_a_photo_in_the_trash_has_no_search_document_until_it_is_restored(catalog, apps, clean):
    backends, ids = catalog
    client, discover = apps
    eagle = ids["eagle.jpg"]
    assert eagle in _ids(discover.get("/search", query_string={"q": "bird"}))
    assert client.delete(f"/images/{eagle}").status_code == 200
    assert eagle not in _ids(discover.get("/search", query_string={"q": "bird"}))
    with backends.catalog.begin() as connection:
        documents.rebuild(connection, [eagle])  # what a harvest finishing after the delete writes: nothing
        assert _document_count(connection, eagle) == 0
    assert client.post(f"/images/{eagle}/restore").status_code == 200
    assert eagle in _ids(discover.get("/search", query_string={"q": "bird"}))


def _document_count(connection, image_id: str) -> int:
    return connection.execute(select(func.count()).select_from(search_documents)
                              .where(search_documents.c.image_id == image_id)).scalar()


def test_bulk_delete_and_restore_count_and_list_unknown_ids(catalog, apps, clean):
    _, ids = catalog
    client, _ = apps
    chosen = [ids["kite.jpg"], ids["horses.jpg"], ids["person.jpg"]]
    answer = client.post("/images/delete", json={"ids": chosen + ["nope", chosen[0]]})
    assert answer.status_code == 200
    assert answer.get_json() == {"trashed": 3, "purging": 0, "unknown": ["nope"]}

    pages, cursor = [], None
    while True:
        page = client.get("/trash", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}).get_json()
        pages.append([item["id"] for item in page["photos"]])
        assert page["total"] == 3
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(page) for page in pages] == [2, 1] and sorted(sum(pages, [])) == sorted(chosen)

    restored = client.post("/images/restore", json={"ids": chosen[:2] + ["ghost"]}).get_json()
    assert restored == {"restored": 2, "unknown": ["ghost"]}
    assert [item["id"] for item in client.get("/trash").get_json()["photos"]] == [chosen[2]]


def test_unknown_ids_bad_cursors_and_bad_bodies_are_refused(apps):
    client, _ = apps
    assert client.delete("/images/nope").status_code == 404
    assert client.post("/images/nope/restore").status_code == 404
    bad = client.get("/trash?cursor=not-a-cursor")
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_cursor"
    empty = client.post("/images/delete", json={"ids": []})
    assert empty.status_code == 400 and "ids" in empty.get_json()["fields"]
    too_many = client.post("/images/delete", json={"ids": [f"id{n}" for n in range(10_001)]})
    assert too_many.status_code == 400
    assert client.post("/images/delete", json={"ids": ["a"], "purge": "yes"}).status_code == 400


def test_every_trash_endpoint_needs_the_token(backends):
    settings = backends.settings.model_copy(update={"api_token": SecretStr("s3cret-token")})
    client = gather.create_app(settings, backends).test_client()
    image_id = _fake_photo(backends)
    calls = [("delete", f"/images/{image_id}", None), ("post", "/images/delete", {"ids": [image_id]}),
             ("post", f"/images/{image_id}/restore", None), ("post", "/images/restore", {"ids": [image_id]}),
             ("post", "/trash/empty", None)]
    for method, path, body in calls:
        assert getattr(client, method)(path, json=body).status_code == 401, path
    assert _live(backends) == [image_id]
    authorised = client.delete(f"/images/{image_id}", headers={"Authorization": "Bearer s3cret-token"})
    assert authorised.status_code == 200


def test_a_trashed_photo_is_absent_from_recommendations_similar_colours_duplicates_dashboards_and_status(
        catalog, apps, clean):
    backends, ids = catalog
    client, discover = apps
    dog, copy = ids["dog.jpg"], ids["dog-half.jpg"]
    groups = discover.get("/duplicates").get_json()["groups"]
    assert len(groups) == 1 and set(groups[0]["members"]) == {dog, copy, ids["dog-q50.jpg"]}
    assert ids["eagle.jpg"] in _ids(discover.get(f"/similar/{ids['horses.jpg']}?limit=20"))
    colour = _main_colour(backends, ids["eagle.jpg"])
    assert ids["eagle.jpg"] in _ids(discover.get("/colours", query_string={"hex": colour}))
    recommended = discover.post("/recommend", json={"colour": colour, "limit": 50})
    assert recommended.status_code == 200, recommended.get_json()
    assert ids["eagle.jpg"] in _ids(recommended)
    with backends.catalog.connect() as connection:
        charted = _charted(connection)

    assert client.post("/images/delete", json={"ids": [ids["eagle.jpg"], copy]}).status_code == 200

    assert ids["eagle.jpg"] not in _ids(discover.get(f"/similar/{ids['horses.jpg']}?limit=20"))
    assert discover.get(f"/similar/{ids['eagle.jpg']}").status_code == 404
    assert ids["eagle.jpg"] not in _ids(discover.get("/colours", query_string={"hex": colour}))
    assert ids["eagle.jpg"] not in _ids(discover.post("/recommend", json={"colour": colour,
                                                                          "limit": 50}))
    groups = discover.get("/duplicates").get_json()["groups"]
    assert len(groups) == 1 and set(groups[0]["members"]) == {dog, ids["dog-q50.jpg"]}  # the copy left it
    assert set(discover.get(f"/duplicates/{dog}").get_json()["group"]["members"]) == {dog, ids["dog-q50.jpg"]}
    assert discover.get(f"/duplicates/{copy}").status_code == 404
    with backends.catalog.connect() as connection:
        assert _charted(connection) == charted - 2
        live = connection.execute(select(func.count()).select_from(images)
                                  .where(Filters().restrict(images.c.id))).scalar()
        filtered = connection.execute(select(func.count()).select_from(images)
                                      .where(Filters(date_from="2000-01-01").restrict(images.c.id))).scalar()
    assert live == len(ids) - 2 and filtered == len(ids) - 2
    status = harvest.create_app(backends.settings, backends).test_client().get("/status").get_json()
    assert status["trash"] == 2 and status["counts"] == {"indexed": len(ids) - 2} and status["total"] == len(ids) - 2


def test_resolving_a_group_with_trash_others_keeps_the_chosen_copy_only(catalog, apps, clean):
    backends, ids = catalog
    client, discover = apps
    group = discover.get("/duplicates").get_json()["groups"][0]
    keep = ids["dog-q50.jpg"]
    answer = discover.post(f"/duplicates/{group['id']}/resolve", json={"keep": keep, "trash_others": True})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["group"]["kept"] == keep and body["group"]["resolved"]
    assert sorted(body["trashed"]) == sorted(set(group["members"]) - {keep})
    assert sorted(item["id"] for item in client.get("/trash").get_json()["photos"]) == sorted(body["trashed"])
    assert discover.get("/duplicates").get_json()["groups"] == []
    plain = discover.post(f"/duplicates/{group['id']}/resolve", json={})  # the group is gone now
    assert plain.status_code == 404


def _ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    return [item["id"] for item in body.get("results", body.get("photos", []))]


def _main_colour(backends, image_id: str) -> str:
    with backends.catalog.connect() as connection:
        return connection.execute(select(colours.c.hex).where(colours.c.image_id == image_id, colours.c.rank == 0)
                                  ).scalar()


def _charted(connection) -> int:
    figure = timeline.year(connection, Filters())
    return int(sum(sum(trace.y) for trace in figure.data if trace.y is not None))


# -- generated photos: the purge --------------------------------------------------------------------------------


def _fake_photo(backends) -> str:
    """A generated photo: its catalog rows, an original and two renditions (made-up bytes), and a vector in each
    collection, as the pipeline would leave an indexed photo."""
    image_id, sha = new_id(), os.urandom(32).hex()
    moment = now()
    original = content_key("originals", sha, ".jpg")
    backends.objects.put(original, io.BytesIO(b"generated original " + sha.encode()))
    keys = {name: content_key("renditions", sha, f"-{side}.webp") for name, side in (("thumb", 256),
                                                                                    ("preview", 1024))}
    for key in keys.values():
        backends.objects.put(key, io.BytesIO(b"generated rendition"))
    with backends.catalog.begin() as connection:
        connection.execute(images.insert().values(
            id=image_id, sha256=sha, object_key=original, source="upload", original_name="generated.jpg",
            bytes=100, mime="image/jpeg", width=300, height=200, state="indexed", created_at=moment,
            updated_at=moment, shot_at=moment.replace(tzinfo=None)))
        connection.execute(renditions.insert(), [
            {"image_id": image_id, "name": name, "object_key": key, "width": 10, "height": 10, "bytes": 19,
             "mime": "image/webp"} for name, key in keys.items()])
        connection.execute(colours.insert().values(image_id=image_id, rank=0, hex="#808080", red=128, green=128,
                                                   blue=128, lab_l=53.6, lab_a=0, lab_b=0, share=1.0, name="grey"))
        connection.execute(hashes.insert(), [{"image_id": image_id, "kind": kind, "value": os.urandom(8).hex()}
                                             for kind in ("phash", "dhash")])
        connection.execute(tags.insert().values(image_id=image_id, label="generated", source="detector", score=0.9))
        connection.execute(features.insert().values(image_id=image_id, name="colours", version="1", updated_at=moment))
    rng = random.Random(image_id)
    backends.vectors.upsert(STYLE, [(image_id, style_vector([(50.0, 0.0, 0.0)], [1.0], 300, 200))],
                            [style_attributes(300, 200, None)])
    backends.vectors.upsert(FINGERPRINT, [(image_id, os.urandom(16))])
    backends.vectors.upsert(VISUAL, [(image_id, [rng.random() for _ in range(VISUAL.dim)])])
    return image_id


def _live(backends) -> list[str]:
    with backends.catalog.connect() as connection:
        return sorted(connection.execute(select(images.c.id)).scalars())


def _needed_objects(backends) -> set[str]:
    with backends.catalog.connect() as connection:
        return (set(connection.execute(select(images.c.object_key)).scalars())
                | set(connection.execute(select(renditions.c.object_key)).scalars()))


def _drain(backends) -> int:
    """Run the purger's handler on every waiting purge message, as `mosaic purger` does; how many photos they
    named."""
    named = 0
    while (delivery := backends.queue.get(PURGE, timeout=0.05)) is not None:
        trash.purge_image(backends, delivery.body)
        backends.queue.ack(delivery)
        named += len(delivery.body["image_ids"])
    return named


def assert_exactly_what_the_remaining_photos_need(backends) -> None:
    remaining = _live(backends)
    assert set(backends.objects.list("")) == _needed_objects(backends)
    for collection in (STYLE, FINGERPRINT, VISUAL):
        assert backends.vectors.count(collection) == len(remaining), collection.name
        assert set(backends.vectors.get_many(collection, remaining)) == set(remaining), collection.name


def test_purge_removes_the_original_the_renditions_the_vectors_and_the_rows(backends):
    kept, gone = _fake_photo(backends), _fake_photo(backends)
    with backends.catalog.begin() as connection:
        connection.execute(albums.insert().values(id="a1", name="trip", created_at=now(), updated_at=now()))
        connection.execute(album_photos.insert(), [{"album_id": "a1", "image_id": i, "added_at": now()}
                                                   for i in (kept, gone)])
        connection.execute(duplicate_resolutions.insert().values(group_id="g", best=kept, members=[kept, gone],
                                                                 resolved_at=now()))
        rendition_keys = list(connection.execute(select(renditions.c.object_key)
                                                 .where(renditions.c.image_id == gone)).scalars())
        original = connection.execute(select(images.c.object_key).where(images.c.id == gone)).scalar()
    client = gather.create_app(backends.settings, backends).test_client()
    answer = client.delete(f"/images/{gone}?purge=true")
    assert answer.status_code == 202 and answer.get_json() == {"id": gone, "purging": True}
    assert client.post(f"/images/{gone}/restore").status_code == 409  # being purged: it cannot come back
    assert _drain(backends) == 1

    assert _live(backends) == [kept]
    for key in [original, *rendition_keys]:
        assert not backends.objects.exists(key)
    for collection in (STYLE, FINGERPRINT, VISUAL):
        assert backends.vectors.get(collection, gone) is None
    with backends.catalog.connect() as connection:
        for table in (renditions, colours, hashes, tags, features, album_photos):
            assert connection.execute(select(func.count()).select_from(table)
                                      .where(table.c.image_id == gone)).scalar() == 0, table.name
        assert connection.execute(select(func.count()).select_from(duplicate_resolutions)).scalar() == 0
        assert connection.execute(select(func.count()).select_from(album_photos)).scalar() == 1
    assert_exactly_what_the_remaining_photos_need(backends)
    trash.purge_image(backends, {"image_id": gone})  # a redelivery: nothing left to do, no error
    with pytest.raises(Exception, match="not a purge message"):
        trash.purge_image(backends, {"image_ids": "everything"})


def test_a_message_alone_never_purges_a_photo_that_was_not_marked(backends):
    image_id = _fake_photo(backends)
    trash.purge_image(backends, {"image_id": image_id})
    assert _live(backends) == [image_id]
    assert backends.objects.exists(_needed_objects(backends).pop())


class Crash(Exception):
    pass


def _crash_after(target, name: str, calls: int, monkeypatch):
    real, seen = getattr(target, name), []

    def failing(*args, **kwargs):
        if len(seen) == calls:
            raise Crash(f"killed after {calls} {name} call(s)")
        seen.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)


# vectors.delete is called once per collection (3), objects.delete once per object (2 renditions, the original),
# then the rows: a crash before each of those steps, and one between the objects and the rows.
CRASH_POINTS = [("vectors", "delete", n) for n in range(3)] + [("objects", "delete", n) for n in range(3)] + [
    ("rows", "_forget_resolutions", 0)]


@pytest.mark.parametrize(("backend", "name", "calls"), CRASH_POINTS)
def test_a_purge_interrupted_at_any_step_ends_clean_when_run_again(backends, monkeypatch, backend, name, calls):
    kept, gone = _fake_photo(backends), _fake_photo(backends)
    trash.trash(backends, [gone], purge=True)
    target = trash if backend == "rows" else getattr(backends, backend)
    with monkeypatch.context() as patch:
        _crash_after(target, name, calls, patch)
        delivery = backends.queue.get(PURGE, timeout=1)
        with pytest.raises(Crash):
            trash.purge_image(backends, delivery.body)
        # The worker died holding the message: it is not acknowledged.
    with backends.catalog.connect() as connection:
        assert connection.execute(select(images.c.purge_requested_at).where(images.c.id == gone)).scalar()
    assert trash.restore(backends, [gone]) == {"restored": 0, "unknown": [gone]}  # half purged: never restored
    trash.purge_image(backends, delivery.body)  # the redelivery
    assert _live(backends) == [kept]
    assert_exactly_what_the_remaining_photos_need(backends)


def test_the_sweep_queues_expired_trash_and_marked_photos_whose_message_was_lost(backends):
    expired, recent, lost, live = (_fake_photo(backends) for _ in range(4))
    long_ago = now() - timedelta(days=31)
    with backends.catalog.begin() as connection:
        connection.execute(update(images).where(images.c.id == expired).values(deleted_at=long_ago))
        connection.execute(update(images).where(images.c.id == recent).values(deleted_at=now()))
        # Marked, but the process died before publishing: no message anywhere.
        connection.execute(update(images).where(images.c.id == lost)
                           .values(deleted_at=long_ago, purge_requested_at=now() - timedelta(hours=1)))
    assert sweep_trash(backends) == 2
    assert _drain(backends) == 2
    assert _live(backends) == sorted([recent, live])
    assert sweep_trash(backends) == 0  # nothing more to send
    assert_exactly_what_the_remaining_photos_need(backends)


def test_empty_trash_purges_every_trashed_photo(backends):
    photos = [_fake_photo(backends) for _ in range(4)]
    client = gather.create_app(backends.settings, backends).test_client()
    assert client.post("/images/delete", json={"ids": photos[:3]}).get_json()["trashed"] == 3
    answer = client.post("/trash/empty")
    assert answer.status_code == 202 and answer.get_json() == {"purging": 3}
    assert _drain(backends) == 3
    assert _live(backends) == [photos[3]]
    assert client.get("/trash").get_json()["total"] == 0
    assert_exactly_what_the_remaining_photos_need(backends)


def test_a_child_row_for_a_purged_photo_fails_cleanly_and_the_worker_then_finds_nothing(backends):
    """A harvest worker that enriched a photo while it was purged: its write fails on the missing row (retried,
    not resurrected), and the retry finds no photo and stops."""
    from harvest_worker.pipeline import Pipeline
    from mosaic.catalog.images import replace_children, set_state

    image_id = _fake_photo(backends)
    trash.trash(backends, [image_id], purge=True)
    _drain(backends)
    with pytest.raises(Exception, match="(?i)foreign key|integrity"):
        with backends.catalog.begin() as connection:
            set_state(connection, image_id, "harvested")  # an update by id: touches nothing
            replace_children(connection, tags, image_id, [{"label": "dog", "source": "detector", "score": 0.9}])
    Pipeline(backends.settings).harvest(backends, {"image_id": image_id})  # the retry: nothing to do
    assert _live(backends) == []


def test_a_photo_still_in_the_pipeline_is_purged_once_the_pipeline_is_done_with_it(backends):
    from harvest.dispatch import pending

    image_id = _fake_photo(backends)
    with backends.catalog.begin() as connection:
        connection.execute(update(images).where(images.c.id == image_id).values(state="harvested"))
    trash.trash(backends, [image_id], purge=True)
    assert _drain(backends) == 1
    assert _live(backends) == [image_id]  # the processor holds it: the purge waits
    with backends.catalog.begin() as connection:
        connection.execute(update(images).where(images.c.id == image_id).values(state="indexed"))
    assert sweep_trash(backends, lease_seconds=0) == 1 and _drain(backends) == 1
    assert _live(backends) == []

    stuck, fresh = _fake_photo(backends), _fake_photo(backends)
    with backends.catalog.begin() as connection:
        connection.execute(update(images).where(images.c.id == stuck).values(
            state="queued", deleted_at=now(), purge_requested_at=now() - trash.PIPELINE_GRACE))
        connection.execute(update(images).where(images.c.id == fresh).values(state="stored"))
    trash.trash(backends, [fresh], purge=True)
    assert pending(backends, 10) == []  # a photo marked for purging is never started
    assert _drain(backends) == 1 and _live(backends) == [stuck]
    assert sweep_trash(backends, lease_seconds=0) == 1 and _drain(backends) == 1  # past the grace: purged anyway
    assert _live(backends) == []
    assert_exactly_what_the_remaining_photos_need(backends)
