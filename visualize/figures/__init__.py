"""The charts: each a title and a pure function (connection, filters, **options) -> plotly Figure.

Every chart is computed by SQL aggregates (GROUP BY / COUNT in the catalog; the size scatter and the map
keep their most common points with LIMIT), portable between SQLite and PostgreSQL, and says "no data yet"
(a layout annotation) when nothing matches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go

from visualize.figures import cameras, colours, places, sizes, tags, timeline
from visualize.figures.common import NO_DATA, empty

__all__ = ["CHARTS", "NO_DATA", "Chart", "empty"]


@dataclass(frozen=True)
class Chart:
    title: str
    build: Callable[..., go.Figure]
    path: str  # the URL path under /graph/ (with the default options)


CHARTS: dict[str, Chart] = {
    "size/static": Chart("Image sizes in bins", sizes.size_static, "size/static/500/12"),
    "size/dynamic": Chart("Image sizes (width × height)", sizes.size_dynamic, "size/dynamic"),
    "year": Chart("Photos per year", timeline.year, "year"),
    "brand": Chart("Photos by camera make", cameras.brand, "brand"),
    "map": Chart("Where photos were taken", places.world_map, "map"),
    "countries": Chart("Photos per country", places.countries, "countries"),
    "altitude": Chart("Altitude of photos", places.altitude, "altitude"),
    "dominant_color": Chart("Dominant colours", colours.dominant_color, "dominant_color"),
    "tags/top": Chart("Most common tags", tags.top_tags, "tags/top"),
    "tags/dendrogram": Chart("Tags that occur together", tags.dendrogram, "tags/dendrogram"),
    "colours/country": Chart("Dominant colours by country", colours.colours_by_country, "colours/country"),
    "colours/month": Chart("Dominant colours by month", colours.colours_by_month, "colours/month"),
}
