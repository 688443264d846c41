"""What the dashboard endpoints take and answer (their contracts: visualize/views.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mosaic.contract import Answer, Body
from visualize.filters import Filters

MAX_CATEGORIES, MAX_WORD = 100, 64  # dendrogram categories: each is a figure cache key and a tree search
Word = Annotated[str, Field(max_length=MAX_WORD)]


class GraphQuery(Filters):
    format: Literal["json", "html", "png"] | None = Field(
        None, description="json (default), a standalone html page, or png (also chosen by an Accept of image/*)")
    words: str | None = Field(None, alias="list", max_length=MAX_CATEGORIES * (MAX_WORD + 1),
                              description="tags/dendrogram: comma-separated category words")


class Categories(Body):
    """tags/dendrogram: the original platform sent its category words as a GET body."""

    words: Annotated[list[Word], Field(max_length=MAX_CATEGORIES)] | None = Field(None, alias="list")


class ChartLink(Answer):
    name: str
    title: str
    url: str


class Reset(Answer):
    status: str
    message: str
    dropped: int
