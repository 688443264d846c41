"""One WSGI app that mounts every service under its prefix, as nginx does in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, jsonify, send_from_directory
from werkzeug.middleware.dispatcher import DispatcherMiddleware

import cdn
import gather
import harvest
import recommend
import visualize
from gateway import openapi
from mosaic.backends import Backends
from mosaic.contract import Answer, Reply, endpoint
from mosaic.settings import Settings
from mosaic.web import install_common

SERVICES = {"gather": gather, "harvest": harvest, "recommend": recommend, "visualize": visualize, "cdn": cdn}
# The web UI's static export (`make frontend` builds it); MOSAIC_FRONTEND_DIR points elsewhere.
FRONTEND_OUT = Path(__file__).resolve().parent.parent / "frontend" / "out"


class Directory(Answer):
    services: list[str]
    links: dict[str, str]


def frontend_dir(settings: Settings) -> Path | None:
    """The built UI's folder, or None when there is none (the gateway then serves a placeholder page)."""
    folder = settings.frontend_dir or FRONTEND_OUT
    return folder if (folder / "index.html").is_file() else None


def create_gateway(settings: Settings, backends: Backends | None = None):
    """The services share one Backends (one connection pool each) inside this process."""
    backends = backends or Backends(settings)
    root = _root_app(settings)
    mounts = {f"/{name}": module.create_app(settings, backends) for name, module in SERVICES.items()}
    root.wsgi_app = DispatcherMiddleware(root.wsgi_app, mounts)
    root.extensions["mosaic"] = backends
    root.extensions["mosaic.services"] = mounts
    return root


def api_document(gateway: Flask) -> dict:
    """The OpenAPI document of the gateway's services, built once from their url maps."""
    if "mosaic.openapi" not in gateway.extensions:
        services = {prefix.strip("/"): app for prefix, app in gateway.extensions["mosaic.services"].items()}
        gateway.extensions["mosaic.openapi"] = openapi.build_document(services, gateway)
    return gateway.extensions["mosaic.openapi"]


def _root_app(settings: Settings) -> Flask:
    app = Flask("gateway")
    install_common(app)  # the pages and /api/ routes answer errors and headers as the services do
    ui = frontend_dir(settings)

    @app.get("/api/v1/health")
    @endpoint("Where each service's health is, and links to the lab and these docs.", answers={200: Directory},
              always_open=True)
    def health():
        return jsonify(services=[f"/{name}/api/v1/health" for name in SERVICES],
                       links={"lab": settings.lab_url, "api_docs": "/api/docs"})

    @app.get("/metrics")
    def metrics():
        # Prometheus' text format: every process's counters (multiprocess mode) and the backends' gauges.
        from mosaic.metrics import CONTENT_TYPE, scrape

        return scrape(current_app.extensions["mosaic"]), 200, {"Content-Type": CONTENT_TYPE}

    _serve_api_docs(app)
    if ui is None:
        @app.get("/")
        def index():
            # Without a built UI (`make frontend`) this page points at what exists.
            links = "".join(
                f'<li><a href="/{name}/api/v1/health">{name}</a></li>' for name in SERVICES
            )
            return (
                "<!doctype html><title>Mosaic</title><h1>Mosaic</h1>"
                "<p>The web UI is not built: run <code>make frontend</code>. "
                "Upload photos with <code>POST /gather/uploads</code>; ask for recommendations with "
                "<code>POST /recommend/recommend</code>. <a href='/harvest/status'>Pipeline status</a>, "
                f"<a href='/visualize/graphs'>graphs</a>.</p><ul>{links}</ul>"
            )
    else:
        _serve_frontend(app, ui)
    return app


def _serve_frontend(app: Flask, ui: Path) -> None:
    """Serve Next.js's static export: `/` is index.html, `/upload` is upload.html, assets under /_next/."""

    def send(name: str, status: int = 200):
        response = send_from_directory(ui, name, max_age=0)
        if name.startswith("_next/static/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        response.status_code = status
        return response

    @app.get("/")
    def index():
        return send("index.html")

    @app.get("/<path:name>")
    def page(name: str):
        name = name.rstrip("/")
        for candidate in (name, f"{name}.html", f"{name}/index.html"):
            target = ui / candidate
            if ".." not in Path(candidate).parts and target.is_file():
                return send(candidate)
        if (ui / "404.html").is_file():
            return send("404.html", 404)
        return jsonify(error="not_found", message=f"no page /{name}"), 404


def _serve_api_docs(app: Flask) -> None:
    """`/api/openapi.json` (generated from every service's routes) and `/api/docs` (Swagger UI, no CDN)."""

    @app.get("/api/openapi.json")
    @endpoint("This OpenAPI document: every service's endpoints, generated from their contracts.",
              answers={200: dict[str, Any]})
    def openapi_document():
        return jsonify(api_document(current_app))

    @app.get("/api/docs")
    @endpoint("The API documentation page (Swagger UI served from this process, no CDN).",
              answers={200: Reply({"type": "string"}, "HTML", media="text/html")})
    def api_docs():
        return openapi.docs_page(api_document(current_app))

    @app.get("/api/docs/<filename>")
    def api_docs_asset(filename: str):
        folder = openapi.swagger_ui_dir()
        if folder is None or filename not in openapi.SWAGGER_UI_FILES:
            abort(404)
        return send_from_directory(folder, filename, max_age=86400)
