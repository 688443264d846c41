"""Photos per year (`year`): the capture year, else the upload year."""

from __future__ import annotations

import plotly.graph_objects as go
from sqlalchemy import Connection, func, select

from mosaic.catalog.schema import exif, images
from visualize.figures.common import empty, photo_part
from visualize.filters import Filters


def year(connection: Connection, filters: Filters):
    title = "Photos per year"
    part = photo_part("year")
    rows = connection.execute(
        select(part, func.count())
        .select_from(images.outerjoin(exif, exif.c.image_id == images.c.id))
        .where(filters.restrict(images.c.id)).group_by(part).order_by(part)
    ).all()
    rows = [(int(y), n) for y, n in rows if y is not None]
    if not rows:
        return empty(title)
    figure = go.Figure(go.Bar(x=[r[0] for r in rows], y=[r[1] for r in rows]))
    figure.update_layout(title=title, xaxis_title="Year (capture, else upload)", yaxis_title="Photos",
                         xaxis={"type": "category"})
    return figure
