"""gateway/openapi.py: the OpenAPI document is valid, generated from every service's routes, and served."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from werkzeug.test import Client

from gateway.app import SERVICES, api_document, create_gateway
from gateway.openapi import SKIPPED_ENDPOINTS, build_document, openapi_path
from mosaic.settings import load_settings


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    data = tmp_path_factory.mktemp("openapi") / "data"
    return create_gateway(load_settings(data_dir=data, vectors_url="http://127.0.0.1:9/unused"))


@pytest.fixture(scope="module")
def document(gateway):
    return api_document(gateway)


def test_the_document_is_valid_openapi(document):
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_route_of_every_service_is_listed_with_its_prefix(gateway, document):
    services = gateway.extensions["mosaic.services"]
    assert set(services) == {f"/{name}" for name in SERVICES}
    for prefix, app in services.items():
        for rule in app.url_map.iter_rules():
            if rule.endpoint in SKIPPED_ENDPOINTS:
                continue
            path = prefix + openapi_path(rule.rule)
            assert path in document["paths"], path
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                operation = document["paths"][path][method.lower()]
                assert operation["tags"] == [prefix.strip("/")]
                assert "4XX" in operation["responses"]
    assert {"/api/openapi.json", "/api/docs", "/api/v1/health"} <= set(document["paths"])
    assert not [path for path in document["paths"] if not path.startswith(("/api/", *services))]


def test_path_parameters_follow_the_converters(document):
    assert openapi_path("/graph/<path:name>") == "/graph/{name}"
    assert openapi_path("/items/<int:item_id>/x") == "/items/{item_id}/x"
    graph = document["paths"]["/visualize/graph/{name}"]["get"]
    assert {"name": "name", "in": "path", "required": True} | {"schema": graph["parameters"][0]["schema"]} \
        == graph["parameters"][0]
    resolve = document["paths"]["/recommend/duplicates/{group_id}/resolve"]["post"]
    assert resolve["parameters"][0]["name"] == "group_id"


def test_bodies_and_auth_come_from_the_code(document):
    uploads = document["paths"]["/gather/uploads"]["post"]
    assert "multipart/form-data" in uploads["requestBody"]["content"]
    assert uploads["security"] == [{"bearer": []}]  # its contract says it mutates
    assert "security" not in document["paths"]["/recommend/recommend"]["post"]  # a read POST
    assert document["paths"]["/visualize/api/v1/reset"]["get"]["security"] == [{"bearer": []}]
    schemas = document["components"]["schemas"]
    request = schemas["RecommendRequest"]  # from the pydantic model
    assert {"colour", "width", "height", "orientation", "tags", "make", "limit", "offset"} <= set(request["properties"])
    assert schemas["Error"]["required"] == ["error", "message"]
    assert document["paths"]["/harvest/retry"]["post"]["summary"].startswith("Send failed photos")
    # The limits are the code's own, not typed again in the document (issue 13's drift).
    assert request["properties"]["profile_id"]["anyOf"][0]["maxLength"] == 32
    assert schemas["Vote"]["properties"]["profile_id"]["maxLength"] == 32
    assert schemas["UrlImport"]["properties"]["urls"]["maxItems"] == 10_000
    assert schemas["UrlImport"]["properties"]["urls"]["items"]["maxLength"] == 2048
    limits = {p["name"]: p["schema"] for p in document["paths"]["/recommend/duplicates"]["get"]["parameters"]}
    assert limits["limit"]["maximum"] == 1000
    reprocess = schemas["Reprocess"]["properties"]
    assert reprocess["ids"]["anyOf"][0]["minItems"] == 1 and reprocess["stale"]["type"] == "boolean"


def test_a_new_route_appears_from_its_contract():
    from flask import Flask

    from mosaic.contract import endpoint

    app = Flask("extra")

    @app.post("/things/<int:thing_id>/poke")
    @endpoint("Poke a thing.", mutates=True)
    def poke(thing_id: int):
        return {}

    document = build_document({"extra": app})
    validate(document)
    operation = document["paths"]["/extra/things/{thing_id}/poke"]["post"]
    assert operation["summary"] == "Poke a thing."
    assert operation["parameters"][0]["schema"] == {"type": "integer"}


def test_served_with_a_docs_page_and_no_cdn(gateway, document):
    client = Client(gateway)
    served = client.get("/api/openapi.json")
    assert served.status_code == 200 and served.json["paths"].keys() == document["paths"].keys()
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "https://" not in html and "http://" not in html
    assert "/gather/uploads" in html  # the operation list, for readers without JavaScript
    if "swagger-ui-bundle.js" in html:
        assert client.get("/api/docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/docs/../app.py").status_code == 404
