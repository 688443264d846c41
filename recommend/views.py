"""HTTP views of recommend: recommendations, feedback, saved profiles, and what a profile can ask for."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import insert, select, update

from mosaic.catalog.images import new_id, now
from mosaic.catalog.schema import profiles
from mosaic.web import ApiError, backends, cpu_bound, settings
from recommend import suggestions
from recommend.feedback import FeedbackError, counts, load_feedback, record_vote
from recommend.profile import Profile, ProfileError, parse_request
from recommend.ranking import Modes, recommend

blueprint = Blueprint("recommend", __name__)


@blueprint.post("/recommend")
@cpu_bound
def recommend_view():
    """Body: the native profile ({"colour", "width", "height", "orientation", "tags", "make"}) or the
    original platform's {"preferences": {...}}, plus optional "limit", "offset", "profile_id"."""
    wanted = parse_request(_json_body())
    profile, profile_id = _remember(wanted.profile, wanted.profile_id)
    with backends().catalog.connect() as connection:
        given = load_feedback(connection, profile_id)
    current = settings()
    modes = Modes(orientation=current.orientation_preference, make=current.make_preference)
    page = recommend(backends(), profile, wanted.limit, wanted.offset, modes=modes, given=given)
    body = {"results": page.results, "profile_id": profile_id, "offset": page.offset, "limit": page.limit,
            "next_offset": page.next_offset}
    if page.message:
        body["message"] = page.message
    return jsonify(body)


@blueprint.post("/feedback")
def feedback_view():
    """{"profile_id", "image_id", "vote": "like|dislike"}: stored (the latest vote wins)."""
    try:
        with backends().catalog.begin() as connection:
            recorded = record_vote(connection, _json_body())
    except FeedbackError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    return jsonify(recorded)


@blueprint.get("/profiles/<profile_id>")
def profile_view(profile_id: str):
    with backends().catalog.connect() as connection:
        row = connection.execute(select(profiles).where(profiles.c.id == profile_id)).mappings().first()
        if row is None:
            raise ApiError(404, "unknown_profile", f"no profile {profile_id}")
        votes = counts(connection, profile_id)
    return jsonify(id=row["id"], preferences=row["preferences"], feedback=votes,
                   created_at=row["created_at"].isoformat(), updated_at=row["updated_at"].isoformat())


@blueprint.get("/labels")
def labels_view():
    """Known tag labels with how many photos have each, most common first (?prefix=, ?limit=)."""
    prefix, limit = _suggestion_args()
    with backends().catalog.connect() as connection:
        return jsonify(labels=suggestions.labels(connection, prefix, limit))


@blueprint.get("/makes")
def makes_view():
    """Camera makes in the catalog with how many photos each, most common first (?prefix=, ?limit=)."""
    prefix, limit = _suggestion_args()
    with backends().catalog.connect() as connection:
        return jsonify(makes=suggestions.makes(connection, prefix, limit))


@blueprint.get("/colour-names")
def colour_names_view():
    """The colour names colour search knows (?name=), with their colour and how many palettes hold each."""
    with backends().catalog.connect() as connection:
        return jsonify(colours=suggestions.colour_names(connection))


@blueprint.errorhandler(ProfileError)
def _bad_profile(error: ProfileError):
    return jsonify(error="bad_profile", message=str(error)), 400


def _json_body() -> object:
    payload = request.get_json(silent=True)
    if payload is None and request.data:
        raise ApiError(400, "bad_json", "the body is not valid JSON")
    return payload if payload is not None else {}


def _suggestion_args() -> tuple[str, int]:
    prefix = request.args.get("prefix", "").strip()
    if len(prefix) > suggestions.MAX_PREFIX:
        raise ApiError(400, "bad_prefix", f"prefix must be at most {suggestions.MAX_PREFIX} characters")
    raw = request.args.get("limit", "")
    if not raw:
        return prefix, 20
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError(400, "bad_limit", f"limit must be a whole number, got {raw!r}") from None
    if not 1 <= limit <= suggestions.MAX_LIMIT:
        raise ApiError(400, "bad_limit", f"limit must be between 1 and {suggestions.MAX_LIMIT}, got {limit}")
    return prefix, limit


def _remember(profile: Profile, profile_id: str | None) -> tuple[Profile, str]:
    """Store the profile; fields the request leaves out keep the saved profile's values."""
    stamp = now()
    with backends().catalog.begin() as connection:
        saved = None
        if profile_id:
            saved = connection.execute(select(profiles.c.preferences).where(profiles.c.id == profile_id)).scalar()
            if saved is None:
                raise ApiError(404, "unknown_profile", f"no profile {profile_id}")
        if saved is not None:
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
