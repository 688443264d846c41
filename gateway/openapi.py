"""The OpenAPI 3.1 document of every public endpoint, generated from the services' Flask apps.

Each operation comes from two places only: the URL rule (path, methods, path parameters) and the contract
its view declares with `mosaic.contract.endpoint` (summary, query parameters, JSON body and answers as
pydantic models, whether it needs the bearer token). A service route without a contract is an error here,
so nothing reaches the API undocumented; the gateway's own pages (the web UI) are not part of the API.

Every path carries its service prefix (`/gather/uploads`), as the gateway and nginx serve it. The
gateway's own `/api/...` routes are listed too. `docs_page()` is a Swagger UI page whose scripts are
served from the `flask-swagger-ui` package's files (no CDN).
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from flask import Flask
from pydantic import BaseModel, TypeAdapter
from werkzeug.routing import Rule
from werkzeug.routing.converters import FloatConverter, IntegerConverter, PathConverter

from mosaic.contract import REF_TEMPLATE, Contract, Reply, contract_of, query_is_list
from mosaic.errors import Error
from mosaic.web import MAX_JSON_BYTES, MAX_JSON_DEPTH

OPENAPI_VERSION = "3.1.0"
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS"})
SKIPPED_ENDPOINTS = frozenset({"static", "api_docs_asset"})  # files, not API operations
GATEWAY = "gateway"
GATEWAY_PUBLIC = re.compile(r"^/api/")  # the gateway's own routes that are part of the API
_CONVERTED = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before asking again", "schema": {"type": "integer"}}}


class MissingContract(LookupError):
    """A service route whose view declares no contract."""


def build_document(services: dict[str, Flask], gateway: Flask | None = None, version: str = "1") -> dict:
    """The OpenAPI document of `services` ({name: app}, each mounted at /<name>) and the gateway's /api/ routes."""
    schemas = _Schemas()
    error = schemas.ref(Error)
    paths: dict[str, dict] = {}
    mounted = [(name, f"/{name}", app) for name, app in services.items()]
    if gateway is not None:
        mounted.append((GATEWAY, "", gateway))
    for service, prefix, app in mounted:
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.endpoint in SKIPPED_ENDPOINTS or (service == GATEWAY and not GATEWAY_PUBLIC.match(rule.rule)):
                continue
            contract = contract_of(app.view_functions[rule.endpoint])
            if contract is None:
                raise MissingContract(f"{service} route {rule.rule} ({rule.endpoint}) declares no contract: "
                                      "decorate its view with mosaic.contract.endpoint")
            path = prefix + openapi_path(rule.rule)
            for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
                operation = _operation(service, rule, method, contract, schemas, error)
                paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Mosaic",
            "version": version,
            "description": "Every service's public endpoints, under the prefix the gateway mounts it at. "
                           "Errors answer {\"error\": code, \"message\": reason}; a request that does not "
                           "validate adds {\"fields\": {name: reason}}.",
        },
        "tags": [{"name": name} for name in [*services, GATEWAY]],
        "paths": paths,
        "components": {
            "schemas": schemas.named,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "MOSAIC_API_TOKEN, when the platform sets one"}},
        },
    }


def openapi_path(rule: str) -> str:
    """`/graph/<path:name>` -> `/graph/{name}`."""
    return _CONVERTED.sub(lambda match: "{" + match.group(1) + "}", rule)


class _Schemas:
    """JSON schemas of the contracts' types; every pydantic model is named once in components/schemas."""

    def __init__(self):
        self.named: dict[str, dict] = {}

    def ref(self, kind, mode: str = "serialization") -> dict:
        schema = TypeAdapter(kind).json_schema(ref_template=REF_TEMPLATE, mode=mode)
        for name, definition in schema.pop("$defs", {}).items():
            self._name(name, definition)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            self._name(kind.__name__, schema)
            return {"$ref": REF_TEMPLATE.format(model=kind.__name__)}
        return schema

    def _name(self, name: str, schema: dict) -> None:
        known = self.named.setdefault(name, schema)
        if known != schema:
            raise ValueError(f"two different models are both named {name}: give one another name")


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(service: str, rule: Rule, method: str, contract: Contract, schemas: _Schemas, error: dict) -> dict:
    operation = {
        "operationId": f"{service}.{rule.endpoint}.{method.lower()}",
        "tags": [service],
        "summary": contract.summary,
    }
    parameters = [_path_parameter(name, rule._converters[name]) for name in rule.arguments]
    if contract.query is not None:
        parameters += _query_parameters(contract.query, schemas)
    if parameters:
        operation["parameters"] = parameters
    if contract.body is not None:
        operation["requestBody"] = {"required": contract.body_required, "content": {
            "application/json": {"schema": schemas.ref(contract.body, mode="validation")}}}
    elif contract.files is not None:
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": [contract.files],
            "properties": {contract.files: {"type": "array", "items": {"type": "string", "format": "binary"}}},
        }}}}
    responses = {str(status): _answer(answer, schemas) for status, answer in contract.answers.items()}
    if contract.query is not None or contract.body is not None:
        responses.setdefault("400", _json(error, "the request does not validate: `fields` names each bad field"))
    if contract.body is not None:
        responses.setdefault("413", _json(error, f"the JSON body is larger than {MAX_JSON_BYTES:,} bytes"))
        responses["400"]["description"] += f" (or the body is not JSON, or nests deeper than {MAX_JSON_DEPTH} levels)"
    if service != GATEWAY and rule.rule != "/api/v1/health":  # liveness answers 200 whatever is down
        responses.setdefault("503", {**_json(error, "a backend this service needs is unavailable"),
                                     "headers": RETRY_AFTER})
    responses.setdefault("4XX", _json(error, "the request cannot be answered; the message says why"))
    responses.setdefault("default", _json(error, "an error"))
    operation["responses"] = responses
    if contract.mutates:
        operation["security"] = [{"bearer": []}]
    return operation


def _answer(answer, schemas: _Schemas) -> dict:
    """A contract's answer: a type (JSON of that shape) or a Reply (description, headers, other media)."""
    if not isinstance(answer, Reply):
        return _json(schemas.ref(answer))
    if answer.kind is None:
        response = {"description": answer.description}
    elif answer.media == "application/json":
        response = _json(schemas.ref(answer.kind), answer.description)
    else:
        response = {"description": answer.description, "content": {answer.media: {"schema": answer.kind}}}
    for media, schema in answer.also.items():
        response.setdefault("content", {})[media] = {"schema": schema}
    if answer.retry_after:
        response["headers"] = RETRY_AFTER
    return response


def _query_parameters(model: type[BaseModel], schemas: _Schemas) -> list[dict]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, mode="validation")
    for name, definition in schema.pop("$defs", {}).items():
        schemas._name(name, definition)
    required = set(schema.get("required", []))
    parameters = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        field_schema = dict(schema["properties"][key])
        field_schema.pop("title", None)
        parameter = {"name": key, "in": "query", "required": key in required, "schema": field_schema}
        if query_is_list(info.annotation):
            parameter.update(style="form", explode=True)
        if info.description:
            parameter["description"] = info.description
        parameters.append(parameter)
    return parameters


def _path_parameter(name: str, converter) -> dict:
    if isinstance(converter, IntegerConverter):
        schema = {"type": "integer"}
    elif isinstance(converter, FloatConverter):
        schema = {"type": "number"}
    elif isinstance(converter, PathConverter):
        schema = {"type": "string", "minLength": 1}
    else:  # the default converter: one segment, no slash
        schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


# -- the docs page -------------------------------------------------------------------------------------------------


SWAGGER_UI_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"})


def swagger_ui_dir() -> Path | None:
    """Swagger UI's files as the flask-swagger-ui package ships them, or None when it is not installed."""
    try:
        import flask_swagger_ui
    except ImportError:
        return None
    folder = Path(flask_swagger_ui.__file__).parent / "dist"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def docs_page(document: dict, spec_url: str = "/api/openapi.json", assets: str = "/api/docs/") -> str:
    """Swagger UI over the document, with a plain list of the operations for readers without JavaScript."""
    rows = "".join(
        f"<li><code>{escape(method.upper())} {escape(path)}</code> — {escape(operation.get('summary', ''))}</li>"
        for path, item in document["paths"].items() for method, operation in item.items()
    )
    script = ""
    if swagger_ui_dir() is not None:
        script = (
            f'<link rel="stylesheet" href="{assets}swagger-ui.css">'
            f'<script src="{assets}swagger-ui-bundle.js"></script>'
            "<script>window.onload = function () { document.getElementById('operations').hidden = true; "
            f"window.ui = SwaggerUIBundle({{url: '{spec_url}', dom_id: '#swagger-ui'}}); }};</script>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Mosaic API</title>"
        f"{script}</head><body><div id='swagger-ui'></div>"
        f"<section id='operations'><h1>Mosaic API</h1><p>The document: <a href='{spec_url}'>{spec_url}</a></p>"
        f"<ul>{rows}</ul></section></body></html>"
    )
