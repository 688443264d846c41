"""HTTP views of recommend: recommendations, feedback, saved profiles, and what a profile can ask for."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import insert, select, update

from mosaic.catalog.images import new_id, now
from mosaic.catalog.schema import profiles
from mosaic.contract import endpoint, found
from mosaic.errors import NotFound
from mosaic.web import backends, settings
from recommend import albums, caches, suggestions
from recommend.feedback import counts, load_feedback, record_vote
from recommend.models import ColourNames, Labels, Makes, RecommendPage, SavedProfile, SuggestionQuery, Vote, Voted
from recommend.profile import Profile, RecommendRequest
from recommend.ranking import recommend
from recommend.signals import Modes

blueprint = Blueprint("recommend", __name__)


# A POST that answers a query: storing the asked-for profile is a side effect the caller requested (a fresh
# unguessable id; nothing else changes), so it is open like any read.
@blueprint.post("/recommend")
@endpoint("Photos for a preference profile, each with why it was chosen; the profile is saved under profile_id.",
          body=RecommendRequest, answers={200: RecommendPage}, cpu_bound=True)
def recommend_view(body: RecommendRequest):
    profile, profile_id = _remember(body.profile, body.profile_id)
    with backends().catalog.connect() as connection:
        given = load_feedback(connection, profile_id)
    current = settings()
    modes = Modes(orientation=current.orientation_preference, make=current.make_preference)
    album = None
    if body.album is not None:
        with backends().catalog.connect() as connection:
            album = albums.resolve(connection, body.album)
    page = recommend(backends(), profile, body.limit, body.offset, modes=modes, given=given,
                     words=caches.word_vectors(), labels=caches.known_labels(), album=album)
    answer = {"results": page.results, "profile_id": profile_id, "offset": page.offset, "limit": page.limit,
              "next_offset": page.next_offset}
    if page.message:
        answer["message"] = page.message
    return jsonify(answer)


@blueprint.post("/feedback")
@endpoint("Like or dislike a photo for a saved profile (the latest vote wins); later pages take it into account.",
          body=Vote, body_required=True, mutates=True, answers={200: Voted})
def feedback_view(body: Vote):
    with backends().catalog.begin() as connection:
        return jsonify(record_vote(connection, body.profile_id, body.image_id, body.vote))


@blueprint.get("/profiles/<profile_id>")
@endpoint("A saved profile with its feedback counts.", answers={200: SavedProfile})
def profile_view(profile_id: str):
    with backends().catalog.connect() as connection:
        row = found(connection.execute(select(profiles).where(profiles.c.id == profile_id)).mappings().first(),
                    "profile", profile_id)
        votes = counts(connection, profile_id)
    return jsonify(id=row["id"], preferences=row["preferences"], feedback=votes,
                   created_at=row["created_at"].isoformat(), updated_at=row["updated_at"].isoformat())


@blueprint.get("/labels")
@endpoint("Known tag labels with how many photos have each, most common first.", query=SuggestionQuery,
          answers={200: Labels})
def labels_view(query: SuggestionQuery):
    with backends().catalog.connect() as connection:
        return jsonify(labels=suggestions.labels(connection, query.prefix.strip(), query.limit))


@blueprint.get("/makes")
@endpoint("Camera makes in the catalog with how many photos each, most common first.", query=SuggestionQuery,
          answers={200: Makes})
def makes_view(query: SuggestionQuery):
    with backends().catalog.connect() as connection:
        return jsonify(makes=suggestions.makes(connection, query.prefix.strip(), query.limit))


@blueprint.get("/colour-names")
@endpoint("The colour names colour search knows, with their colour and how many palettes hold each.",
          answers={200: ColourNames})
def colour_names_view():
    with backends().catalog.connect() as connection:
        return jsonify(colours=suggestions.colour_names(connection))


def _remember(profile: Profile, profile_id: str | None) -> tuple[Profile, str]:
    """Store the profile; fields the request leaves out keep the saved profile's values."""
    stamp = now()
    with backends().catalog.begin() as connection:
        saved = None
        if profile_id:
            saved = connection.execute(select(profiles.c.preferences).where(profiles.c.id == profile_id)).scalar()
            if saved is None:
                raise NotFound(f"no profile {profile_id!r}", "unknown_profile")
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
