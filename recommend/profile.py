"""A user's preference profile, from the native request shape or the original platform's."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mosaic.imaging.exif import normalise_make
from mosaic.imaging.lab import hex_to_rgb

Orientation = Literal["landscape", "portrait", "square", "any"]
MAX_TAGS = 5
MAX_LIMIT = 100  # results per page
MAX_OFFSET = 1000  # how deep paging may go: the re-ranked pool is bounded


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    colour: str | None = None
    width: int | None = Field(None, gt=0, le=200_000)
    height: int | None = Field(None, gt=0, le=200_000)
    orientation: Orientation = "any"
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    make: str | None = None

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        r, g, b = hex_to_rgb(value)
        return f"#{r:02x}{g:02x}{b:02x}"

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        cleaned = []
        for tag in value:
            word = " ".join(tag.lower().split())
            if word and word not in cleaned:
                cleaned.append(word[:64])
        return cleaned

    @field_validator("make")
    @classmethod
    def _make(cls, value: str | None) -> str | None:
        return normalise_make(value) if value else None


PROFILE_FIELDS = frozenset(Profile.model_fields)


class RecommendRequest(Profile):
    """The body of POST /recommend/recommend: the native profile's fields, or the original platform's
    {"preferences": {"dominant_color", "imagewidth", "imageheight", "orientation": 1|0|word, "tags", "make"}};
    either with "limit", "offset" and "profile_id" (a saved profile, updated with the fields given)."""

    limit: int = Field(20, ge=1, le=MAX_LIMIT, description=f"results per page, at most {MAX_LIMIT}")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description=f"how many to skip, at most {MAX_OFFSET}")
    profile_id: str | None = Field(None, min_length=1, max_length=32,
                                   description="a profile saved by an earlier request: its fields fill the gaps")
    album: str | None = Field(None, min_length=1, max_length=200,
                              description="only photos of this album (its id or name)")

    @model_validator(mode="before")
    @classmethod
    def _original_shape(cls, data):
        if isinstance(data, dict) and "preferences" in data:
            rest = {key: value for key, value in data.items() if key != "preferences"}
            return {**rest, **_from_original_shape(data["preferences"])}
        return data

    @property
    def profile(self) -> Profile:
        """The profile fields the request gave (a saved profile keeps the others)."""
        return Profile(**self.model_dump(include=PROFILE_FIELDS & self.model_fields_set))


def _from_original_shape(preferences: object) -> dict:
    if not isinstance(preferences, dict):
        raise ValueError("`preferences` must be an object")
    orientation = preferences.get("orientation", "any")
    if isinstance(orientation, bool) or orientation in (0, 1, "0", "1"):
        # The original platform sent 1 for landscape and 0 for anything else.
        orientation = "landscape" if str(int(orientation)) == "1" else "any"
    mapped = {
        "colour": preferences.get("dominant_color"),
        "width": preferences.get("imagewidth"),
        "height": preferences.get("imageheight"),
        "orientation": orientation,
        "tags": preferences.get("tags") or [],
        "make": preferences.get("make"),
    }
    return {key: value for key, value in mapped.items() if value is not None}
