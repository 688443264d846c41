"""What recommend's endpoints take and answer (their contracts: recommend/views.py, recommend/search_views.py).

The recommend request body is `recommend.profile.RecommendRequest` (the profile is domain, not transport)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

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
    trash_others: bool = Field(False, description="move the other members to the trash")


class ResolvedGroup(Answer):
    group: DuplicateGroup
    trashed: list[str] = Field(description="the members moved to the trash (`trash_others`)")


# -- the library: browse, search by words, albums (recommend/library_views.py) ---------------------------------

def _cursor_of(scored: bool):
    def check(value: str | None) -> str | None:
        from recommend.library import decode_cursor

        if value is not None:
            decode_cursor(value, scored=scored)  # ValueError: a 400 naming the cursor
        return value
    return check


def _query_words(value: str) -> str:
    from recommend.text_search import parse

    parse(value)  # ValueError: a 400 naming q, with what is wrong
    return value


Name = Field(min_length=1, max_length=200, description="the album's name (unique, any case)")
LibraryCursor = Annotated[str | None, Field(None, max_length=400, description="next_cursor of the previous page"),
                          AfterValidator(_cursor_of(False))]
SearchCursor = Annotated[str | None, Field(None, max_length=400, description="next_cursor of the previous page"),
                         AfterValidator(_cursor_of(True))]
MAX_IDS = 10_000  # ids per album change: the contract bounds them, so the domain never sees more
ImageIds = Field(min_length=1, max_length=MAX_IDS, description=f"image ids (at most {MAX_IDS:,})")
Text = Field(None, min_length=1, max_length=128)


class LibraryQuery(Query):
    cursor: LibraryCursor = None
    limit: Limit(200) = 60
    from_: date | None = Field(None, alias="from", description="taken on or after this day")
    to: date | None = Field(None, description="taken on or before this day")
    make: str | None = Text
    country: str | None = Field(None, min_length=1, max_length=128, description="a country name or its code")
    town: str | None = Text
    tag: str | None = Text
    colour: str | None = Field(None, min_length=1, max_length=32, description="a colour name in the palette")
    orientation: Literal["landscape", "portrait", "square"] | None = None
    state: Literal["stored", "queued", "harvested", "indexed", "failed"] | None = None
    source: Literal["upload", "url", "unsplash", "folder", "sample"] | None = None
    album: str | None = Field(None, min_length=1, max_length=200, description="an album's id or name")


class Place(Answer):
    country: str | None
    country_code: str | None
    town: str | None


class PhotoItem(Answer):
    id: str
    thumbnail_url: str | None = Field(description="null: no thumbnail yet (not processed) or ever (unreadable)")
    url: str
    width: int | None
    height: int | None
    shot_at: str | None = Field(description="when it was taken (naive, as the camera had it), else uploaded (UTC)")
    taken: bool = Field(description="shot_at is the capture time from EXIF")
    uploaded_at: str
    place: Place | None
    tags: list[str] = Field(description="its top 3 confident labels")
    state: str
    source: str


class PhotoPage(Answer):
    photos: list[PhotoItem]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last")


class MonthCount(Answer):
    month: str = Field(description="YYYY-MM")
    count: int


class Months(Answer):
    months: list[MonthCount]


class WordsQuery(Query):
    q: Annotated[str, Field(min_length=1, max_length=500, description="words and field terms (make:canon year:2019 "
                            "tag:dog album:trip before:2020-01-01 after: model: country: town: colour:)"),
                 AfterValidator(_query_words)]
    limit: Limit(200) = 60
    cursor: SearchCursor = None


class FoundPhoto(PhotoItem):
    score: float
    matched: list[str] = Field(description='how the photo met each term: "dog (object)", "make:canon"')


class SearchTerms(Answer):
    words: list[str]
    fields: dict[str, str]


class FoundPage(Answer):
    results: list[FoundPhoto]
    next_cursor: str | None
    terms: SearchTerms


class Album(Answer):
    id: str
    name: str
    count: int = Field(description="photos in the album, the trash left out")
    cover_url: str | None
    created_at: str
    updated_at: str


class AlbumList(Answer):
    albums: list[Album]


class AlbumName(Body):
    name: str = Name


class AlbumPhotos(Body):
    ids: list[Annotated[str, Field(min_length=1, max_length=32)]] = ImageIds


class AlbumAdded(Answer):
    added: int
    album: Album


class AlbumRemoved(Answer):
    removed: int
    album: Album


class AlbumDeleted(Answer):
    deleted: str
