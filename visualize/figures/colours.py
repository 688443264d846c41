"""Colours: the dominant colours (`dominant_color`) and colour by place and time (`colours/country`, `colours/month`).

A photo's dominant colour is its palette's rank 0; it is named by the nearest of the sixteen named colours
(`colours.name`). Bars are drawn in the colours they count.
"""

from __future__ import annotations

import calendar

import plotly.graph_objects as go
from sqlalchemy import Connection, func, select

from mosaic.catalog.schema import colours, exif, images, places
from mosaic.imaging.named_colours import NAMED_COLOURS
from visualize.figures.common import empty, photo_part, rgb_hex
from visualize.filters import Filters

TOP_COLOURS = 40
TOP_COUNTRIES = 15


def dominant_color(connection: Connection, filters: Filters):
    """Photos per dominant colour name, each bar in the mean colour of its photos (hex when unnamed)."""
    title = "Dominant colours"
    group = func.coalesce(colours.c.name, colours.c.hex)
    rows = connection.execute(
        select(group, func.count(), func.avg(colours.c.red), func.avg(colours.c.green), func.avg(colours.c.blue))
        .where(colours.c.rank == 0, filters.restrict(colours.c.image_id))
        .group_by(group).order_by(func.count().desc(), group).limit(TOP_COLOURS)
    ).all()
    if not rows:
        return empty(title)
    shades = [rgb_hex(*r[2:]) for r in rows]
    figure = go.Figure(go.Bar(
        x=[r[0] for r in rows], y=[r[1] for r in rows], customdata=shades,
        marker={"color": shades, "line": {"color": "#444", "width": 1}},
        hovertemplate="%{x} (mean %{customdata})<br>%{y} photos<extra></extra>",
    ))
    figure.update_layout(title=title, xaxis_title="Dominant colour", yaxis_title="Photos")
    return figure


def _stacked(title: str, groups: list, labels: dict, counts: dict, axis_title: str) -> go.Figure:
    """100 % stacked bars: per group, the share of each colour name, drawn in that colour."""
    names = sorted({name for (_, name) in counts}, key=lambda n: list(NAMED_COLOURS).index(n)
                   if n in NAMED_COLOURS else len(NAMED_COLOURS))
    figure = go.Figure([
        go.Bar(name=name, x=[labels[g] for g in groups], y=[counts.get((g, name), 0) for g in groups],
               marker={"color": NAMED_COLOURS.get(name, "#999999"), "line": {"color": "#444", "width": 0.5}},
               hovertemplate=f"{name}: %{{y:.1f}} %<extra></extra>")
        for name in names
    ])
    figure.update_layout(title=title, barmode="stack", barnorm="percent", xaxis_title=axis_title,
                         yaxis_title="Share of photos (%)", legend_title="Dominant colour")
    return figure


def colours_by_country(connection: Connection, filters: Filters):
    """Which dominant colours photos from each country (the 15 with most photos) have."""
    title = "Dominant colours by country"
    rows = connection.execute(
        select(places.c.country, colours.c.name, func.count())
        .select_from(colours.join(places, places.c.image_id == colours.c.image_id))
        .where(colours.c.rank == 0, colours.c.name.is_not(None), places.c.country.is_not(None),
               filters.restrict(colours.c.image_id))
        .group_by(places.c.country, colours.c.name)
    ).all()
    if not rows:
        return empty(title)
    totals: dict[str, int] = {}
    for country, _, count in rows:
        totals[country] = totals.get(country, 0) + count
    groups = sorted(totals, key=lambda c: (-totals[c], c))[:TOP_COUNTRIES]
    counts = {(country, name): count for country, name, count in rows if country in groups}
    return _stacked(title, groups, {g: g for g in groups}, counts, "Country")


def colours_by_month(connection: Connection, filters: Filters):
    """Which dominant colours photos taken in each month of the year (capture, else upload date) have."""
    title = "Dominant colours by month"
    month = photo_part("month")
    rows = connection.execute(
        select(month, colours.c.name, func.count())
        .select_from(colours.join(images, images.c.id == colours.c.image_id)
                     .outerjoin(exif, exif.c.image_id == images.c.id))
        .where(colours.c.rank == 0, colours.c.name.is_not(None), filters.restrict(colours.c.image_id))
        .group_by(month, colours.c.name)
    ).all()
    rows = [(int(m), name, count) for m, name, count in rows if m is not None]
    if not rows:
        return empty(title)
    groups = sorted({m for m, _, _ in rows})
    counts = {(m, name): count for m, name, count in rows}
    return _stacked(title, groups, {m: calendar.month_abbr[m] for m in groups}, counts, "Month")
