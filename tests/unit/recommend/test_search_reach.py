"""Words reach every photo: each real sample photo (.cache/photos), harvested through the real pipeline, is found
by searching at least one of its own label words (at least 95 % of them must be)."""

from __future__ import annotations

import io

import pytest

import recommend
from gather.storing import store_file
from harvest_worker.pipeline import Pipeline
from mosaic.catalog.schema import images, tags
from tests.enriched import module_backends

TARGET = 0.95


@pytest.fixture(scope="module")
def harvested(tmp_path_factory, photos_dir):
    """(backends, [image ids harvested]): every sample photo the pipeline could decode."""
    with module_backends(tmp_path_factory.mktemp("reach") / "var", max_upload_bytes=20_000_000,
                         max_pixels=50_000_000) as backends:
        pipeline = Pipeline(backends.settings)
        pipeline.register(backends)
        ids = []
        for path in sorted(p for p in photos_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
            stored = store_file(backends, io.BytesIO(path.read_bytes()), path.name, "upload")
            if stored.status != "stored":
                continue  # not a photo (refused by its bytes) or a copy of one already stored
            try:
                pipeline.harvest(backends, {"image_id": stored.id})
            except Exception:  # cannot be decoded: the photo fails, nothing to search
                continue
            ids.append(stored.id)
        with backends.catalog.connect() as connection:
            done = set(connection.execute(images.select().with_only_columns(images.c.id)
                                          .where(images.c.state == "harvested")).scalars())
        yield backends, [image_id for image_id in ids if image_id in done]


def test_at_least_95_percent_of_the_sample_photos_are_found_by_one_of_their_labels(harvested):
    backends, ids = harvested
    client = recommend.create_app(backends.settings, backends).test_client()
    with backends.catalog.connect() as connection:
        labels: dict[str, list[str]] = {}
        for image_id, label in connection.execute(tags.select().with_only_columns(tags.c.image_id, tags.c.label)):
            labels.setdefault(image_id, []).append(label)
    reached = []
    for image_id in ids:
        for label in labels.get(image_id, []):
            body = client.get("/search", query_string={"q": f'"{label}"', "limit": 200}).get_json()
            if image_id in {result["id"] for result in body["results"]}:
                reached.append(image_id)
                break
    print(f"\nreachable by a label word: {len(reached)} of {len(ids)} photos")
    assert len(ids) >= 20
    assert len(reached) >= TARGET * len(ids), [image_id for image_id in ids if image_id not in reached]
