"""One WSGI app that mounts every service under its prefix, as nginx does in production."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.middleware.dispatcher import DispatcherMiddleware

import cdn
import gather
import harvest
import recommend
import visualize
from mosaic.backends import Backends
from mosaic.settings import Settings

SERVICES = {"gather": gather, "harvest": harvest, "recommend": recommend, "visualize": visualize, "cdn": cdn}


def create_gateway(settings: Settings, backends: Backends | None = None):
    """The services share one Backends (one connection pool each) inside this process."""
    backends = backends or Backends(settings)
    root = _root_app(settings)
    mounts = {f"/{name}": module.create_app(settings, backends) for name, module in SERVICES.items()}
    root.wsgi_app = DispatcherMiddleware(root.wsgi_app, mounts)
    root.extensions["mosaic"] = backends
    return root


def _root_app(settings: Settings) -> Flask:
    app = Flask("gateway")

    @app.get("/")
    def index():
        # The Next.js UI replaces this page (issue #7); until then it points at what exists.
        links = "".join(
            f'<li><a href="/{name}/api/v1/health">{name}</a></li>' for name in SERVICES
        )
        return (
            "<!doctype html><title>Mosaic</title><h1>Mosaic</h1>"
            "<p>Upload photos with <code>POST /gather/uploads</code>; ask for recommendations with "
            "<code>POST /recommend/recommend</code>. <a href='/harvest/status'>Pipeline status</a>, "
            f"<a href='/visualize/graphs'>graphs</a>.</p><ul>{links}</ul>"
        )

    @app.get("/api/v1/health")
    def health():
        return jsonify(services=[f"/{name}/api/v1/health" for name in SERVICES])

    return app
