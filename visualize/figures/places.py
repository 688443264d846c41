"""Where photos were taken: a world map (`map`), photos per country (`countries`), altitudes (`altitude`)."""

from __future__ import annotations

import math
from collections import Counter

import plotly.graph_objects as go
from sqlalchemy import Connection, Integer, cast, func, select

from mosaic.catalog.schema import exif, images, places
from visualize import outlines
from visualize.figures.common import empty, number
from visualize.filters import Filters

MAP_CELLS = 5000  # the most photographed 0.1° cells
TOP_COUNTRIES = 40
ALTITUDE_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000)


def world_map(connection: Connection, filters: Filters):
    """Photo locations on a world map (scattergeo: no token, no network), counted per 0.1° cell."""
    title = "Where photos were taken"
    lat = cast(places.c.latitude * number(10), Integer)
    lon = cast(places.c.longitude * number(10), Integer)
    rows = connection.execute(
        select(lat, lon, func.count(), func.min(places.c.country))
        .where(filters.restrict(places.c.image_id)).group_by(lat, lon)
        .order_by(func.count().desc()).limit(MAP_CELLS)
    ).all()
    if not rows:
        return empty(title)
    biggest = max(r[2] for r in rows)
    figure = go.Figure(go.Scattergeo(
        lat=[r[0] / 10 for r in rows], lon=[r[1] / 10 for r in rows], mode="markers",
        marker={"size": [5 + 20 * math.sqrt(r[2] / biggest) for r in rows], "opacity": 0.7},
        customdata=[[r[2], r[3] or ""] for r in rows],
        hovertemplate="%{customdata[1]}<br>%{customdata[0]} photos<extra></extra>",
    ))
    # The whole world rather than plotly.js's default zoom onto the points (one photo would fill the frame);
    # scope and resolution name the outline file plotly.js fetches (visualize/outlines.py).
    figure.update_layout(title=title, margin={"l": 0, "r": 0, "t": 40, "b": 0}, geo={
        "scope": outlines.SCOPE, "resolution": outlines.RESOLUTION, "fitbounds": False, "showcountries": True,
        "projection": {"type": "natural earth"}})
    return figure


def countries(connection: Connection, filters: Filters):
    title = "Photos per country"
    rows = connection.execute(
        select(places.c.country, func.count()).where(filters.restrict(places.c.image_id))
        .group_by(places.c.country).order_by(func.count().desc(), places.c.country).limit(TOP_COUNTRIES)
    ).all()
    if not rows:
        return empty(title)
    figure = go.Figure(go.Bar(x=[r[0] or "Unknown" for r in rows], y=[r[1] for r in rows]))
    figure.update_layout(title=title, xaxis_title="Country", yaxis_title="Photos (with a location)")
    return figure


def altitude(connection: Connection, filters: Filters):
    """Altitude (the place's, else EXIF GPS) in ~30 bins of a round number of metres."""
    title = "Altitude of photos"
    joined = images.outerjoin(exif, exif.c.image_id == images.c.id).outerjoin(
        places, places.c.image_id == images.c.id)
    metres = cast(func.coalesce(places.c.altitude, exif.c.gps_altitude), Integer)
    # Photos per whole metre, binned here: one pass over the joined tables, where asking SQL for the range
    # first and then for the bins made two; there are a few thousand distinct metres at most.
    per_metre = dict(connection.execute(
        select(metres, func.count()).select_from(joined).where(metres.is_not(None), filters.restrict(images.c.id))
        .group_by(metres)).all())
    if not per_metre:
        return empty(title)
    low, high = min(per_metre), max(per_metre)
    step = next((s for s in ALTITUDE_STEPS if (high - low) / s <= 30), 10_000)
    start = math.floor(low / step) * step
    counts = Counter()
    for metre, photos in per_metre.items():
        counts[(metre - start) // step] += photos
    bins = range(max(counts) + 1)
    figure = go.Figure(go.Bar(
        x=[start + b * step + step / 2 for b in bins], y=[counts[b] for b in bins], width=step * 0.95,
        customdata=[[start + b * step, start + (b + 1) * step] for b in bins],
        hovertemplate="%{customdata[0]}–%{customdata[1]} m<br>%{y} photos<extra></extra>",
    ))
    figure.update_layout(title=title, xaxis_title=f"Altitude (m, {step} m bins)", yaxis_title="Photos")
    return figure
