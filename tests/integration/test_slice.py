"""The thin slice through every stage, driven over HTTP against `mosaic run`, as a user would.

Run twice: on the embedded backends (files under a temp data dir) and on the real servers
(PostgreSQL, RabbitMQ, an S3 server, Milvus served over gRPC).
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.platform import running_platform, wait_for_states

PHOTOS = ["darknet/dog.jpg", "darknet/eagle.jpg", "darknet/giraffe.jpg", "exif/IMG_0001.JPG", "exif/starfish.jpg"]
SERVICES = ("gather", "harvest", "recommend", "visualize", "cdn")


@pytest.fixture(params=["embedded", pytest.param("servers", marks=pytest.mark.servers)])
def platform(request, tmp_path):
    env = {}
    if request.param == "servers":
        env = request.getfixturevalue("server_env")
    with running_platform(tmp_path / "data", env) as base:
        yield base


def _upload(base: str, files: list[tuple[str, bytes]], field: str = "files"):
    return requests.post(f"{base}/gather/uploads", files=[(field, (name, data)) for name, data in files], timeout=60)


def test_upload_harvest_index_recommend_and_serve(platform, photos_dir):
    base = platform
    for service in SERVICES:
        health = requests.get(f"{base}/{service}/api/v1/health", timeout=10)
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok", health.json()

    originals = {path.split("/")[-1]: (photos_dir / path).read_bytes() for path in PHOTOS}
    bad = [("notes.txt", b"this is not a photo"), ("empty.jpg", b"")]
    response = _upload(base, list(originals.items()) + bad)
    assert response.status_code == 201, response.text
    body = response.json()
    by_name = {f["name"]: f for f in body["files"]}
    assert {by_name[name]["status"] for name in originals} == {"stored"}
    assert by_name["notes.txt"]["status"] == "rejected" and "not an image" in by_name["notes.txt"]["reason"]
    assert by_name["empty.jpg"]["status"] == "rejected" and "empty" in by_name["empty.jpg"]["reason"]
    ids = {name: by_name[name]["id"] for name in originals}
    assert len(set(ids.values())) == len(ids)

    # The same bytes again, sent as the original platform's clients do: a duplicate, not a copy.
    again = _upload(base, [("copy.jpg", originals["dog.jpg"])], field="files[]")
    assert again.status_code == 200
    assert again.json()["files"][0] == {"name": "copy.jpg", "status": "duplicate", "id": ids["dog.jpg"],
                                        "duplicate_of": ids["dog.jpg"], "reason": None}

    records = wait_for_states(base, list(ids.values()), {"indexed", "failed"})
    assert {r["state"] for r in records.values()} == {"indexed"}, records
    dog = records[ids["dog.jpg"]]
    assert (dog["width"], dog["height"]) == (768, 576)
    assert dog["exif"]["make"] == "Canon" and dog["exif"]["model"] == "Canon PowerShot S95"
    assert len(dog["colours"]) == 4
    assert sum(c["share"] for c in dog["colours"]) == pytest.approx(1.0)
    assert {"dog", "bicycle"} <= {o["label"] for o in dog["objects"]}
    assert dog["scenes"] and set(dog["fingerprints"]) == {"phash", "dhash"}
    assert {"vectors.style", "vectors.fingerprint", "vectors.visual", "objects"} <= set(dog["features"])
    iphone = records[ids["IMG_0001.JPG"]]
    assert iphone["exif"]["make"] == "Apple" and iphone["exif"]["orientation"] == 6
    assert iphone["place"]["country_code"] == "CN" and iphone["place"]["altitude"] > 0

    batch = requests.get(f"{base}/gather/batches/{body['batch']}", timeout=10).json()
    assert batch["counts"] == {"indexed": 5, "rejected": 2}

    for name, data in originals.items():
        shown = requests.get(f"{base}/cdn/show/{ids[name]}", timeout=10)
        assert shown.status_code == 200 and shown.content == data  # byte-exact, EXIF intact
        assert shown.headers["Content-Type"] == "image/jpeg"
    assert requests.get(f"{base}/cdn/show/{ids['dog.jpg']}.jpg", timeout=10).content == originals["dog.jpg"]
    thumb = requests.get(f"{base}{dog['renditions']['thumb']['url']}", timeout=30)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/webp"
    assert len(thumb.content) == dog["renditions"]["thumb"]["bytes"]
    etag = requests.get(f"{base}/cdn/show/{ids['dog.jpg']}", timeout=10).headers["ETag"]
    cached = requests.get(f"{base}/cdn/show/{ids['dog.jpg']}", headers={"If-None-Match": etag}, timeout=10)
    assert cached.status_code == 304 and "immutable" in cached.headers["Cache-Control"]
    assert requests.get(f"{base}/cdn/show/nope", timeout=10).status_code == 404

    profile = {"colour": dog["colours"][0]["hex"], "width": 768, "height": 576, "orientation": "landscape",
               "tags": ["dog"], "make": "Canon", "limit": 3}
    ranked = requests.post(f"{base}/recommend/recommend", json=profile, timeout=30)
    assert ranked.status_code == 200, ranked.text
    results = ranked.json()["results"]
    assert len(results) == 3
    assert results[0]["id"] == ids["dog.jpg"]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert results[0]["explanation"]["make"]["score"] == 1.0
    assert results[0]["url"] == f"/cdn/show/{ids['dog.jpg']}"
    assert ranked.json()["profile_id"]

    legacy = requests.post(f"{base}/recommend/recommend", timeout=30, json={"preferences": {
        "dominant_color": "#b14343", "imagewidth": 2448, "imageheight": 2448, "orientation": 0,
        "tags": ["cat"], "make": "APPLE"}})
    assert legacy.status_code == 200, legacy.text
    assert legacy.json()["results"][0]["id"] == ids["IMG_0001.JPG"]

    bad_profile = requests.post(f"{base}/recommend/recommend", json={"colour": "blue-ish"}, timeout=10)
    assert bad_profile.status_code == 400 and "colour" in bad_profile.json()["message"]

    status = requests.get(f"{base}/harvest/status", timeout=10).json()
    assert status["counts"] == {"indexed": 5}
    assert status["queues"]["harvest"]["depth"] == 0


def test_first_start_ingests_the_sample_photos_once(tmp_path, photos_dir):
    samples = tmp_path / "samples"
    samples.mkdir()
    for name in ("dog.jpg", "kite.jpg", "horses.jpg"):
        (samples / name).write_bytes((photos_dir / "darknet" / name).read_bytes())
    env = {"MOSAIC_INGEST_SAMPLES": "true", "MOSAIC_SAMPLES_DIR": str(samples)}
    for _ in range(2):  # the second start finds a catalog and ingests nothing more
        with running_platform(tmp_path / "data", env) as base:
            status = requests.get(f"{base}/harvest/status", timeout=10).json()
            assert status["total"] == 3
            results = []
            for _ in range(200):
                results = requests.post(f"{base}/recommend/recommend", json={"make": "Canon"}, timeout=10).json()[
                    "results"]
                if len(results) == 3:
                    break
                time.sleep(0.2)
            assert len(results) == 3
            assert {r["explanation"]["make"]["image"] for r in results[:2]} == {"Canon"}
