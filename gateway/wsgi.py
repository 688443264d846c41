"""One service per process, for gunicorn behind nginx (docker compose, the topology tier).

    gunicorn -c docker/gunicorn.conf.py "gateway.wsgi:service_app('harvest')"

Each service's Flask app registers its routes at its own root (`/status`, `/api/v1/health`); the
local gateway (`gateway.app`) mounts it under `/<name>` with DispatcherMiddleware. This module
mounts it the same way, so nginx passes the request URI through unchanged (`proxy_pass` without a
URI part) and `/harvest/status`, `/gather/uploads`, `/cdn/show/<id>` and `/recommend/recommend`
reach the same code with the same SCRIPT_NAME as in `mosaic run` (so `url_for` answers
`/visualize/graph/...` here too). A path outside the prefix gets a JSON 404.

`service_app("api")` is the whole gateway app, of which nginx routes only `/api/` to this process: the
gateway-wide endpoints that belong to no one service (`/api/v1/health`, the OpenAPI document
`/api/openapi.json` and its `/api/docs` page).
"""

from __future__ import annotations

import json

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from gateway.app import SERVICES, create_gateway
from mosaic.logs import configure_logging
from mosaic.settings import Settings, load_settings

GATEWAY = "api"
NAMES = (*SERVICES, GATEWAY)


def service_app(name: str, settings: Settings | None = None):
    """The WSGI app serving one service under `/<name>`, or the gateway's own `/api/` routes."""
    if name not in NAMES:
        raise ValueError(f"unknown service {name!r}; one of {', '.join(NAMES)}")
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if name == GATEWAY:
        return create_gateway(settings)
    app = SERVICES[name].create_app(settings)
    mounted = DispatcherMiddleware(_not_found, {f"/{name}": app})
    mounted.flask_app = app  # for tests and debugging: the service's own Flask app
    return mounted


def _not_found(environ, start_response):
    body = json.dumps(
        {"error": "not_found", "message": f"no route for {environ.get('PATH_INFO', '/')} in this service"}
    ).encode()
    start_response("404 NOT FOUND", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
