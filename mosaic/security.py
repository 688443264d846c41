"""Bearer-token auth for mutating endpoints and a strict CORS policy, installed on every service app.

The rule, in one place so no view can forget it:

- With `MOSAIC_API_TOKEN` set, every view whose contract says `mutates=True` (`mosaic.contract.endpoint`)
  needs `Authorization: Bearer <token>`; otherwise 401 JSON with a `WWW-Authenticate` header. A request
  routed to no contract (an unknown path) counts as mutating when its method is POST/PUT/PATCH/DELETE.
  Read endpoints stay open unless `MOSAIC_PROTECT_READS` is true; `always_open` views (liveness and
  readiness, for container healthchecks and probes) never need the token, and neither does OPTIONS
  (CORS preflight).
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

from mosaic.contract import Contract, current_contract
from mosaic.settings import Settings

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE = "600"
REALM = 'Bearer realm="mosaic"'


def install(app: Flask, settings: Settings) -> None:
    """Register the auth and CORS hooks on one service's app."""
    token = settings.api_token.get_secret_value().encode() if settings.api_token else b""
    allowed = frozenset(_origin(origin) for origin in settings.cors_origins)
    protect_reads = settings.protect_reads

    @app.before_request
    def _guard():
        if request.method == "OPTIONS":
            return _preflight(allowed)
        contract = current_contract()
        if contract is not None and contract.always_open:
            return None
        mutating = is_mutating(contract, request.method)
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


def is_mutating(contract: Contract | None, method: str) -> bool:
    """True when a request to a view with this contract (None: no route, no contract) changes state."""
    if contract is None:
        return method in MUTATING_METHODS
    return contract.mutates


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
