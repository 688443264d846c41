"""A user's preference profile, from the native request shape or the original platform's."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: Profile
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    profile_id: str | None = Field(None, max_length=32)


class ProfileError(ValueError):
    """The request's profile is malformed; the message says which field and why."""


def parse_request(payload: object) -> RecommendRequest:
    if not isinstance(payload, dict):
        raise ProfileError("the body must be a JSON object")
    payload = dict(payload)
    limit = payload.pop("limit", 20)
    offset = payload.pop("offset", 0)
    profile_id = payload.pop("profile_id", None)
    if "preferences" in payload:
        payload = _from_original_shape(payload.pop("preferences"), payload)
    try:
        profile = Profile(**payload)
    except ValidationError as exc:
        raise ProfileError("; ".join(_describe(error) for error in exc.errors())) from None
    except TypeError as exc:
        raise ProfileError(str(exc)) from None
    try:
        return RecommendRequest(profile=profile, limit=limit, offset=offset, profile_id=profile_id)
    except ValidationError as exc:
        raise ProfileError("; ".join(_describe(error) for error in exc.errors())) from None
    except TypeError as exc:
        raise ProfileError(str(exc)) from None


def _from_original_shape(preferences: object, rest: dict) -> dict:
    """{"preferences": {"dominant_color", "imagewidth", "imageheight", "orientation": 1|0|word, ...}}"""
    if not isinstance(preferences, dict) or rest:
        raise ProfileError("`preferences` must be an object and the only other fields limit/offset/profile_id")
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


def _describe(error: dict) -> str:
    field = ".".join(str(part) for part in error["loc"] if part != "profile") or "body"
    message = error["msg"].removeprefix("Value error, ")
    return f"{field}: {message}"
