"""Security basics on the real service apps (Flask test clients, embedded backends in a tmp dir):
bearer token on mutating endpoints, open reads unless protected, CORS limited to listed origins,
and the CDN serving stored images only (no path traversal)."""

from __future__ import annotations

import io

import pytest
from pydantic import SecretStr

import cdn
import gather
import harvest
import recommend
import visualize
from gateway.runner import TOKEN_FILE, resolve_api_token
from gather.storing import store_file
from mosaic.catalog.images import get_image
from mosaic.contract import contract_of
from mosaic.security import is_mutating
from mosaic.settings import load_settings

TOKEN = "s3cret-token-for-tests"
ALLOWED = "https://ui.example"
APPS = {"gather": gather, "harvest": harvest, "recommend": recommend, "cdn": cdn, "visualize": visualize}


@pytest.fixture
def make_client(backends, tmp_path):
    """A test client for one service, built with these settings over the shared embedded backends."""

    def make(name: str, **overrides):
        dataset = tmp_path / "dataset"
        dataset.mkdir(exist_ok=True)
        settings = backends.settings.model_copy(update={"dataset_dir": dataset, **overrides})
        return APPS[name].create_app(settings, backends).test_client()

    return make


@pytest.fixture
def locked(make_client):
    """Clients of services whose settings carry an API token."""
    return lambda name, **more: make_client(name, api_token=SecretStr(TOKEN), **more)


def _bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _upload(client, content: bytes, headers=None):
    return client.post("/uploads", data={"files": [(io.BytesIO(content), "dog.jpg")]},
                       content_type="multipart/form-data", headers=headers or {})


MUTATIONS = [
    ("gather", "POST", "/uploads"),
    ("gather", "POST", "/imports"),
    ("gather", "GET", "/download"),
    ("gather", "HEAD", "/download"),
    ("harvest", "POST", "/retry"),
    ("harvest", "POST", "/dispatch"),
    ("harvest", "POST", "/reprocess"),
    ("recommend", "POST", "/feedback"),
    ("recommend", "POST", "/duplicates/some-group/resolve"),
    ("recommend", "DELETE", "/profiles/some-profile"),  # no such route: still 401 before 405
]


@pytest.mark.parametrize(("service", "method", "path"), MUTATIONS)
def test_mutations_without_or_with_a_wrong_token_are_401_json(locked, service, method, path):
    client = locked(service)
    for headers in ({}, _bearer("wrong"), {"Authorization": TOKEN}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        answer = client.open(path, method=method, headers=headers, json={})
        assert answer.status_code == 401, (headers, answer.get_data(as_text=True))
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        if method != "HEAD":
            assert answer.get_json()["error"] == "unauthorized"
    assert 'error="invalid_token"' in client.open(path, method=method, headers=_bearer("wrong")).headers[
        "WWW-Authenticate"]


def test_the_right_token_lets_mutations_through(locked, photos_dir):
    dog = (photos_dir / "darknet" / "dog.jpg").read_bytes()
    gather_client = locked("gather")
    assert _upload(gather_client, dog, _bearer()).status_code == 201
    assert _upload(gather_client, dog, {"Authorization": f"bearer  {TOKEN} "}).status_code == 200  # duplicate
    download = gather_client.get("/download", headers=_bearer())
    assert download.status_code == 200 and download.get_json()["status"] == "success"
    assert locked("harvest").post("/retry", headers=_bearer()).status_code == 200
    # Past the auth check, the view answers: an empty vote is the view's own 400, not 401.
    feedback = locked("recommend").post("/feedback", headers=_bearer(), json={})
    assert feedback.status_code == 400 and feedback.get_json()["error"] != "unauthorized"


def test_reads_are_open_and_recommend_is_a_read(locked):
    assert locked("harvest").get("/status").status_code == 200
    assert locked("gather").get("/status").status_code == 200
    assert locked("cdn").get("/show/no-such-image").status_code == 404
    assert locked("recommend").get("/duplicates").status_code == 200
    # POST /recommend answers a query (storing the profile is what the caller asked): open like a read.
    answer = locked("recommend").post("/recommend", json={"width": "wide"})
    assert answer.status_code == 400 and set(answer.get_json()["fields"]) == {"width"}


def test_protect_reads_closes_reads_but_not_health(locked):
    harvest_client = locked("harvest", protect_reads=True)
    assert harvest_client.get("/status").status_code == 401
    assert harvest_client.get("/status", headers=_bearer()).status_code == 200
    assert harvest_client.get("/api/v1/health").status_code == 200
    assert harvest_client.get("/api/v1/ready").status_code == 200  # probes carry no token either
    recommend_client = locked("recommend", protect_reads=True)
    assert recommend_client.post("/recommend", json={}).status_code == 401
    assert locked("cdn", protect_reads=True).get("/show/no-such-image").status_code == 401


def test_no_token_means_no_auth(make_client, backends):
    assert backends.settings.api_token is None
    client = make_client("harvest")
    assert client.post("/dispatch").status_code == 200
    assert make_client("harvest", api_token=SecretStr("")).post("/dispatch").status_code == 200


def test_without_a_token_a_foreign_page_still_cannot_mutate(make_client):
    client = make_client("harvest", cors_origins=[ALLOWED])
    refused = client.post("/dispatch", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and refused.get_json()["error"] == "cross_origin"
    assert client.post("/dispatch", headers={"Origin": "null"}).status_code == 403
    assert client.post("/dispatch", headers={"Origin": "http://localhost"}).status_code == 200  # same host
    assert client.post("/dispatch", headers={"Origin": ALLOWED}).status_code == 200
    assert client.get("/status", headers={"Origin": "https://evil.example"}).status_code == 200  # reads are fine


def test_the_views_say_what_mutates(backends):
    from gateway.app import SERVICES

    def mutates(service: str, rule: str, method: str) -> bool:
        app = SERVICES[service].create_app(backends.settings, backends)
        found = [r for r in app.url_map.iter_rules() if r.rule == rule and method in r.methods]
        return is_mutating(contract_of(app.view_functions[found[0].endpoint]), method)

    assert mutates("gather", "/uploads", "POST")
    assert mutates("gather", "/download", "GET")  # GETs of the original platform that start work or wipe data
    assert mutates("visualize", "/api/v1/reset", "GET")
    assert mutates("recommend", "/duplicates/<group_id>/resolve", "POST")
    assert mutates("harvest", "/reprocess", "POST")
    assert not mutates("recommend", "/recommend", "POST")  # a POST that answers a query
    assert not mutates("gather", "/status", "GET")
    assert not mutates("cdn", "/show/<name>", "GET")
    assert is_mutating(None, "POST") and not is_mutating(None, "GET")  # no route: by the method


# -- CORS -------------------------------------------------------------------------------------------


def test_no_cors_headers_by_default(locked):
    answer = locked("harvest").get("/status", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_only_for_listed_origins(locked):
    client = locked("harvest", cors_origins=[ALLOWED + "/"])
    allowed = client.get("/status", headers={"Origin": ALLOWED})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED and "Origin" in allowed.headers["Vary"]
    other = client.get("/status", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    # A listed origin still needs the token to mutate; the 401 carries the CORS header so the page can read it.
    refused = client.post("/retry", headers={"Origin": ALLOWED})
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_preflight_is_answered_for_listed_origins_only(locked):
    client = locked("gather", cors_origins=[ALLOWED])
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = client.options("/uploads", headers={"Origin": ALLOWED, **ask})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    other = client.options("/uploads", headers={"Origin": "https://evil.example", **ask})
    assert other.status_code != 401 and "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Methods" not in other.headers


# -- the CDN serves stored images only ---------------------------------------------------------------

TRAVERSALS = [
    "/show/..%2F..%2Fetc%2Fpasswd",
    "/show/../../x",
    "/show/..%2F..%2Fsecret.txt",
    "/show/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/show/%252e%252e%252fsecret.txt",
    "/show/..%5c..%5csecret.txt",
    "/show/....//....//secret.txt",
    "/show/%2Fetc%2Fpasswd",
    "/show/..",
    "/show/.",
    "/show/secret.txt",
    "/show/objects",
    "/show/no-such-image",
    "/show/no-such-image.jpg",
    "/show/0123456789abcdef0123456789abcdef",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_cdn_traversal_and_unknown_ids_are_404_json(make_client, backends, path):
    (backends.settings.data_dir / "secret.txt").write_text("do not serve me")
    answer = make_client("cdn").get(path)
    assert answer.status_code == 404, answer.get_data(as_text=True)
    assert answer.is_json and answer.get_json()["error"] == "not_found"
    assert b"do not serve me" not in answer.get_data() and b"root:" not in answer.get_data()


def test_cdn_serves_a_stored_image_but_not_its_object_key(make_client, backends, photos_dir):
    dog = (photos_dir / "darknet" / "dog.jpg").read_bytes()
    result = store_file(backends, io.BytesIO(dog), "dog.jpg", "upload")
    client = make_client("cdn")
    assert client.get(f"/show/{result.id}").get_data() == dog
    with backends.catalog.connect() as connection:
        object_key = get_image(connection, result.id)["object_key"]
    # The object key is a path in the store: asking for it by name finds nothing.
    for path in (f"/show/{object_key}", f"/show/{object_key.replace('/', '%2F')}", f"/show/..%2F{object_key}"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.get_json()["error"] == "not_found", path


# -- `mosaic run` makes a token when none is set ------------------------------------------------------


def test_run_makes_keeps_and_respects_the_token(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    made, note = resolve_api_token(settings)
    token = made.api_token.get_secret_value()
    assert len(token) >= 32 and token in note
    saved = tmp_path / "data" / TOKEN_FILE
    assert saved.read_text().strip() == token and saved.stat().st_mode & 0o077 == 0
    assert resolve_api_token(settings)[0].api_token.get_secret_value() == token  # the same on the next start
    chosen, note = resolve_api_token(settings.model_copy(update={"api_token": SecretStr("mine")}))
    assert chosen.api_token.get_secret_value() == "mine" and "mine" not in note
    off, note = resolve_api_token(settings.model_copy(update={"api_token": SecretStr("")}))
    assert off.api_token.get_secret_value() == "" and "trusted networks" in note


def test_token_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert load_settings().api_token is None and load_settings().cors_origins == []
    monkeypatch.setenv("MOSAIC_API_TOKEN", "")
    assert load_settings().api_token.get_secret_value() == ""
    monkeypatch.setenv("MOSAIC_API_TOKEN", TOKEN)
    monkeypatch.setenv("MOSAIC_CORS_ORIGINS", f'["{ALLOWED}"]')
    monkeypatch.setenv("MOSAIC_PROTECT_READS", "true")
    loaded = load_settings()
    assert loaded.api_token.get_secret_value() == TOKEN and TOKEN not in repr(loaded)
    assert loaded.cors_origins == [ALLOWED] and loaded.protect_reads
