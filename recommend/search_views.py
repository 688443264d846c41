"""HTTP views of discovery by example: similar images, colour search, duplicate groups.

GET  /similar/<id>?limit=20&blend=true            {"results": [item, ...]}
GET  /colours?hex=%23rrggbb&hex=...&name=teal&min_share=0.05&max_delta_e=10&limit=20
                                                  {"results": [item, ...]}
GET  /duplicates?limit=100&offset=0&resolved=true|false
                                                  {"groups": [group, ...], "total": n}
GET  /duplicates/<image id>                       {"group": group} or {"group": null} (no near-duplicate)
POST /duplicates/<group id>/resolve               {"group": group, "trashed": [ids]} with "resolved": true
item:  {"id", "score", "explanation", "thumbnail_url", "url"}
group: {"id", "best", "members" (best first), "resolved", "resolved_at", "reason"}
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from mosaic.contract import endpoint
from mosaic.web import backends
from recommend import caches, colour_search, duplicates, similar
from recommend.models import (
    ColourQuery,
    DuplicateGroups,
    DuplicatesQuery,
    GroupOrNone,
    Resolve,
    ResolvedGroup,
    Results,
    SimilarQuery,
)

blueprint = Blueprint("search", __name__)


@blueprint.get("/similar/<image_id>")
@endpoint("Images that look like this one.", query=SimilarQuery, answers={200: Results}, cpu_bound=True)
def similar_images(image_id: str, query: SimilarQuery):
    return jsonify(results=similar.similar(backends(), image_id, limit=query.limit, blend=query.blend))


@blueprint.get("/colours")
@endpoint("Images whose palette holds the given colours.", query=ColourQuery, answers={200: Results},
          cpu_bound=True)
def colours(query: ColourQuery):
    wanted = colour_search.parse_wanted(query.hex, query.name)
    return jsonify(results=colour_search.search_colours(backends(), wanted, min_share=query.min_share,
                                                        max_delta_e=query.max_delta_e, limit=query.limit))


@blueprint.get("/duplicates")
@endpoint("Groups of near-duplicate images.", query=DuplicatesQuery, answers={200: DuplicateGroups})
def duplicate_groups(query: DuplicatesQuery):
    groups = duplicates.all_groups(backends(), caches.duplicate_listing())
    if query.resolved is not None:
        groups = [group for group in groups if group.resolved == query.resolved]
    page = groups[query.offset:query.offset + query.limit]
    return jsonify(groups=[group.as_json() for group in page], total=len(groups))


@blueprint.get("/duplicates/<image_id>")
@endpoint("The near-duplicate group of an image (null when it has none).", answers={200: GroupOrNone})
def duplicate_group(image_id: str):
    group = duplicates.group_of(backends(), image_id)
    return jsonify(group=group.as_json() if group else None)


@blueprint.post("/duplicates/<group_id>/resolve")
@endpoint("Mark a duplicate group as resolved, keeping its best member or the one given; `trash_others` moves "
          "the other members to the trash.", body=Resolve, mutates=True, answers={200: ResolvedGroup})
def resolve_group(group_id: str, body: Resolve):
    group, trashed = duplicates.resolve(backends(), group_id, body.keep, caches.duplicate_listing(),
                                        trash_others=body.trash_others)
    return jsonify(group=group.as_json(), trashed=trashed)
