"""Bearer-token auth for mutating endpoints and a strict CORS policy, installed on every service app.

The rule, in one place so no view can forget it:

- With `MOSAIC_API_TOKEN` set, every POST/PUT/PATCH/DELETE and the few GET routes that change
  state (`MUTATING_ROUTES`) need `Authorization: Bearer <token>`; otherwise 401 JSON with a
  `WWW-Authenticate` header. Read endpoints stay open unless `MOSAIC_PROTECT_READS` is true.
  `READ_POSTS` are POSTs that only read (a recommendation query), open like any read.
  The health and readiness routes are always open (container healthchecks and probes), and so is
  OPTIONS (CORS preflight).
- With the token unset or empty, nothing needs a token (tests and trusted networks only), but a
  mutating request a browser sends from a foreign page (an `Origin` that is neither this host nor
  in `MOSAIC_CORS_ORIGINS`) is refused with 403, so a web page cannot drive a local Mosaic.
- CORS: `Access-Control-Allow-Origin` is sent only to origins listed in `MOSAIC_CORS_ORIGINS`
  (default none: the gateway's own pages need no CORS); their preflight requests are answered.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request

from mosaic.settings import Settings

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# (service, route rule): GETs of the original platform that start work or wipe data.
MUTATING_ROUTES = frozenset({("gather", "/download"), ("visualize", "/api/v1/reset")})
# (service, route rule): POSTs that answer a query. Storing the asked-for profile is a side effect the
# caller requested; it creates a row under a fresh unguessable id and changes nothing else.
READ_POSTS = frozenset({("recommend", "/recommend")})
ALWAYS_OPEN = frozenset({"/api/v1/health", "/api/v1/ready"})

CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE = "600"
REALM = 'Bearer realm="mosaic"'


def install(app: Flask, service: str, settings: Settings) -> None:
    """Register the auth and CORS hooks on one service's app."""
    token = settings.api_token.get_secret_value().encode() if settings.api_token else b""
    allowed = frozenset(_origin(origin) for origin in settings.cors_origins)
    protect_reads = settings.protect_reads

    @app.before_request
    def _guard():
        if request.method == "OPTIONS":
            return _preflight(allowed)
        rule = request.url_rule.rule if request.url_rule is not None else request.path
        if rule in ALWAYS_OPEN:
            return None
        mutating = is_mutating(service, rule, request.method)
        if not token:
            if mutating and _foreign_origin(allowed):
                return _error(403, "cross_origin", "this request came from a page of another site; "
                                                   "list that site in MOSAIC_CORS_ORIGINS to allow it")
            return None
        if not (mutating or protect_reads):
            return None
        return _check_token(token)

    @app.after_request
    def _cors(response: Response) -> Response:
        if allowed:
            response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin and _origin(origin) in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
        return response


def is_mutating(service: str, rule: str, method: str) -> bool:
    """True when this route (a Flask rule of the service's own app) and method change state."""
    if (service, rule) in MUTATING_ROUTES:
        return True  # whatever the method: HEAD runs a GET view too
    return method in MUTATING_METHODS and (service, rule) not in READ_POSTS


def _check_token(token: bytes):
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return _unauthorized("send the API token as `Authorization: Bearer <token>` (setting MOSAIC_API_TOKEN)",
                             REALM)
    if not hmac.compare_digest(given.strip().encode(), token):
        return _unauthorized("the API token is wrong", f'{REALM}, error="invalid_token"')
    return None


def _unauthorized(message: str, challenge: str):
    response = _error(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = challenge
    return response


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify(error=code, message=message)
    response.status_code = status
    return response


def _preflight(allowed: frozenset[str]):
    """Answer a CORS preflight from an allowed origin; anything else gets Flask's own OPTIONS answer."""
    origin = request.headers.get("Origin")
    if not origin or _origin(origin) not in allowed or "Access-Control-Request-Method" not in request.headers:
        return None
    response = Response(status=204)
    response.headers.update({
        "Access-Control-Allow-Methods": CORS_METHODS,
        "Access-Control-Allow-Headers": CORS_HEADERS,
        "Access-Control-Max-Age": CORS_MAX_AGE,
    })
    return response  # after_request adds Access-Control-Allow-Origin


def _foreign_origin(allowed: frozenset[str]) -> bool:
    origin = request.headers.get("Origin")
    if not origin:
        return False  # not a browser, or a same-origin GET/HEAD
    if _origin(origin) in allowed:
        return False
    forwarded = request.headers.get("X-Forwarded-Host", "").split(",")
    hosts = {host.strip().lower() for host in (request.host, *forwarded)} - {""}
    return urlsplit(origin).netloc.lower() not in hosts  # "null" (sandboxed or file:// pages) is foreign too


def _origin(value: str) -> str:
    return value.strip().rstrip("/").lower()
