"""HTTP views of recommend."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import insert, select, update

from mosaic.catalog.images import new_id, now
from mosaic.catalog.schema import profiles
from mosaic.web import ApiError, backends
from recommend.profile import Profile, ProfileError, parse_request
from recommend.ranking import recommend

blueprint = Blueprint("recommend", __name__)


@blueprint.post("/recommend")
def recommend_view():
    payload = request.get_json(silent=True)
    if payload is None and request.data:
        raise ApiError(400, "bad_json", "the body is not valid JSON")
    try:
        wanted = parse_request(payload if payload is not None else {})
    except ProfileError as exc:
        raise ApiError(400, "bad_profile", str(exc)) from None
    profile, profile_id = _remember(wanted.profile, wanted.profile_id)
    return jsonify(results=recommend(backends(), profile, wanted.limit), profile_id=profile_id)


def _remember(profile: Profile, profile_id: str | None) -> tuple[Profile, str]:
    """Store the profile; fields the request leaves out keep the saved profile's values."""
    stamp = now()
    with backends().catalog.begin() as connection:
        saved = None
        if profile_id:
            saved = connection.execute(select(profiles.c.preferences).where(profiles.c.id == profile_id)).scalar()
            if saved is None:
                raise ApiError(404, "unknown_profile", f"no profile {profile_id}")
        if saved:
            merged = {**saved, **profile.model_dump(exclude_unset=True)}
            profile = Profile(**merged)
            connection.execute(
                update(profiles).where(profiles.c.id == profile_id)
                .values(preferences=profile.model_dump(), updated_at=stamp)
            )
        else:
            profile_id = new_id()
            connection.execute(
                insert(profiles).values(id=profile_id, preferences=profile.model_dump(), created_at=stamp,
                                        updated_at=stamp)
            )
    return profile, profile_id
