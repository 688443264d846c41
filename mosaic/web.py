"""What every service's Flask app shares: JSON errors, liveness and readiness, bounded JSON bodies, request ids,
auth and CORS, the backends handle.

- JSON bodies are read only up to MAX_JSON_BYTES (413 above: judged from Content-Length before reading, and
  enforced while reading a chunked body), nested at most MAX_JSON_DEPTH deep, and a body that is there but is
  not JSON is a 400, for every view that asks for JSON (even with `silent=True`).
- Every request has an id (a sane `X-Request-ID` from the client or a new one), answered in `X-Request-ID` and
  carried by every log line of the request. A 500 says only that id; the traceback is in the log under it.
- A backend that cannot be reached (database, queue, object store, vectors) is a 503 with `Retry-After`, whose
  message names the kind of backend and nothing of its address.
- `/api/v1/health` is liveness: 200 while the process answers, reporting its backends. `/api/v1/ready` is
  readiness: 503 while a backend the service needs is down.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Literal

from flask import Blueprint, Flask, Request, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from pydantic import Field
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from mosaic import security
from mosaic.backends import Backends, unavailable
from mosaic.contract import CPU_BOUND_SLOTS, Answer, Reply, endpoint
from mosaic.errors import ApiError, Refused
from mosaic.logs import log_context
from mosaic.metrics import REQUEST_SECONDS
from mosaic.settings import Settings

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 1024 * 1024  # a JSON body of this API is a few kB; the upload limit is for multipart files
MAX_JSON_DEPTH = 64
RETRY_AFTER_SECONDS = 5
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# What is not a bracket, and JSON strings (whose brackets do not nest), for the depth check.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing (as a ValueError, which get_json turns into a 400) what nests too deep: the C
    parser recurses once per level and raises RecursionError, which get_json does not expect."""

    def loads(self, s, **kwargs):
        raw = s.encode() if isinstance(s, str) else bytes(s)
        depth = json_depth(raw)
        if depth > MAX_JSON_DEPTH:
            shown = depth if depth <= 10 * MAX_JSON_DEPTH else f"over {10 * MAX_JSON_DEPTH}"
            raise ValueError(f"the JSON nests {shown} levels deep, more than the {MAX_JSON_DEPTH} allowed")
        try:
            return super().loads(raw, **kwargs)
        except RecursionError:
            raise ValueError("the JSON nests too deep") from None


def json_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings do not count)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > 10 * MAX_JSON_DEPTH:
                break  # deep enough to refuse: a nesting bomb is not walked to its end
    return deepest


class JsonRequest(Request):
    """The request of every service: JSON bodies bounded in size and depth, bad JSON a 400 (see the module)."""

    json_limit: int | None = None  # set once a view asks for JSON: the limit its 413 names

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        limit = self._limit_json_body()
        if not (force or self.is_json):
            return None if silent else self.on_json_loading_failed(None)
        data = self.get_data(cache=cache)
        if len(data) > limit:  # a chunked body (no Content-Length) read one byte past the limit
            raise RequestEntityTooLarge()
        if silent and not data.strip():
            return None  # no body: the views that ask silently have their defaults
        # A body that is there and is not JSON is the client's error, even for a view that asks silently
        # (`request.get_json(silent=True) or {}` would otherwise take garbage for an empty request).
        return super().get_json(force=True, silent=False, cache=cache)

    def on_json_loading_failed(self, e: ValueError | None):
        if e is None:
            raise ApiError(415, "not_json", "send the body as JSON, with Content-Type: application/json")
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {e}")

    def _limit_json_body(self) -> int:
        limit = self.json_limit = current_app.config.get("MAX_JSON_BYTES", MAX_JSON_BYTES)
        if (self.content_length or 0) > limit:  # whatever its type: a JSON route reads no more than this
            raise RequestEntityTooLarge()
        if "stream" not in self.__dict__:  # not opened yet: werkzeug stops reading there itself
            # One byte more than allowed: werkzeug stops at the limit without saying a chunked body went on.
            current = self.max_content_length
            self.max_content_length = limit + 1 if current is None else min(current, limit + 1)
        return limit


def create_service_app(name: str, settings: Settings, backend_names, backends: Backends | None = None,
                       extra_health: Callable[[Backends], dict] | None = None) -> Flask:
    """A Flask app for one service with health, readiness and JSON errors; the caller adds its blueprint.
    `extra_health` adds the service's own fields to its health report (asked only while its backends are up)."""
    app = Flask(name)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions["mosaic"] = backends or Backends(settings)
    app.extensions["mosaic.settings"] = settings
    install_common(app)
    app.register_blueprint(_health_blueprint(tuple(backend_names), extra_health), url_prefix="/api/v1")
    security.install(app, settings)
    return app


def install_common(app: Flask) -> None:
    """Request ids, bounded JSON, the common response headers and JSON errors, on any Flask app of Mosaic."""
    app.request_class = JsonRequest
    app.json = BoundedJSONProvider(app)
    app.config.setdefault("MAX_JSON_BYTES", MAX_JSON_BYTES)
    app.extensions.setdefault("mosaic.cpu_slots", threading.BoundedSemaphore(CPU_BOUND_SLOTS))
    app.before_request(_start_request)
    app.after_request(_common_headers)
    app.teardown_request(_end_request)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(Refused, _refused)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def backends() -> Backends:
    return current_app.extensions["mosaic"]


def settings() -> Settings:
    return current_app.extensions["mosaic.settings"]


def error_response(status: int, code: str, message: str, **fields):
    return jsonify(error=code, message=message, **fields), status


def request_id() -> str | None:
    return g.get("request_id")


def _start_request() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.started = time.perf_counter()
    context = log_context(request_id=g.request_id)
    context.__enter__()
    g.log_context = context


def _end_request(_error: BaseException | None) -> None:
    context = g.pop("log_context", None)
    if context is not None:
        try:
            context.__exit__(None, None, None)
        except ValueError:  # entered in another context (a request that failed half-way): nothing to reset
            pass


def _common_headers(response):
    # Bytes are served as their declared type only: an upload that sniffs as HTML never runs as a page here.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request_id():
        response.headers[REQUEST_ID_HEADER] = request_id()
    if "started" in g:
        # By the URL rule, not the path: one series per route, not per image id.
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUEST_SECONDS.labels(current_app.name, rule, request.method, str(response.status_code)).observe(
            time.perf_counter() - g.started)
    # No product or version names from the app: a Server header is the HTTP server's (gunicorn's has no version).
    response.headers.pop("Server", None)
    return response


class BackendHealth(Answer):
    model_config = {"extra": "allow"}
    status: Literal["ok", "down"]
    error: str | None = None


class Health(Answer):
    status: Literal["ok", "degraded", "down"]
    backends: dict[str, BackendHealth] = {}
    degraded: dict[str, str] | None = Field(None, description="harvest: features its workers cannot make, and why")
    ready: bool | None = Field(None, description="readiness only: whether every backend the service needs answers")
    down: list[str] | None = Field(None, description="readiness only: the backends that do not answer")


def _health_blueprint(names: tuple[str, ...], extra: Callable[[Backends], dict] | None) -> Blueprint:
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/health")
    @endpoint("Liveness: 200 while this process answers, with the state of its backends and features.",
              answers={200: Health}, always_open=True)
    def health():
        report = backends().health(names)
        if extra is not None and report["status"] == "ok":
            try:
                report.update(extra(backends()))
            except Exception:  # health must answer whatever else is wrong
                log.exception("extra health fields failed")
        if report.get("degraded") and report["status"] == "ok":
            report["status"] = "degraded"
        return jsonify(report), 200

    @blueprint.get("/ready")
    @endpoint("Readiness: 200 when every backend this service needs answers, else 503 naming them.",
              answers={200: Health, 503: Reply(Health, "not ready: `down` lists the backends that do not answer",
                                               retry_after=True)},
              always_open=True)
    def ready():
        report = backends().health(names)
        down = sorted(name for name, state in report["backends"].items() if state["status"] != "ok")
        report.update(ready=not down, down=down)
        if down:
            return jsonify(report), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return jsonify(report), 200

    return blueprint


def _api_error(error: ApiError):
    body, status = error_response(error.status, error.code, error.message, **error.fields)
    return body, status, error.headers


def _refused(error: Refused):
    return error_response(error.status, error.code, str(error))


def _http_error(error: HTTPException):
    code = (error.name or "error").lower().replace(" ", "_")
    if error.code == 413:
        limit = request.json_limit or request.max_content_length or current_app.config.get("MAX_CONTENT_LENGTH")
        return error_response(413, "too_large", f"the request is larger than the limit of {limit:,} bytes")
    return error_response(error.code or 500, code, error.description or error.name)


def _unexpected_error(error: Exception):
    backend = unavailable(error)
    if backend is not None:
        # The driver's message names hosts and ports: it goes to the log, the client hears only what to do.
        log.warning("%s unavailable: %s", backend, error)
        body, status = error_response(503, "unavailable", f"the {backend} is unavailable right now; try again "
                                                          "in a few seconds", backend=backend)
        return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    log.exception("unhandled error, request id %s", request_id())  # the id the client was given
    return error_response(500, "internal_error", f"the server could not answer this request; its log has the "
                                                 f"details under request id {request_id()}", request_id=request_id())
