"""What an endpoint takes and answers, declared on its view with `@endpoint(...)`.

One declaration does three jobs, so they cannot drift apart:

- **Validation.** The query string and the JSON body are parsed into the view's pydantic models before the
  view runs; the view receives them as the keyword arguments `query` and `body`. Anything that does not fit
  is a 400 `{"error": "invalid_request", "message", "fields": {field: reason}}` naming every bad field.
- **Auth.** `mutates=True` marks a view that changes state: `mosaic.security` asks for the bearer token by
  this flag (`always_open` routes, the probes, never need it).
- **Documentation.** `gateway/openapi.py` builds each operation from the contract: the summary, the models'
  JSON schemas for the query, body and answers, and the security requirement.

Query models take each field from the query string (a `list[...]` field from every repetition of the name);
unknown query parameters are ignored, as browsers and caches add their own. Body models refuse unknown
fields (`Body`). Answer models are for the document: views return plain JSON, which the contract tests
check against the document, so serving costs no second pass over every answer.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from flask import current_app, request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from mosaic.errors import ApiError, NotFound

# CPU-bound views (searches, rankings) running at once per process. Web workers have many threads so that
# cheap requests (CDN bytes, cached charts) always find one; were every thread free to search, those
# requests would queue for the GIL behind a pile of searches (CDN p95 258 ms under the load bench; 60 ms
# with one search at a time, while the searches' throughput stays the same: each process has one GIL).
CPU_BOUND_SLOTS = 1


def limit_cpu(view: Callable) -> Callable:
    """Run this view while holding one of the process's CPU_BOUND_SLOTS (see there why)."""

    @functools.wraps(view)
    def limited(*args, **kwargs):
        with current_app.extensions["mosaic.cpu_slots"]:
            return view(*args, **kwargs)

    return limited



class Query(BaseModel):
    """A query string's fields. Unknown parameters are ignored (cache busters, tracking tags)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Body(BaseModel):
    """A JSON body's fields. Unknown fields are refused (a typo must not pass as a default), and values are
    taken as their JSON type only: `"false"` is not a boolean, `"5"` not a number."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Answer(BaseModel):
    """A JSON answer's shape, for the document."""

    model_config = ConfigDict(extra="forbid")


# Types many endpoints share.
def Limit(most: int):  # noqa: N802 (reads as a type in a model: `limit: Limit(100) = 20`)
    """A page size: a whole number from 1 to `most`."""
    return Annotated[int, Field(ge=1, le=most, description=f"how many to answer, at most {most}")]


Offset = Annotated[int, Field(ge=0, le=10**9, description="how many to skip")]


@dataclass(frozen=True)
class Reply:
    """An answer of an endpoint, when its type alone does not say enough."""

    kind: Any  # an Answer model or a type pydantic can describe; None for an answer without a body
    description: str
    retry_after: bool = False  # sent with a Retry-After header
    media: str = "application/json"  # another media type: `kind` is then a JSON schema dict (bytes: binary)
    also: dict[str, dict] = field(default_factory=dict)  # more media types the same answer comes in: their schemas


@dataclass(frozen=True)
class Contract:
    summary: str
    query: type[BaseModel] | None = None
    body: Any = None  # a Body model, or a type (a union of models) pydantic can validate
    body_required: bool = False
    # status -> an Answer model (or any type pydantic can describe), or a Reply saying more
    answers: dict[int, Any] = field(default_factory=dict)
    mutates: bool = False
    always_open: bool = False
    files: str | None = None  # multipart upload: the form field of the files



REF_TEMPLATE = "#/components/schemas/{model}"
CONTRACT_ATTRIBUTE = "mosaic_contract"


def endpoint(summary: str, *, query: type[BaseModel] | None = None, body: Any = None, body_required: bool = False,
             answers: dict[int, Any] | None = None, mutates: bool = False, always_open: bool = False,
             cpu_bound: bool = False, files: str | None = None) -> Callable[[Callable], Callable]:
    """Declare a view's contract (see the module); put it under the route decorator."""
    contract = Contract(summary, query, body, body_required, dict(answers or {}), mutates, always_open, files)

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(*args, **kwargs):
            if query is not None:
                kwargs["query"] = _validated(query, _query_values(query), "query")
            if body is not None:
                kwargs["body"] = _validated(body, _json_body(body_required), "body")
            return view(*args, **kwargs)

        wrapped = limit_cpu(checked) if cpu_bound else checked
        setattr(wrapped, CONTRACT_ATTRIBUTE, contract)
        return wrapped

    return decorate


def contract_of(view: Callable | None) -> Contract | None:
    return getattr(view, CONTRACT_ATTRIBUTE, None)


def current_contract() -> Contract | None:
    """The contract of the view this request is routed to (None: no route, or a view without one)."""
    if request.url_rule is None:
        return None
    return contract_of(current_app.view_functions.get(request.url_rule.endpoint))


def found(value, what: str, key: str):
    """`value`, or NotFound naming what was looked for (a 404, as every domain "no such thing" answers)."""
    if value is None:
        raise NotFound(f"no {what} {key[:64]!r}")
    return value


def _query_values(model: type[BaseModel]) -> dict:
    values = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if query_is_list(info.annotation):
            given = [value for value in request.args.getlist(key) if value != ""]
        else:
            given = request.args.get(key)
        if given not in (None, "", []):  # `?limit=` is the default, as if left out
            values[key] = given
    return values


def query_is_list(annotation) -> bool:
    """Whether a query field takes every repetition of its name (`?hex=a&hex=b`)."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) in (list, tuple, set, frozenset):
            return True
    return False


def _json_body(required: bool):
    data = request.get_json(silent=True)  # bounded and depth-checked by mosaic.web; not JSON is a 400 there
    if data is None:
        if required:
            raise ApiError(400, "invalid_request", "this endpoint needs a JSON body",
                           fields={"body": "a JSON body is required"})
        return {}
    return data


def _validated(model, data, where: str):
    try:
        return _adapter(model).validate_python(data)
    except ValidationError as exc:
        fields = {}
        for error in exc.errors(include_url=False):
            place = ".".join(str(part) for part in error["loc"]) or where
            fields.setdefault(place, error["msg"].removeprefix("Value error, "))
        message = "; ".join(f"{name}: {reason}" for name, reason in fields.items())
        raise ApiError(400, "invalid_request", f"the {where} is not valid: {message}", fields=fields) from None


@functools.cache
def _adapter(model) -> TypeAdapter:
    return TypeAdapter(model)
