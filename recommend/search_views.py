"""HTTP views of discovery by example: similar images, colour search, duplicate groups."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("search", __name__)
