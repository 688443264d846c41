"""The figures: each a title and a pure function from a catalog connection to a Plotly figure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go
from sqlalchemy import Connection, func, select

from mosaic.catalog.schema import colours, exif, images


@dataclass(frozen=True)
class Figure:
    title: str
    build: Callable[[Connection], go.Figure]


def brand(connection: Connection) -> go.Figure:
    rows = connection.execute(
        select(func.coalesce(exif.c.make, "Unknown"), func.count())
        .select_from(images.outerjoin(exif, exif.c.image_id == images.c.id))
        .group_by(func.coalesce(exif.c.make, "Unknown"))
        .order_by(func.count().desc())
    ).all()
    figure = go.Figure(go.Bar(x=[r[0] for r in rows], y=[r[1] for r in rows]))
    figure.update_layout(title="Photos by camera make", xaxis_title="Make", yaxis_title="Photos")
    return figure


def dominant_color(connection: Connection) -> go.Figure:
    rows = connection.execute(
        select(colours.c.hex, func.count()).where(colours.c.rank == 0).group_by(colours.c.hex)
        .order_by(func.count().desc()).limit(40)
    ).all()
    figure = go.Figure(go.Bar(x=[r[0] for r in rows], y=[r[1] for r in rows], marker_color=[r[0] for r in rows]))
    figure.update_layout(title="Most common dominant colours", xaxis_title="Colour", yaxis_title="Photos")
    return figure


FIGURES = {
    "brand": Figure("Photos by camera make", brand),
    "dominant_color": Figure("Most common dominant colours", dominant_color),
}
