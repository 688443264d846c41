"""POST /gather/uploads over HTTP (Flask test client, embedded backends): statuses and errors."""

import io

import pytest

import gather
from mosaic.backends import Backends
from mosaic.catalog import upgrade
from mosaic.settings import load_settings


@pytest.fixture
def client(tmp_path):
    backends = Backends(load_settings(data_dir=tmp_path / "var", max_upload_bytes=300_000,
                                      max_request_bytes=1_000_000))
    upgrade(backends.catalog)
    yield gather.create_app(backends.settings, backends).test_client()
    backends.close()


def _post(client, *files, field="files"):
    data = {field: [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/uploads", data=data, content_type="multipart/form-data")


def test_one_file_over_the_size_cap_is_413_with_the_limit(client):
    answer = _post(client, ("big.jpg", b"\xff\xd8\xff" + b"0" * 400_000))
    assert answer.status_code == 413
    body = answer.get_json()
    assert body["error"] == "rejected" and "300,000 bytes" in body["message"]


def test_a_request_over_the_request_cap_is_413_json(client):
    answer = _post(client, ("huge.jpg", b"0" * 1_200_000))
    assert answer.status_code == 413
    assert answer.get_json()["error"] == "too_large" and "1,000,000 bytes" in answer.get_json()["message"]


def test_only_bad_files_answer_with_the_matching_status(client):
    assert _post(client, ("a.txt", b"hello"), ("b.txt", b"world")).status_code == 415
    assert _post(client, ("a.jpg", b"")).status_code == 400
    mixed = _post(client, ("a.jpg", b""), ("b.txt", b"hello"))
    assert mixed.status_code == 422 and "a.jpg: file is empty" in mixed.get_json()["message"]


def test_no_files_is_400_and_names_the_field(client):
    answer = client.post("/uploads", data={}, content_type="multipart/form-data")
    assert answer.status_code == 400 and "`files`" in answer.get_json()["message"]


def test_a_mixed_batch_stores_the_good_ones_and_the_batch_shows_them(client, photos_dir):
    dog = (photos_dir / "darknet" / "dog.jpg").read_bytes()
    answer = _post(client, ("dog.jpg", dog), ("again.jpg", dog), ("notes.txt", b"text"), field="files[]")
    assert answer.status_code == 201
    files = answer.get_json()["files"]
    assert [f["status"] for f in files] == ["stored", "duplicate", "rejected"]
    assert files[1]["duplicate_of"] == files[0]["id"]
    batch = client.get(f"/batches/{answer.get_json()['batch']}").get_json()
    assert [f["state"] or f["status"] for f in batch["files"]] == ["stored", "stored", "rejected"]
    assert client.get("/batches/nope").status_code == 404


def test_a_url_list_import_is_queued_with_its_total(client):
    answer = client.post("/imports/urls", json={"urls": ["http://a.example/1.jpg", " http://a.example/1.jpg ",
                                                          "http://b.example/2.jpg", ""]})
    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    assert body["kind"] == "urls" and body["state"] == "queued" and body["total"] == 2  # blanks and repeats dropped
    assert client.get(f"/imports/{body['id']}").get_json()["source"] == "http://a.example/1.jpg and 1 more"


def test_import_runs_are_listed_newest_first(client):
    assert client.get("/imports").get_json() == {"imports": []}
    first = client.post("/imports/urls", json={"urls": ["http://a.example/1.jpg"]}).get_json()
    second = client.post("/imports/urls", json={"urls": ["http://b.example/2.jpg"]}).get_json()
    listed = client.get("/imports").get_json()["imports"]
    assert [run["id"] for run in listed] == [second["id"], first["id"]]
    assert [run["id"] for run in client.get("/imports?limit=1").get_json()["imports"]] == [second["id"]]
    for bad in ("0", "101", "ten", "-1"):
        answer = client.get(f"/imports?limit={bad}")
        assert answer.status_code == 400 and "limit" in answer.get_json()["fields"], bad


@pytest.mark.parametrize("payload, field, reason", [
    ({"urls": "http://a.example/1.jpg"}, "urls", "valid list"), ([1, 2], "body", "valid dictionary"),
    ({"urls": [" "]}, "urls", "the list holds no URL"), ({}, "urls", "Field required"),
    ({"urls": ["http://a.example/" + "x" * 2100]}, "urls.0", "at most 2048 characters"),
    ({"urls": ["http://a.example/1.jpg"], "limit": 3}, "limit", "Extra inputs are not permitted"),
])
def test_a_bad_url_list_is_400_naming_the_field(client, payload, field, reason):
    answer = client.post("/imports/urls", json=payload).get_json()
    assert answer["error"] == "invalid_request" and reason in answer["fields"][field], answer
