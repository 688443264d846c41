"""Hostile HTTP against every service (issue 12): bad and huge JSON, internals in 500s, outages as 503s,
liveness and readiness, the CDN that never decodes, odd dashboard parameters. Flask test clients over
embedded backends; each test failed before the fix it guards."""

from __future__ import annotations

import io
import logging
import re
import struct
import time
import zlib

import pytest
from flask import Flask
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

import cdn
import gather
import harvest
import recommend
import visualize
from gateway.app import SERVICES, create_gateway
from gather.storing import store_file
from mosaic.catalog.images import get_image, set_state
from mosaic.catalog.schema import renditions
from mosaic.imaging.renditions import MIME, render, rendition_key
from mosaic.settings import load_settings
from mosaic.web import MAX_JSON_BYTES, MAX_JSON_DEPTH, create_service_app, json_depth
from tests.servers import free_port

APPS = {"gather": gather, "harvest": harvest, "recommend": recommend, "cdn": cdn, "visualize": visualize}
# Every route that reads a JSON body, with a body it accepts.
JSON_ROUTES = {
    "/gather/imports": {"limit": 1},
    "/gather/imports/urls": {"urls": ["https://example.com/a.jpg"]},
    "/harvest/reprocess": {"ids": []},
    "/recommend/recommend": {"colour": "#b14343"},
    "/recommend/feedback": {"profile_id": "p", "image_id": "i", "vote": "like"},
    "/recommend/duplicates/some-group/resolve": {},
}
NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    from mosaic.catalog import open_catalog, upgrade

    data = tmp_path_factory.mktemp("hostile") / "data"
    # No token (auth has its own tests); vectors at a closed port: a backend that is down.
    settings = load_settings(data_dir=data, vectors_url="http://127.0.0.1:9/unused", api_token="")
    engine = open_catalog(settings.catalog_url)
    upgrade(engine)
    engine.dispose()
    return settings


@pytest.fixture(scope="module")
def gateway(settings):
    return create_gateway(settings)


@pytest.fixture
def client(gateway):
    return Client(gateway)


def _post_routes(gateway) -> list[str]:
    """Every POST route of every service, path parameters filled in."""
    paths = []
    for prefix, app in gateway.extensions["mosaic.services"].items():
        for rule in app.url_map.iter_rules():
            if "POST" in rule.methods:
                paths.append(prefix + re.sub(r"<[^>]+>", "x", rule.rule))
    return sorted(paths)


# --- defect 7: nested JSON was a 500 on every JSON POST, the 500 echoing the exception ---

@pytest.mark.parametrize("path", sorted(JSON_ROUTES))
def test_nested_json_is_a_400_on_every_json_route(client, path):
    answer = client.post(path, data=NESTED, content_type="application/json")
    assert answer.status_code == 400, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["error"] == "bad_json" and f"more than the {MAX_JSON_DEPTH} allowed" in body["message"]
    assert "Recursion" not in answer.get_data(as_text=True)


def test_no_post_route_answers_nested_json_with_a_5xx(client, gateway):
    routes = _post_routes(gateway)
    assert set(JSON_ROUTES) <= set(routes) | {"/recommend/duplicates/some-group/resolve"}
    for path in routes:
        answer = client.post(path, data=NESTED, content_type="application/json")
        assert answer.status_code < 500, (path, answer.get_data(as_text=True))


BAD_BODIES = [
    b"{", b'{"colour": "#b14343"', b"\xff\xfe\x00", b"[1, 2,]", b"1" * 5000,  # digits past int's limit
    b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1), b"{'single': 'quotes'}",
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
@pytest.mark.parametrize("path", ["/recommend/recommend", "/harvest/reprocess", "/gather/imports"])
def test_bad_json_of_any_shape_is_a_400(client, path, body):
    # /harvest/reprocess and /gather/imports took unreadable JSON for {}: reprocess everything, import the dataset.
    answer = client.post(path, data=body, content_type="application/json")
    assert answer.status_code == 400, (body[:40], answer.get_data(as_text=True))
    assert set(answer.get_json()) >= {"error", "message"}


def test_json_depth_ignores_brackets_in_strings():
    assert json_depth(b'{"a": ["[[[[[[", {"b": "]]]{{{"}]}') == 3
    assert json_depth(b'"\\"[[["') == 0
    assert json_depth(NESTED) > 10 * MAX_JSON_DEPTH  # counted only as far as needed


def test_deep_but_allowed_json_reaches_the_view(client):
    body = b'{"colour": "#b14343", "x":' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    answer = client.post("/recommend/recommend", data=body, content_type="application/json")
    assert answer.status_code == 400 and set(answer.get_json()["fields"]) == {"x"}  # the contract's judgement


# --- defect 13: JSON bodies up to the 2 GiB upload limit were read into memory ---

class _Untouchable(io.RawIOBase):
    def readable(self):
        return True

    def readinto(self, buffer):
        raise AssertionError("the body was read")


class _Counting(io.RawIOBase):
    def __init__(self, total: int):
        self.total, self.given = total, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.total - self.given)
        buffer[:n] = b" " * n
        self.given += n
        return n


@pytest.mark.parametrize("path", ["/recommend/recommend", "/gather/imports/urls", "/harvest/reprocess"])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_large_json_body_is_a_413_without_being_read(gateway, path, content_type):
    environ = EnvironBuilder(path=path, method="POST", content_type=content_type).get_environ()
    environ.update({"CONTENT_LENGTH": str(100 * 1024 * 1024), "wsgi.input": _Untouchable()})
    app_iter, status, headers = run_wsgi_app(gateway, environ)
    body = b"".join(app_iter)
    assert status.startswith("413"), body
    assert f"limit of {MAX_JSON_BYTES:,} bytes".encode() in body


def test_a_chunked_json_body_is_cut_off_at_the_limit(gateway):
    stream = _Counting(50 * 1024 * 1024)
    environ = EnvironBuilder(path="/recommend/recommend", method="POST", content_type="application/json").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    app_iter, status, _ = run_wsgi_app(gateway, environ)
    b"".join(app_iter)
    assert status.startswith("413")
    assert stream.given == MAX_JSON_BYTES + 1  # one byte past the limit tells, not 50 MB


def test_uploads_keep_their_own_larger_limit(client):
    big = b"\x00" * (2 * MAX_JSON_BYTES)
    answer = client.post("/gather/uploads", data={"files": [(io.BytesIO(big), "big.jpg")]},
                         content_type="multipart/form-data")
    assert answer.status_code == 415 and answer.get_json()["files"][0]["status"] == "rejected"  # not an image


# --- a 500 never shows internals; every request has an id ---

def _failing_app(settings) -> Flask:
    app = create_service_app("boom", settings, ("catalog",))

    @app.get("/boom")
    def boom():
        raise RuntimeError("password=hunter2 at /srv/mosaic/secret.py")

    return app


def test_a_500_says_only_its_request_id_and_the_log_has_the_rest(settings, caplog):
    client = _failing_app(settings).test_client()
    with caplog.at_level(logging.ERROR):
        answer = client.get("/boom")
    assert answer.status_code == 500
    body = answer.get_json()
    assert body["error"] == "internal_error" and body["request_id"] == answer.headers["X-Request-ID"]
    assert "hunter2" not in answer.get_data(as_text=True) and "RuntimeError" not in answer.get_data(as_text=True)
    record = next(r for r in caplog.records if r.exc_info)
    assert "hunter2" in str(record.exc_info[1]) and body["request_id"] in record.getMessage()


def test_request_ids_are_kept_when_sane_and_made_otherwise(client):
    assert client.get("/cdn/show/x", headers={"X-Request-ID": "trace-42.a"}).headers["X-Request-ID"] == "trace-42.a"
    for bad in ("has spaces", "x" * 200, "<script>"):
        made = client.get("/cdn/show/x", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert made != bad and re.fullmatch(r"[0-9a-f]{32}", made)


# --- defect 18: a database outage gave a 500 naming the database host and port ---

@pytest.fixture
def outage(tmp_path):
    """Service apps whose catalog is a PostgreSQL server that is not there."""
    port = free_port()
    settings = load_settings(data_dir=tmp_path / "data", api_token="",
                             catalog_url=f"postgresql://mosaic:s3cret@127.0.0.1:{port}/mosaic")
    return port, {name: APPS[name].create_app(settings).test_client() for name in APPS}


def test_a_database_outage_is_a_503_without_internals(outage, photos_dir):
    port, clients = outage
    dog = (photos_dir / "darknet" / "dog.jpg").read_bytes()
    answers = [
        clients["gather"].post("/uploads", data={"files": [(io.BytesIO(dog), "dog.jpg")]},
                               content_type="multipart/form-data"),
        clients["harvest"].get("/images/0123456789abcdef"),
        clients["cdn"].get("/show/0123456789abcdef"),
        clients["visualize"].get("/graph/year"),
    ]
    for answer in answers:
        text = answer.get_data(as_text=True)
        assert answer.status_code == 503, text
        assert answer.headers["Retry-After"] == "5"
        assert answer.get_json()["error"] == "unavailable" and "catalog" in answer.get_json()["message"]
        assert "127.0.0.1" not in text and str(port) not in text and "s3cret" not in text and "psycopg" not in text


# --- defect 17: health answered 200 "degraded" while a required backend was down ---

@pytest.mark.parametrize("name", sorted(SERVICES))
def test_liveness_is_200_and_readiness_503_while_a_backend_is_down(client, name):
    health = client.get(f"/{name}/api/v1/health")
    ready = client.get(f"/{name}/api/v1/ready")
    assert health.status_code == 200 and "backends" in health.get_json()
    needs_vectors = "vectors" in SERVICES[name].BACKENDS  # at a closed port in these tests
    assert ready.status_code == (503 if needs_vectors else 200), ready.get_data(as_text=True)
    assert ready.get_json()["ready"] is not needs_vectors
    if needs_vectors:
        assert health.get_json()["status"] == "degraded" and ready.get_json()["down"] == ["vectors"]
        assert ready.headers["Retry-After"]


def test_liveness_answers_even_when_every_backend_is_down(outage):
    _, clients = outage
    health, ready = clients["visualize"].get("/api/v1/health"), clients["visualize"].get("/api/v1/ready")
    assert health.status_code == 200 and health.get_json()["status"] == "down"
    assert ready.status_code == 503 and ready.get_json()["down"] == ["catalog"]


# --- defect 5: the CDN decoded originals on request; and its headers ---

def _giant_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    compressor = zlib.compressobj(6)
    row = b"\x00" + b"\x80\x80" * 10_900
    body = b"".join(compressor.compress(row) for _ in range(10_900)) + compressor.flush()
    header = struct.pack(">IIBBBBB", 10_900, 10_900, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.fixture
def cdn_client(backends):
    backends.settings = backends.settings.model_copy(update={"max_pixels": 120_000_000})  # the giant passes
    return cdn.create_app(backends.settings, backends).test_client()


def test_a_pending_rendition_is_a_202_and_nothing_is_decoded(backends, cdn_client, monkeypatch):
    def no_decoding(*args, **kwargs):
        raise AssertionError("the CDN decoded an original")

    monkeypatch.setattr("mosaic.imaging.decode.decode", no_decoding)
    stored = store_file(backends, io.BytesIO(_giant_png()), "giant.png", "upload")  # the 16-bit 10900²
    assert stored.status == "stored", stored
    started = time.perf_counter()
    for size in ("thumb", "preview"):
        answer = cdn_client.get(f"/show/{stored.id}?size={size}")
        assert answer.status_code == 202, answer.get_data(as_text=True)
        assert answer.headers["Retry-After"] == "2" and answer.headers["Cache-Control"] == "no-store"
        assert answer.get_json()["status"] == "pending"
    assert time.perf_counter() - started < 1
    with backends.catalog.begin() as connection:
        set_state(connection, stored.id, "failed", error="too large to decode")
    failed = cdn_client.get(f"/show/{stored.id}?size=thumb")
    assert failed.status_code == 404 and "too large to decode" in failed.get_json()["message"]
    with backends.catalog.begin() as connection:
        set_state(connection, stored.id, "indexed")
    assert cdn_client.get(f"/show/{stored.id}?size=thumb").status_code == 404


def test_made_renditions_and_originals_are_streamed_with_their_length(backends, cdn_client, photos_dir):
    from PIL import Image

    dog = (photos_dir / "darknet" / "dog.jpg").read_bytes()
    stored = store_file(backends, io.BytesIO(dog), "dog.jpg", "upload")
    made = render(Image.open(io.BytesIO(dog)).convert("RGB"), "thumb", 256)
    with backends.catalog.connect() as connection:
        key = rendition_key(get_image(connection, stored.id)["sha256"], 256)
    backends.objects.put(key, io.BytesIO(made.data), size=len(made.data), content_type=MIME)
    with backends.catalog.begin() as connection:
        connection.execute(renditions.insert().values(image_id=stored.id, name="thumb", object_key=key,
                                                      width=made.width, height=made.height,
                                                      bytes=len(made.data), mime=MIME))
    thumb = cdn_client.get(f"/show/{stored.id}?size=thumb")
    assert thumb.status_code == 200 and thumb.get_data() == made.data and thumb.mimetype == MIME
    original = cdn_client.get(f"/show/{stored.id}", buffered=False)
    assert original.status_code == 200 and original.is_streamed
    assert int(original.headers["Content-Length"]) == len(dog) and original.get_data() == dog
    original.close()
    for answer in (thumb, original, cdn_client.get("/show/nope")):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "Server" not in answer.headers


# --- defects 8 and 9: dashboard parameters that were 500s ---

@pytest.mark.parametrize("query, field, reason", [
    ("to=9999-12-31", "to", "must be a date before 9999-12-31"),
    ("from=9999-12-31", "from", "must be a date before 9999-12-31"),
    ("to=2024-13-45", "to", "valid date"),
    ("country=%00", "country", "must be printable text"),
    ("tag=" + "t" * 500, "tag", "at most 200 characters"),
])
def test_odd_dashboard_filters_are_400_with_a_reason(client, query, field, reason):
    answer = client.get(f"/visualize/graph/year?{query}")
    assert answer.status_code == 400 and reason in answer.get_json()["fields"][field], answer.get_data(as_text=True)


@pytest.mark.parametrize("name", ["a" * 300, "x" * 5000 + ".json", "..%2F..%2Fviews.py", "%00.json", "world_110m"])
def test_unknown_map_outlines_are_404_without_the_install_path(client, name):
    answer = client.get(f"/visualize/topojson/{name}")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 404, text
    assert "/visualize/" not in answer.get_json()["message"] and "site-packages" not in text and len(text) < 400
    assert client.get("/visualize/topojson/world_110m.json").status_code == 200


def test_the_api_document_tells_the_new_answers(gateway):
    from gateway.app import api_document

    paths = api_document(gateway)["paths"]
    ready = paths["/recommend/api/v1/ready"]["get"]["responses"]
    assert {"200", "503"} <= set(ready) and "Retry-After" in ready["503"]["headers"]
    assert "503" not in paths["/recommend/api/v1/health"]["get"]["responses"]  # liveness: always 200
    show = paths["/cdn/show/{name}"]["get"]["responses"]
    assert "Retry-After" in show["202"]["headers"] and "404" in show
    recommend_post = paths["/recommend/recommend"]["post"]["responses"]
    assert {"400", "413", "503"} <= set(recommend_post)
