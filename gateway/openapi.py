"""The OpenAPI 3.1 document of every public endpoint, generated from the services' Flask apps.

The paths, methods, path parameters, summaries (the views' docstrings) and which operations need the
bearer token (`mosaic.security.is_mutating`) come from walking each service app's `url_map`, so a new
route appears in the document without anyone writing it down. What a URL rule cannot tell — query
parameters, request bodies, response shapes — is declared in `DETAILS` next to the shapes the views
build; the recommend request body comes from its pydantic models (`model_json_schema()`).

Every path carries its service prefix (`/gather/uploads`), as the gateway and nginx serve it. The
gateway's own `/api/...` routes are listed too. `docs_page()` is a Swagger UI page whose scripts are
served from the `flask-swagger-ui` package's files (no CDN).
"""

from __future__ import annotations

import inspect
import re
from html import escape
from pathlib import Path

from flask import Flask
from werkzeug.routing import Rule
from werkzeug.routing.converters import FloatConverter, IntegerConverter, PathConverter

from mosaic import security
from mosaic.web import MAX_JSON_BYTES, MAX_JSON_DEPTH
from recommend.profile import MAX_LIMIT, MAX_OFFSET, MAX_TAGS, Profile

OPENAPI_VERSION = "3.1.0"
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS"})
SKIPPED_ENDPOINTS = frozenset({"static", "api_docs_asset"})  # files, not API operations
GATEWAY = "gateway"

# -- shapes shared by many operations ------------------------------------------------------------------------------

NULLABLE_STRING = {"type": ["string", "null"]}
SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "description": "Every error answer: a machine-readable code and a sentence for people. A 500 adds the "
                       "request id its log lines carry (also in the X-Request-ID header); a 503 names the kind "
                       "of backend that is unavailable.",
        "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                       "request_id": {"type": "string"}, "backend": {"type": "string"}},
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded", "down"]},
            "backends": {"type": "object"},
            # harvest only: features the workers cannot make (a model that did not load) and why.
            "degraded": {"type": "object", "additionalProperties": {"type": "string"}},
            # readiness only: whether every backend the service needs answers, and which do not.
            "ready": {"type": "boolean"},
            "down": {"type": "array", "items": {"type": "string"}},
        },
    },
    "FileResult": {
        "type": "object",
        "required": ["name", "status"],
        "properties": {
            "name": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["stored", "duplicate", "rejected"]},
            "id": NULLABLE_STRING,
            "duplicate_of": NULLABLE_STRING,
            "reason": NULLABLE_STRING,
        },
    },
    "Import": {
        "type": "object",
        "required": ["id", "state"],
        "properties": {"id": {"type": "string"}, "source": {"type": "string"}, "state": {"type": "string"}},
    },
    "LegacyStatus": {
        "type": "object",
        "description": "The original platform's {status, message} answer.",
        "required": ["status", "message"],
        "properties": {"status": {"type": "string"}, "message": {"type": "string"},
                       "import_id": NULLABLE_STRING},
    },
    "ResultItem": {
        "type": "object",
        "required": ["id", "score", "explanation", "thumbnail_url", "url"],
        "properties": {
            "id": {"type": "string"},
            "score": {"type": "number"},
            "explanation": {"type": "object"},
            "thumbnail_url": {"type": "string"},
            "url": {"type": "string"},
        },
    },
    "Results": {
        "type": "object",
        "required": ["results"],
        "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/ResultItem"}}},
    },
    "DuplicateGroup": {
        "type": "object",
        "required": ["id", "best", "members", "resolved"],
        "properties": {
            "id": {"type": "string"},
            "best": {"type": "string"},
            "members": {"type": "array"},
            "resolved": {"type": "boolean"},
            "resolved_at": NULLABLE_STRING,
            "kept": NULLABLE_STRING,
            "reason": NULLABLE_STRING,
            "details": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Profile": Profile.model_json_schema(),
    "RecommendRequest": {
        "description": "The native profile plus paging, or the original platform's {\"preferences\": {...}}.",
        "anyOf": [
            {
                "allOf": [{"$ref": "#/components/schemas/Profile"}],
                "type": "object",
                "properties": {
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20},
                    "offset": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
                    "profile_id": {"type": "string", "maxLength": 32},
                },
            },
            {
                "type": "object",
                "required": ["preferences"],
                "properties": {
                    "preferences": {
                        "type": "object",
                        "properties": {
                            "dominant_color": {"type": "string"},
                            "imagewidth": {"type": "integer", "minimum": 1},
                            "imageheight": {"type": "integer", "minimum": 1},
                            "orientation": {"type": ["integer", "string"]},
                            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_TAGS},
                            "make": {"type": "string"},
                        },
                    },
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    "offset": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
                    "profile_id": {"type": "string", "maxLength": 32},
                },
            },
        ],
    },
}
# Profile forbids extra fields, which would forbid limit/offset beside it in RecommendRequest's allOf.
SCHEMAS["Profile"].pop("additionalProperties", None)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _object(**properties) -> dict:
    return {"type": "object", "required": list(properties), "properties": properties}


def _query(name: str, schema: dict, description: str = "", *, array: bool = False) -> dict:
    parameter = {"name": name, "in": "query", "required": False,
                 "schema": {"type": "array", "items": schema} if array else schema}
    if array:
        parameter.update(style="form", explode=True)
    if description:
        parameter["description"] = description
    return parameter


def _json_body(schema: dict, required: bool = False) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before asking again", "schema": {"type": "integer"}}}


def _retry(response: dict) -> dict:
    return {**response, "headers": RETRY_AFTER}


LIMIT = {"type": "integer", "minimum": 1, "maximum": 100}
BOOLEAN_WORD = {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]}
FILTERS = [
    _query("from", {"type": "string", "format": "date"}, "only photos taken on or after this date"),
    _query("to", {"type": "string", "format": "date"}, "only photos taken on or before this date"),
    _query("country", {"type": "string"}),
    _query("make", {"type": "string"}, "camera make"),
    _query("tag", {"type": "string"}),
]
OBJECT = {"type": "object"}
SUGGESTION_PARAMETERS = [_query("prefix", {"type": "string", "maxLength": 64}, "names starting with this, any case"),
                         _query("limit", LIMIT)]

# -- what a URL rule cannot tell: (service, rule, method) -> parts of the operation ----------------------------------
DETAILS: dict[tuple[str, str, str], dict] = {
    ("*", "/api/v1/health", "GET"): {
        "summary": "Liveness: 200 while the process answers, with the state of its backends (ok, degraded, down).",
        "responses": {"200": _json(_ref("Health"))},
    },
    ("*", "/api/v1/ready", "GET"): {
        "summary": "Readiness: 200 when every backend this service needs answers, else 503 naming them.",
        "responses": {"200": _json(_ref("Health"), "ready"),
                      "503": _retry(_json(_ref("Health"), "not ready: `down` lists the backends that do not answer"))},
    },
    ("gather", "/uploads", "POST"): {
        "summary": "Upload photos (multipart, field `files`); each is stored or rejected with a reason.",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
        }}}},
        "responses": {
            "201": _json(_object(batch={"type": "string"}, files={"type": "array", "items": _ref("FileResult")}),
                         "at least one photo stored"),
            "200": _json(_object(batch={"type": "string"}, files={"type": "array", "items": _ref("FileResult")}),
                         "nothing new stored: duplicates (and maybe rejections)"),
        },
    },
    ("gather", "/batches/<batch_id>", "GET"): {
        "summary": "One upload batch: each file's outcome and processing state.",
        "responses": {"200": _json(_object(batch={"type": "string"}, source={"type": "string"},
                                           created_at={"type": "string"}, counts=OBJECT,
                                           files={"type": "array", "items": OBJECT}))},
    },
    ("gather", "/imports", "POST"): {
        "requestBody": _json_body({"type": "object", "properties": {
            "limit": {"type": "integer", "minimum": 1}, "sample": {"type": "number", "exclusiveMinimum": 0,
                                                                   "maximum": 1}}}),
        "responses": {"202": _json(_ref("Import"), "queued (or the import already running)")},
    },
    ("gather", "/imports/urls", "POST"): {
        "requestBody": _json_body(_object(urls={"type": "array", "minItems": 1, "maxItems": 10_000,
                                                "items": {"type": "string", "maxLength": 2048}}), required=True),
        "responses": {"202": _json(_ref("Import"), "queued")},
    },
    ("gather", "/imports", "GET"): {
        "summary": "Import runs, newest first.",
        "parameters": [_query("limit", {"type": "integer", "minimum": 1, "maximum": 100})],
        "responses": {"200": _json(_object(imports={"type": "array", "items": _ref("Import")}))},
    },
    ("gather", "/imports/<import_id>", "GET"): {
        "responses": {"200": _json(_ref("Import"))},
    },
    ("gather", "/download", "GET"): {
        "responses": {"200": _json(_ref("LegacyStatus")), "4XX": _json(_ref("LegacyStatus"), "not started")},
    },
    ("gather", "/status", "GET"): {"responses": {"200": _json(_ref("LegacyStatus"))}},
    ("harvest", "/images/<image_id>", "GET"): {
        "summary": "Everything the catalog knows about one image, with the steps that failed on it (`failed_steps`).",
        "responses": {"200": _json(_object(
            id={"type": "string"}, state={"type": "string"}, features={"type": "object"},
            failed_steps={"type": "object", "additionalProperties": _object(
                version={"type": "string"}, error={"type": "string"}, at={"type": "string"})}))},
    },
    ("harvest", "/status", "GET"): {
        "summary": "Pipeline status: counts by state, rates, failures, failed steps, degraded features, batches.",
        "responses": {"200": _json(_object(
            counts={"type": "object"}, degraded={"type": "object"},
            step_failures={"type": "array", "items": _object(
                step={"type": "string"}, photos={"type": "integer"}, version={"type": "string"},
                reason={"type": "string"})}))},
    },
    ("harvest", "/retry", "POST"): {
        "responses": {"200": _json(_object(retried={"type": "integer"}, dispatched={"type": "integer"}))},
    },
    ("harvest", "/dispatch", "POST"): {
        "summary": "Dispatch what needs processing now.",
        "responses": {"200": _json(_object(dispatched={"type": "integer"}))},
    },
    ("harvest", "/reprocess", "POST"): {
        "summary": "Mark images (all, the given `ids`, or only `stale` ones) for processing again.",
        "requestBody": _json_body({"type": "object", "properties": {
            "ids": {"type": "array", "items": {"type": "string"}}, "stale": {"type": "boolean"}}}),
        "responses": {"200": _json(_object(marked={"type": "integer"}))},
    },
    ("recommend", "/recommend", "POST"): {
        "requestBody": _json_body(_ref("RecommendRequest"), required=True),
        "responses": {"200": _json({
            "type": "object", "required": ["results", "profile_id", "offset", "limit", "next_offset"],
            "properties": {"results": {"type": "array", "items": _ref("ResultItem")},
                           "profile_id": {"type": "string"}, "offset": {"type": "integer"},
                           "limit": {"type": "integer"}, "next_offset": {"type": ["integer", "null"]},
                           "message": {"type": "string"}}})},
    },
    ("recommend", "/feedback", "POST"): {
        "requestBody": _json_body({"type": "object", "required": ["profile_id", "image_id", "vote"], "properties": {
            "profile_id": {"type": "string"}, "image_id": {"type": "string"},
            "vote": {"type": "string", "enum": ["like", "dislike"]}}}, required=True),
        "responses": {"200": _json(_object(profile_id={"type": "string"}, image_id={"type": "string"},
                                           vote={"type": "string"}, feedback=OBJECT))},
    },
    ("recommend", "/profiles/<profile_id>", "GET"): {
        "summary": "A saved profile with its feedback counts.",
        "responses": {"200": _json(_object(id={"type": "string"}, preferences=OBJECT, feedback=OBJECT,
                                           created_at={"type": "string"}, updated_at={"type": "string"}))},
    },
    ("recommend", "/labels", "GET"): {
        "parameters": SUGGESTION_PARAMETERS,
        "responses": {"200": _json(_object(labels={"type": "array", "items": _object(
            label={"type": "string"}, count={"type": "integer"})}))},
    },
    ("recommend", "/makes", "GET"): {
        "parameters": SUGGESTION_PARAMETERS,
        "responses": {"200": _json(_object(makes={"type": "array", "items": _object(
            make={"type": "string"}, count={"type": "integer"})}))},
    },
    ("recommend", "/colour-names", "GET"): {
        "responses": {"200": _json(_object(colours={"type": "array", "items": _object(
            name={"type": "string"}, hex={"type": "string"}, count={"type": "integer"})}))},
    },
    ("recommend", "/similar/<image_id>", "GET"): {
        "summary": "Images that look like this one.",
        "parameters": [_query("limit", LIMIT), _query("blend", BOOLEAN_WORD, "blend in colour similarity")],
        "responses": {"200": _json(_ref("Results"))},
    },
    ("recommend", "/colours", "GET"): {
        "summary": "Images whose palette contains the given colours.",
        "parameters": [
            _query("hex", {"type": "string"}, "a colour like #1e90ff (repeatable)", array=True),
            _query("name", {"type": "string"}, "a colour name like teal (repeatable)", array=True),
            _query("min_share", {"type": "number", "minimum": 0, "maximum": 1}),
            _query("max_delta_e", {"type": "number", "minimum": 1, "maximum": 50}),
            _query("limit", LIMIT),
        ],
        "responses": {"200": _json(_ref("Results"))},
    },
    ("recommend", "/duplicates", "GET"): {
        "summary": "Groups of near-duplicate images.",
        "parameters": [_query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                       _query("offset", {"type": "integer", "minimum": 0}), _query("resolved", BOOLEAN_WORD)],
        "responses": {"200": _json(_object(groups={"type": "array", "items": _ref("DuplicateGroup")},
                                           total={"type": "integer"}))},
    },
    ("recommend", "/duplicates/<image_id>", "GET"): {
        "summary": "The near-duplicate group of an image (null when it has none).",
        "responses": {"200": _json(_object(group={"anyOf": [_ref("DuplicateGroup"), {"type": "null"}]}))},
    },
    ("recommend", "/duplicates/<group_id>/resolve", "POST"): {
        "summary": "Mark a duplicate group as resolved, keeping its best member or the one given.",
        "requestBody": _json_body(_object(keep={"type": "string"})),
        "responses": {"200": _json(_object(group=_ref("DuplicateGroup")))},
    },
    ("visualize", "/graphs", "GET"): {
        "summary": "Every chart, with the URL of its figure.",
        "parameters": FILTERS,
        "responses": {"200": _json({"type": "array", "items": _object(
            name={"type": "string"}, title={"type": "string"}, url={"type": "string"})})},
    },
    ("visualize", "/graph/<path:name>", "GET"): {
        "summary": "One chart as Plotly JSON, a standalone HTML page (?format=html) or PNG (?format=png).",
        "parameters": [*FILTERS, _query("format", {"type": "string", "enum": ["json", "html", "png"]}),
                       _query("list", {"type": "string"}, "tags/dendrogram: comma-separated category words")],
        "responses": {"200": {"description": "the figure", "content": {
            "application/json": {"schema": OBJECT}, "text/html": {"schema": {"type": "string"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}}}}},
    },
    ("visualize", "/topojson/<path:filename>", "GET"): {
        "summary": "A world outline file the map chart draws.",
        "responses": {"200": _json(OBJECT)},
    },
    ("visualize", "/api/v1/reset", "GET"): {
        "summary": "Drop the cached figures.",
        "responses": {"200": _json(_object(status={"type": "string"}, message={"type": "string"},
                                           dropped={"type": "integer"}))},
    },
    ("cdn", "/show/<name>", "GET"): {
        "summary": "An image's bytes (original or a rendition), cacheable for a year.",
        "parameters": [_query("size", {"type": "string"}, "original (default) or a rendition size, e.g. thumb")],
        "responses": {
            "200": {"description": "the image", "content": {"image/*": {"schema": {"type": "string",
                                                                                   "format": "binary"}}}},
            "202": _retry(_json(_object(status={"type": "string", "enum": ["pending"]}, message={"type": "string"}),
                                "the rendition is not made yet: the photo waits for its harvest worker")),
            "304": {"description": "not modified (If-None-Match matched the ETag)"},
            "404": _json(_ref("Error"), "no such image, or a rendition that will not be made (the message says why)"),
        },
    },
    (GATEWAY, "/api/openapi.json", "GET"): {"responses": {"200": _json(OBJECT)}},
    (GATEWAY, "/api/docs", "GET"): {
        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}},
    },
    (GATEWAY, "/api/v1/health", "GET"): {
        "summary": "Where each service's health is.",
        "responses": {"200": _json(_object(services={"type": "array", "items": {"type": "string"}}))},
    },
}
GATEWAY_PUBLIC = re.compile(r"^/api/")  # the gateway's own routes that are part of the API
_CONVERTED = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def build_document(services: dict[str, Flask], gateway: Flask | None = None, version: str = "1") -> dict:
    """The OpenAPI document of `services` ({name: app}, each mounted at /<name>) and the gateway's /api/ routes."""
    paths: dict[str, dict] = {}
    mounted = [(name, f"/{name}", app) for name, app in services.items()]
    if gateway is not None:
        mounted.append((GATEWAY, "", gateway))
    for service, prefix, app in mounted:
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.endpoint in SKIPPED_ENDPOINTS or (service == GATEWAY and not GATEWAY_PUBLIC.match(rule.rule)):
                continue
            path = prefix + openapi_path(rule.rule)
            for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
                operation = _operation(service, rule, method, app.view_functions[rule.endpoint])
                paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Mosaic",
            "version": version,
            "description": "Every service's public endpoints, under the prefix the gateway mounts it at. "
                           "Errors answer {\"error\": code, \"message\": reason}.",
        },
        "tags": [{"name": name} for name in [*services, GATEWAY]],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "MOSAIC_API_TOKEN, when the platform sets one"}},
        },
    }


def openapi_path(rule: str) -> str:
    """`/graph/<path:name>` -> `/graph/{name}`."""
    return _CONVERTED.sub(lambda match: "{" + match.group(1) + "}", rule)


def _operation(service: str, rule: Rule, method: str, view) -> dict:
    details = DETAILS.get((service, rule.rule, method)) or DETAILS.get(("*", rule.rule, method), {})
    doc = inspect.getdoc(view) or ""
    summary, _, description = doc.partition("\n")
    operation = {
        "operationId": f"{service}.{rule.endpoint}.{method.lower()}",
        "tags": [service],
        "summary": (summary.strip() or details.get("summary") or rule.endpoint.replace("_", " ")),
    }
    if description.strip():
        operation["description"] = description.strip()
    parameters = [_path_parameter(name, rule._converters[name]) for name in rule.arguments]
    parameters += details.get("parameters", [])
    if parameters:
        operation["parameters"] = parameters
    if "requestBody" in details:
        operation["requestBody"] = details["requestBody"]
    responses = {"200": _json(OBJECT)} if "responses" not in details else {}
    responses.update(details.get("responses", {}))
    body = details.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        responses.setdefault("400", _json(_ref("Error"), f"the body is not JSON, or nests deeper than {MAX_JSON_DEPTH} "
                                                         "levels"))
        responses.setdefault("413", _json(_ref("Error"), f"the JSON body is larger than {MAX_JSON_BYTES:,} bytes"))
    if service != GATEWAY and rule.rule != "/api/v1/health":  # liveness answers 200 whatever is down
        responses.setdefault("503", _retry(_json(_ref("Error"), "a backend this service needs is unavailable")))
    responses.setdefault("4XX", _json(_ref("Error"), "the request cannot be answered; the message says why"))
    responses.setdefault("default", _json(_ref("Error"), "an error"))
    operation["responses"] = responses
    if service != GATEWAY and security.is_mutating(service, rule.rule, method):
        operation["security"] = [{"bearer": []}]
    return operation


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
