"""Camera brands (`brand`): photos per normalised EXIF make."""

from __future__ import annotations

import plotly.graph_objects as go
from sqlalchemy import Connection, func, select

from mosaic.catalog.schema import exif, images
from visualize.figures.common import empty
from visualize.filters import Filters

TOP = 30


def brand(connection: Connection, filters: Filters):
    title = "Photos by camera make"
    rows = connection.execute(
        select(exif.c.make, func.count())
        .select_from(images.outerjoin(exif, exif.c.image_id == images.c.id))
        .where(filters.restrict(images.c.id))
        .group_by(exif.c.make).order_by(func.count().desc(), exif.c.make).limit(TOP)
    ).all()
    if not rows:
        return empty(title)
    figure = go.Figure(go.Bar(x=[r[0] or "Unknown" for r in rows], y=[r[1] for r in rows]))
    figure.update_layout(title=title, xaxis_title="Make", yaxis_title="Photos")
    return figure
