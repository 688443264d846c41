"""The errors a client can act on, and their answer's shape.

Domain code raises `Refused` (or `NotFound`, `Conflict`) with a sentence for people: it knows nothing of
HTTP, and every service answers these the same way ({"error": code, "message": sentence} with the class's
status), so no view translates exceptions itself. `ApiError` is for the web layer's own refusals.
"""

from __future__ import annotations

from pydantic import BaseModel


class Refused(Exception):
    """A request the domain refuses; subclasses name the code and status."""

    status = 400
    code = "refused"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class NotFound(Refused):
    status = 404
    code = "not_found"


class Conflict(Refused):
    """The thing exists but is not in a state that allows the request (yet)."""

    status = 409
    code = "conflict"


class ApiError(Exception):
    """An error a client can act on: answered as {"error": code, "message": reason}."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **fields):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}
        self.fields = fields  # more of the answer: {"fields": {name: reason}} for a request that does not validate


class Error(BaseModel):
    """Every error answer: a machine-readable code and a sentence for people. A 500 adds the request id its
    log lines carry (also in the X-Request-ID header); a 503 names the kind of backend that is unavailable;
    a request that does not validate names each bad field and why."""

    error: str
    message: str
    request_id: str | None = None
    backend: str | None = None
    fields: dict[str, str] | None = None
