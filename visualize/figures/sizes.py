"""Image sizes: static bins (`size/static/<interval_size>/<nb_intervals>`) and a dynamic scatter (`size/dynamic`)."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from sqlalchemy import Connection, func, select

from mosaic.catalog.schema import images
from visualize.figures.common import empty, number
from visualize.filters import Filters

DYNAMIC_POINTS = 5000


def size_static(connection: Connection, filters: Filters, interval_size: int = 500, nb_intervals: int = 12):
    """Widths and heights counted in `nb_intervals` bins of `interval_size` px; the last bin is open-ended."""
    title = f"Image sizes in {interval_size} px bins"
    counts = {}
    for axis, column in (("width", images.c.width), ("height", images.c.height)):
        bin_ = column // number(interval_size)
        rows = connection.execute(
            select(bin_, func.count()).where(column.is_not(None), filters.restrict(images.c.id)).group_by(bin_)
        ).all()
        per_bin = [0] * nb_intervals
        for index, count in rows:
            per_bin[min(int(index), nb_intervals - 1)] += count
        counts[axis] = per_bin
    if not any(counts["width"]) and not any(counts["height"]):
        return empty(title)
    labels = [f"{i * interval_size}–{(i + 1) * interval_size}" for i in range(nb_intervals - 1)]
    labels.append(f"≥ {(nb_intervals - 1) * interval_size}")
    figure = go.Figure([go.Bar(name=axis.title(), x=labels, y=counts[axis]) for axis in ("width", "height")])
    figure.update_layout(title=title, barmode="group", xaxis_title="Pixels", yaxis_title="Photos")
    return figure


def size_dynamic(connection: Connection, filters: Filters):
    """Width against height, one point per distinct size (the most common DYNAMIC_POINTS), sized by count."""
    title = "Image sizes (width × height)"
    rows = connection.execute(
        select(images.c.width, images.c.height, func.count())
        .where(images.c.width.is_not(None), images.c.height.is_not(None), filters.restrict(images.c.id))
        .group_by(images.c.width, images.c.height).order_by(func.count().desc()).limit(DYNAMIC_POINTS)
    ).all()
    if not rows:
        return empty(title)
    biggest = max(r[2] for r in rows)
    figure = go.Figure(go.Scattergl(
        x=[r[0] for r in rows], y=[r[1] for r in rows], mode="markers",
        marker={"size": [6 + 24 * math.sqrt(r[2] / biggest) for r in rows], "opacity": 0.6},
        customdata=[r[2] for r in rows],
        hovertemplate="%{x} × %{y} px<br>%{customdata} photos<extra></extra>",
    ))
    figure.update_layout(title=title, xaxis_title="Width (px)", yaxis_title="Height (px)")
    return figure
