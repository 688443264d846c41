"""What recommend's endpoints take and answer (their contracts: recommend/views.py, recommend/search_views.py).

The recommend request body is `recommend.profile.RecommendRequest` (the profile is domain, not transport)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mosaic.contract import Answer, Body, Limit, Offset, Query
from recommend import suggestions

MAX_RESULTS = 100  # similar images and colour search
MAX_GROUPS_PAGE = 1000
ProfileId = Field(min_length=1, max_length=32)


class ResultItem(Answer):
    id: str
    score: float
    explanation: dict[str, Any] = Field(description="each signal's contribution, weight and reason")
    summary: str | None = Field(None, description="recommend: the explanation in one sentence")
    duplicates: list[str] | None = Field(None, description="recommend: near-duplicates folded into this result")
    thumbnail_url: str
    url: str


class Results(Answer):
    results: list[ResultItem]


class RecommendPage(Answer):
    results: list[ResultItem]
    profile_id: str = Field(description="the saved profile: send it again to page on, or to vote with feedback")
    offset: int
    limit: int
    next_offset: int | None = Field(description="the offset of the next page; null on the last")
    message: str | None = Field(None, description="why a page is empty, and what would find photos")


class Vote(Body):
    profile_id: str = ProfileId
    image_id: str = Field(min_length=1, max_length=32)
    vote: Literal["like", "dislike"]


class FeedbackCounts(Answer):
    likes: int
    dislikes: int


class Voted(Answer):
    profile_id: str
    image_id: str
    vote: Literal["like", "dislike"]
    feedback: FeedbackCounts


class SavedProfile(Answer):
    id: str
    preferences: dict[str, Any]
    feedback: FeedbackCounts
    created_at: str
    updated_at: str


class SuggestionQuery(Query):
    prefix: str = Field("", max_length=suggestions.MAX_PREFIX, description="names starting with this, any case")
    limit: Limit(suggestions.MAX_LIMIT) = 20


class LabelCount(Answer):
    label: str
    count: int


class Labels(Answer):
    labels: list[LabelCount]


class MakeCount(Answer):
    make: str
    count: int


class Makes(Answer):
    makes: list[MakeCount]


class ColourCount(Answer):
    name: str
    hex: str
    count: int


class ColourNames(Answer):
    colours: list[ColourCount]


class SimilarQuery(Query):
    limit: Limit(MAX_RESULTS) = 20
    blend: bool = Field(True, description="blend in colour and label similarity")


class ColourQuery(Query):
    hex: list[str] = Field(default_factory=list, description="a colour like #1e90ff (repeatable)")
    name: list[str] = Field(default_factory=list, description="a colour name like teal (repeatable)")
    min_share: float = Field(0.05, ge=0, le=1, description="the least share of the palette the colour must have")
    max_delta_e: float = Field(10.0, ge=1, le=50, description="how far (CIEDE2000) a palette colour may be")
    limit: Limit(MAX_RESULTS) = 20


class DuplicatesQuery(Query):
    limit: Limit(MAX_GROUPS_PAGE) = 100
    offset: Offset = 0
    resolved: bool | None = Field(None, description="only resolved (true) or unresolved (false) groups")


class DuplicateGroup(Answer):
    id: str
    best: str
    members: list[str] = Field(description="best first")
    resolved: bool
    resolved_at: str | None
    kept: str | None
    reason: str | None
    details: list[dict[str, Any]]


class DuplicateGroups(Answer):
    groups: list[DuplicateGroup]
    total: int


class GroupOrNone(Answer):
    group: DuplicateGroup | None = Field(description="null when the image has no near-duplicate")


class OneGroup(Answer):
    group: DuplicateGroup


class Resolve(Body):
    keep: str | None = Field(None, min_length=1, max_length=32,
                             description="the member to keep; the group's best member when left out")
