"""Importing a generated Unsplash dataset folder (published format, hard cases included) whose
photos come from a local server that misbehaves: metadata, downloads, resume, and the original
platform's /gather/download and /gather/status routes on the running platform."""

from __future__ import annotations

import json
import time

import pytest
import requests
from sqlalchemy import select

from gather.unsplash.importer import import_unsplash, sized
from mosaic.backends import Backends
from mosaic.catalog import upgrade
from mosaic.catalog.schema import dataset_keywords, dataset_photos, downloads
from mosaic.settings import load_settings
from tests.platform import running_platform, wait_for_states
from tests.unsplash_fixture import BAD_PHOTO_ROWS, write_dataset

ROWS = 6


def _unique_photo(base: bytes, index: int) -> bytes:
    # The real dog.jpg with a JPEG comment naming the row: the same picture, different bytes.
    comment = f"mosaic test photo {index}".encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


@pytest.fixture
def dataset(tmp_path, flaky_server, photos_dir):
    base = (photos_dir / "darknet" / "dog.jpg").read_bytes()
    ids = write_dataset(tmp_path / "unsplash-lite-1.4.1", ROWS, photo_url=lambda pid: flaky_server.url(f"/{pid}.jpg"))
    for index, photo_id in enumerate(ids):
        flaky_server.add(f"/{photo_id}.jpg", _unique_photo(base, index))
    return tmp_path / "unsplash-lite-1.4.1", ids


def _backends(tmp_path) -> Backends:
    opened = Backends(load_settings(data_dir=tmp_path / "var", url_allowlist=["127.0.0.1"], download_backoff=0.01,
                                    download_timeout=1, download_retries=2))
    upgrade(opened.catalog)
    return opened


def test_import_stores_metadata_and_originals_and_a_rerun_resumes(tmp_path, dataset, flaky_server):
    folder, ids = dataset
    flaky_server.add(f"/{ids[0]}.jpg", flaky_server.routes[f"/{ids[0]}.jpg"].body, fail_429=1, retry_after=0)
    flaky_server.add(f"/{ids[1]}.jpg", flaky_server.routes[f"/{ids[1]}.jpg"].body, truncate=1)
    flaky_server.add(f"/{ids[2]}.jpg", flaky_server.routes[f"/{ids[2]}.jpg"].body, fail_500=99)
    backends = _backends(tmp_path)
    try:
        first = import_unsplash(backends, folder)
        assert (first["stored"], first["failed"], first["bad_rows"]) == (ROWS - 1, 1, BAD_PHOTO_ROWS)
        with backends.catalog.connect() as connection:
            linked = dict(connection.execute(select(dataset_photos.c.photo_id, dataset_photos.c.image_id)).all())
            keywords = connection.execute(select(dataset_keywords)).mappings().all()
            fetched = list(connection.execute(select(downloads.c.url)).scalars())
        assert set(linked) == set(ids) and linked[ids[2]] is None
        assert all(linked[i] for i in ids if i != ids[2])
        assert keywords and all(k["photo_id"] in linked for k in keywords)
        assert len(fetched) == ROWS and all(url.endswith("?w=1920") for url in fetched)  # the CDN width

        flaky_server.add(f"/{ids[2]}.jpg", flaky_server.routes[f"/{ids[2]}.jpg"].body)  # the server recovered
        flaky_server.reset_hits()
        second = import_unsplash(backends, folder)
        assert (second["stored"], second["failed"]) == (1, 0)
        assert dict(flaky_server.hits) == {f"/{ids[2]}.jpg": 1}  # stored photos were not fetched again
    finally:
        backends.close()


def test_the_cdn_width_replaces_any_given_one():
    assert sized("https://images.unsplash.com/photo-1?ixid=abc&w=400", 1920) == (
        "https://images.unsplash.com/photo-1?ixid=abc&w=1920")


def test_the_original_platforms_download_and_status_routes(tmp_path, dataset):
    folder, ids = dataset
    env = {"MOSAIC_DATASET_DIR": str(folder), "MOSAIC_URL_ALLOWLIST": json.dumps(["127.0.0.1"])}
    with running_platform(tmp_path / "data", env) as base:
        before = requests.get(f"{base}/gather/status", timeout=10).json()
        assert before["status"] == "completed" and before["message"] == "0 of 0 images downloaded"
        started = requests.get(f"{base}/gather/download", timeout=10).json()
        assert started["status"] == "success", started
        status = {}
        for _ in range(300):
            status = requests.get(f"{base}/gather/status", timeout=10).json()
            if status["status"] != "in progress":
                break
            time.sleep(0.2)
        assert status["status"] == "completed", status
        assert status["message"] == f"{ROWS} of {ROWS} images downloaded"
        assert status["bad_rows"] == BAD_PHOTO_ROWS
        imported = requests.get(f"{base}/gather/imports/{status['import_id']}", timeout=10).json()
        assert imported["stored"] == ROWS and imported["batch_id"]
        batch = requests.get(f"{base}/gather/batches/{imported['batch_id']}", timeout=10).json()
        image_ids = [f["id"] for f in batch["files"]]
        records = wait_for_states(base, image_ids, {"indexed", "failed"})
        assert {r["state"] for r in records.values()} == {"indexed"}
        assert {r["source"] for r in records.values()} == {"unsplash"}


def test_download_without_a_dataset_folder_says_so(tmp_path):
    with running_platform(tmp_path / "data", {"MOSAIC_DATASET_DIR": str(tmp_path / "missing")}) as base:
        answer = requests.get(f"{base}/gather/download", timeout=10)
        assert answer.status_code == 404
        assert answer.json()["status"] == "error" and "does not exist" in answer.json()["message"]
