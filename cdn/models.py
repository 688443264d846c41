"""What the CDN's endpoint takes and answers (its contract: cdn/views.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mosaic.contract import Answer, Query


class ShowQuery(Query):
    size: str = Field("original", max_length=32,
                      description="original (default) or a rendition size of MOSAIC_RENDITION_SIZES, e.g. thumb")


class Pending(Answer):
    status: Literal["pending"]
    message: str
