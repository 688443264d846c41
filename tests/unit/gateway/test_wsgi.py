"""gateway/wsgi.py: one service per process answers at the same paths as the one-process gateway."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from gateway.app import SERVICES, create_gateway
from gateway.wsgi import service_app
from mosaic.catalog import open_catalog, upgrade
from mosaic.settings import load_settings


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    # Embedded backends in a fresh folder; vectors at a closed port (health: degraded, not down).
    settings = load_settings(data_dir=tmp_path / "data", vectors_url="http://127.0.0.1:9/unused")
    engine = open_catalog(settings.catalog_url)
    upgrade(engine)
    engine.dispose()
    return settings


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_health_under_its_prefix(settings, name):
    client = Client(service_app(name, settings))
    response = client.get(f"/{name}/api/v1/health")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["status"] in ("ok", "degraded")
    # Readiness beside liveness: 503 where the closed vectors port is a backend the service needs.
    ready = client.get(f"/{name}/api/v1/ready")
    assert ready.status_code == (503 if "vectors" in SERVICES[name].BACKENDS else 200)
    assert ready.headers["X-Content-Type-Options"] == "nosniff" and ready.headers["X-Request-ID"]


def test_paths_match_the_local_gateway(settings):
    gateway = Client(create_gateway(settings))
    for path in ("/harvest/status", "/visualize/graphs", "/cdn/show/no-such-image", "/gather/status"):
        name = path.split("/")[1]
        alone = Client(service_app(name, settings)).get(path)
        together = gateway.get(path)
        assert alone.status_code == together.status_code in (200, 404), path
        assert alone.json == together.json, path


def test_routes_reach_the_service_with_its_prefix(settings):
    # url_for inside a service sees the mount point, as behind the local gateway.
    graphs = Client(service_app("visualize", settings)).get("/visualize/graphs").json
    assert graphs and all(graph["url"].startswith("/visualize/graph/") for graph in graphs)
    harvest = Client(service_app("harvest", settings))
    assert harvest.get("/harvest/status").status_code == 200
    upload = Client(service_app("gather", settings)).post("/gather/uploads", data={})
    assert upload.status_code == 400 and "error" in upload.json
    recommend = Client(service_app("recommend", settings)).post("/recommend/recommend", json={"limit": 1})
    assert recommend.status_code != 404


def test_outside_the_prefix_is_a_json_404(settings):
    client = Client(service_app("harvest", settings))
    for path in ("/status", "/gather/uploads", "/"):
        response = client.get(path)
        assert response.status_code == 404 and response.json["error"] == "not_found", path


def test_api_serves_the_gateway_routes(settings):
    response = Client(service_app("api", settings)).get("/api/v1/health")
    assert response.status_code == 200
    assert "/harvest/api/v1/health" in response.json["services"]


def test_unknown_service(settings):
    with pytest.raises(ValueError, match="unknown service"):
        service_app("nope", settings)
