"""What every chart shares: the "no data yet" figure, photo dates, and small helpers."""

from __future__ import annotations

import plotly.graph_objects as go
from sqlalchemy import ColumnElement, extract, func, literal_column

from mosaic.catalog.schema import exif, images

NO_DATA = "no data yet"


def empty(title: str, message: str = NO_DATA) -> go.Figure:
    """A figure saying there is nothing to show (an empty catalog, or filters that keep nothing)."""
    figure = go.Figure()
    figure.update_layout(
        title=title,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": message, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                      "showarrow": False, "font": {"size": 20}}],
    )
    return figure


def photo_part(part: str) -> ColumnElement:
    """A part ('year', 'month') of the photo's date: its capture date, else its upload date (portable EXTRACT)."""
    return func.coalesce(extract(part, exif.c.taken_at), extract(part, images.c.created_at))


def number(value: int) -> ColumnElement:
    """An integer written into the SQL (not a bound parameter), so GROUP BY expressions compare equal."""
    return literal_column(str(int(value)))


def rgb_hex(red, green, blue) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(max(0, min(255, round(float(c or 0)))) for c in (red, green, blue)))
