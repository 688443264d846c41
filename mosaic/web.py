"""What every service's Flask app shares: JSON errors, the health route, auth and CORS, the backends handle."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

from mosaic import security
from mosaic.backends import Backends
from mosaic.settings import Settings

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a client can act on: answered as {"error": code, "message": reason}."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def create_service_app(name: str, settings: Settings, backend_names, backends: Backends | None = None,
                       extra_health: Callable[[Backends], dict] | None = None) -> Flask:
    """A Flask app for one service with health and JSON errors; the caller adds its blueprint.
    `extra_health` adds the service's own fields to its health report (asked only while its backends are up)."""
    app = Flask(name)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions["mosaic"] = backends or Backends(settings)
    app.extensions["mosaic.settings"] = settings
    app.register_blueprint(_health_blueprint(tuple(backend_names), extra_health), url_prefix="/api/v1")
    security.install(app, name, settings)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def backends() -> Backends:
    return current_app.extensions["mosaic"]


def settings() -> Settings:
    return current_app.extensions["mosaic.settings"]


def error_response(status: int, code: str, message: str):
    return jsonify(error=code, message=message), status


def _health_blueprint(names: tuple[str, ...], extra: Callable[[Backends], dict] | None) -> Blueprint:
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/health")
    def health():
        report = backends().health(names)
        if extra is not None and report["status"] == "ok":
            try:
                report.update(extra(backends()))
            except Exception:  # health must answer whatever else is wrong
                log.exception("extra health fields failed")
        if report.get("degraded") and report["status"] == "ok":
            report["status"] = "degraded"
        return jsonify(report), (200 if report["status"] != "down" else 503)

    return blueprint


def _api_error(error: ApiError):
    return error_response(error.status, error.code, error.message)


def _http_error(error: HTTPException):
    code = (error.name or "error").lower().replace(" ", "_")
    if error.code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return error_response(413, "too_large", f"the request is larger than the limit of {limit:,} bytes")
    return error_response(error.code or 500, code, error.description or error.name)


def _unexpected_error(error: Exception):
    log.exception("unhandled error")
    return error_response(500, "internal_error", f"{type(error).__name__}: {error}")
