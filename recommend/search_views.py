"""HTTP views of discovery by example: similar images, colour search, duplicate groups.

GET  /similar/<id>?limit=20&blend=true            {"results": [item, ...]}
GET  /colours?hex=%23rrggbb&hex=...&name=teal&min_share=0.05&max_delta_e=10&limit=20
                                                  {"results": [item, ...]}
GET  /duplicates?limit=100&offset=0&resolved=true|false
                                                  {"groups": [group, ...], "total": n}
GET  /duplicates/<image id>                       {"group": group} or {"group": null} (no near-duplicate)
POST /duplicates/<group id>/resolve               {"group": group} with "resolved": true
item:  {"id", "score", "explanation", "thumbnail_url", "url"}
group: {"id", "best", "members" (best first), "resolved", "resolved_at", "reason"}
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from mosaic.web import ApiError, backends, cpu_bound
from recommend import colour_search, duplicates, similar

blueprint = Blueprint("search", __name__)

MAX_LIMIT = 100
MAX_GROUPS_PAGE = 1000


def _number(name: str, default, low, high, kind=int):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ApiError(400, f"bad_{name}", f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ApiError(400, f"bad_{name}", f"{name} must be between {low} and {high}, got {raw}")
    return value


def _flag(name: str, default: bool | None) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise ApiError(400, f"bad_{name}", f"{name} must be true or false, got {raw!r}")


def _unknown_image(image_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no image {image_id!r}")


@blueprint.get("/similar/<image_id>")
@cpu_bound
def similar_images(image_id: str):
    limit = _number("limit", 20, 1, MAX_LIMIT)
    blend = _flag("blend", True)
    try:
        results = similar.similar(backends(), image_id, limit=limit, blend=blend)
    except duplicates.UnknownImage:
        raise _unknown_image(image_id) from None
    except duplicates.NotReady as exc:
        raise ApiError(409, "not_indexed", str(exc)) from None
    return jsonify(results=results)


@blueprint.get("/colours")
@cpu_bound
def colours():
    try:
        wanted = colour_search.parse_wanted(request.args.getlist("hex"), request.args.getlist("name"))
    except colour_search.BadColour as exc:
        raise ApiError(400, exc.code, str(exc)) from None
    min_share = _number("min_share", 0.05, 0.0, 1.0, float)
    max_delta_e = _number("max_delta_e", 10.0, 1.0, 50.0, float)
    limit = _number("limit", 20, 1, MAX_LIMIT)
    results = colour_search.search_colours(backends(), wanted, min_share=min_share, max_delta_e=max_delta_e,
                                           limit=limit)
    return jsonify(results=results)


@blueprint.get("/duplicates")
def duplicate_groups():
    limit = _number("limit", 100, 1, MAX_GROUPS_PAGE)
    offset = _number("offset", 0, 0, 10**9)
    resolved = _flag("resolved", None)
    groups = duplicates.all_groups(backends())
    if resolved is not None:
        groups = [group for group in groups if group.resolved == resolved]
    return jsonify(groups=[group.as_json() for group in groups[offset:offset + limit]], total=len(groups))


@blueprint.get("/duplicates/<image_id>")
def duplicate_group(image_id: str):
    try:
        group = duplicates.group_of(backends(), image_id)
    except duplicates.UnknownImage:
        raise _unknown_image(image_id) from None
    except duplicates.NotReady as exc:
        raise ApiError(409, "not_harvested", str(exc)) from None
    return jsonify(group=group.as_json() if group else None)


@blueprint.post("/duplicates/<group_id>/resolve")
def resolve_group(group_id: str):
    """Body (optional): {"keep": "<member id>"}, the copy the user keeps; the group's best member otherwise."""
    payload = request.get_json(silent=True)
    keep = payload.get("keep") if isinstance(payload, dict) else None
    if keep is not None and not isinstance(keep, str):
        raise ApiError(400, "bad_keep", f"keep must be an image id (a string), got {keep!r}")
    try:
        group = duplicates.resolve(backends(), group_id, keep)
    except duplicates.NotAMember as exc:
        raise ApiError(400, "not_a_member", str(exc)) from None
    except duplicates.UnknownImage:
        raise ApiError(404, "not_found", f"no current duplicate group {group_id!r}: its members may have changed "
                                         "(a new copy gives a group a new id); list /duplicates again") from None
    return jsonify(group=group.as_json())
