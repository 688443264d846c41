"""Fuzz: random JSON of any shape to every JSON route, random multipart to the upload routes, random path
segments and query strings to every GET route of the OpenAPI document, through the real gateway app on
embedded backends. Whatever arrives, nothing answers 5xx. (Schemathesis checks the same document against a
running `mosaic run` in tests/integration/test_contract.py.)"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import api_document, create_gateway

EXAMPLES = 200
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
# Profile-like objects whose fields have the right names and random values: reach deeper than random keys do.
PROFILE_KEYS = ("colour", "width", "height", "orientation", "tags", "make", "limit", "profile_id", "preferences",
                "urls", "ids", "stale", "image_id", "vote", "keep", "list", "dominant_color", "imagewidth")
PROFILES = st.dictionaries(st.sampled_from(PROFILE_KEYS), JSON_VALUES, max_size=6)
SEGMENT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=300)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    from mosaic.backends import Backends
    from mosaic.catalog import upgrade
    from mosaic.settings import load_settings

    backends = Backends(load_settings(data_dir=tmp_path_factory.mktemp("fuzz") / "var", api_token="",
                                      ingest_samples=False))
    upgrade(backends.catalog)
    app = create_gateway(backends.settings, backends)
    yield app
    backends.close()


def _operations(app, method: str) -> list[str]:
    document = api_document(app)
    return sorted(path for path, item in document["paths"].items() if method in item)


def _fill(path: str, value: str) -> str:
    segment = value.replace("/", "%2F").replace("?", "%3F").replace("#", "%23")
    return re.sub(r"\{[^}]+\}", lambda _: segment, path)


def _assert_no_5xx(answer, what: str) -> None:
    assert answer.status_code < 500, f"{what} -> {answer.status_code}: {answer.get_data(as_text=True)[:500]}"
    if answer.status_code >= 400 and answer.mimetype == "application/json":
        body = answer.get_json()
        # Ours: {"error", "message"}; the original platform's routes keep their {"status": "error", "message"}.
        assert "message" in body and ("error" in body or body.get("status") == "error"), body


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_json_to_any_post_route(gateway, data):
    client = gateway.test_client()
    path = data.draw(st.sampled_from(_operations(gateway, "post")))
    body = data.draw(JSON_VALUES | PROFILES)
    url = _fill(path, data.draw(st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1,
                                         max_size=40)))
    answer = client.post(url, data=json.dumps(body), content_type="application/json")
    _assert_no_5xx(answer, f"POST {url} {body!r}"[:300])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_path_and_query_to_any_get_route(gateway, data):
    client = gateway.test_client()
    path = _fill(data.draw(st.sampled_from(_operations(gateway, "get"))), data.draw(SEGMENT))
    query = data.draw(st.dictionaries(st.sampled_from(["hex", "name", "limit", "size", "format", "from", "to",
                                                        "country", "make", "tag", "prefix", "min_share", "page"]),
                                      st.text(max_size=60), max_size=4))
    answer = client.get(path, query_string=query)
    _assert_no_5xx(answer, f"GET {path} {query!r}"[:300])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(parts=st.lists(st.tuples(st.sampled_from(["files", "files[]", "file", "other"]),
                                st.text(max_size=300), st.binary(max_size=3000),
                                st.sampled_from(["image/jpeg", "text/plain", "application/octet-stream", ""])),
                      max_size=4),
       raw=st.booleans(), junk=st.binary(max_size=2000))
def test_random_multipart_to_uploads(gateway, parts, raw, junk):
    import io

    client = gateway.test_client()
    if raw:  # a body that only claims to be multipart
        answer = client.post("/gather/uploads", data=junk,
                             content_type="multipart/form-data; boundary=xyz")
    else:
        answer = client.post("/gather/uploads", content_type="multipart/form-data",
                             data={field: (io.BytesIO(data), name, mime) for field, name, data, mime in parts})
    _assert_no_5xx(answer, f"upload {len(parts)} parts raw={raw}")
