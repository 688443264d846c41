"""The dashboard routes.

GET /graphs                      every chart: [{"name", "title", "url"}]
GET /graph/<name>                a chart as Plotly JSON {"data", "layout", "config"}: Plotly.newPlot(div, figure)
                                 draws it as is, config.topojsonURL pointing plotly.js at /topojson/ below;
                                 `?format=html` a standalone page (plotly.js inline, no CDN); a PNG for
                                 `?format=png` or when the Accept header prefers image/* over JSON (the original
                                 platform's <img> clients), drawn by kaleido in Debian's chromium (visualize/png.py)
GET /topojson/<file>             the world outlines the map (scattergeo) draws, served here so pages need no
                                 network (plotly.js fetches them from cdn.plot.ly by default): visualize/topojson/
GET /api/v1/reset                drops the cached figures (mutating: needs the bearer token when one is set)

Every chart takes the filters `from`, `to` (dates), `country`, `make`, `tag`. The original platform's names
keep working: `size/static/<interval_size>/<nb_intervals>`, `size/dynamic`, `year`, `brand`, `map`,
`countries`, `altitude`, `dominant_color`, `tags/top`, `tags/dendrogram` (a GET whose optional JSON body
{"list": [category words]} restricts the tree to tags under those words; `?list=a,b` does the same).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from threading import Lock
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory, url_for
from plotly.io.json import to_json_plotly

from mosaic.contract import Reply, endpoint
from mosaic.errors import ApiError
from mosaic.web import backends
from visualize.figures import CHARTS
from visualize.filters import Filters
from visualize.models import MAX_CATEGORIES, Categories, ChartLink, GraphQuery, Reset
from visualize.outlines import SERVED, TOPOJSON_DIR
from visualize.png import PngUnavailable, png

blueprint = Blueprint("visualize", __name__)

CACHE_SECONDS = 60.0  # a figure is recomputed at most this often; GET /api/v1/reset drops them all
CACHE_ENTRIES = 256
MAX_INTERVALS = 1000
MAX_INTERVAL_SIZE = 1_000_000  # pixels: wider than any picture, and it is written into the SQL as a literal
PNG_SIZE = (1000, 600)


class FigureCache:
    """A small per-app cache of figures keyed by chart, options and filters."""

    def __init__(self, seconds: float = CACHE_SECONDS, entries: int = CACHE_ENTRIES):
        self.seconds, self.entries = seconds, entries
        self._figures: OrderedDict = OrderedDict()
        self._lock = Lock()

    def get(self, key, build):
        now = time.monotonic()
        with self._lock:
            hit = self._figures.get(key)
            if hit and now - hit[0] < self.seconds:
                return hit[1]
        figure = build()
        with self._lock:
            self._figures[key] = (now, figure)
            self._figures.move_to_end(key)
            while len(self._figures) > self.entries:
                self._figures.popitem(last=False)
        return figure

    def clear(self) -> int:
        with self._lock:
            dropped = len(self._figures)
            self._figures.clear()
        return dropped


def _cache() -> FigureCache:
    return current_app.extensions.setdefault("visualize.figures", FigureCache())


@blueprint.get("/graphs")
@endpoint("Every chart, with the URL of its figure.", query=Filters, answers={200: list[ChartLink]})
def graphs(query: Filters):
    params = query.as_params()
    return jsonify([
        {"name": name, "title": chart.title, "url": url_for("visualize.graph", name=chart.path, **params)}
        for name, chart in CHARTS.items()
    ])


@blueprint.get("/graph/<path:name>")
@endpoint("One chart as Plotly JSON, a standalone HTML page (?format=html) or PNG (?format=png).", query=GraphQuery,
          body=Categories, answers={200: Reply(dict[str, Any], "the figure: Plotly.newPlot(div, figure) draws it",
                                               also={"text/html": {"type": "string"},
                                                     "image/png": {"type": "string", "format": "binary"}})})
def graph(name: str, query: GraphQuery, body: Categories):
    key, options = _resolve(name, query, body)
    filters = Filters.model_validate(query.model_dump(include=set(Filters.model_fields)))
    chart = CHARTS[key]

    def build():
        with backends().catalog.connect() as connection:
            return chart.build(connection, filters, **options)

    figure_key = (key, tuple(sorted(options.items())), filters.key())
    figure = _cache().get(figure_key, build)
    wanted = query.format or ""
    config = {"topojsonURL": url_for("visualize.topojson", filename="")}
    if wanted == "html":
        return Response(figure.to_html(include_plotlyjs=True, full_html=True, config=config), mimetype="text/html")
    if wanted == "png" or (not wanted and _prefers_image()):
        try:
            return Response(png(figure, *PNG_SIZE), mimetype="image/png")
        except PngUnavailable as exc:
            raise ApiError(406, "png_unavailable", f"{exc}; ask for JSON or ?format=html") from None
    # The JSON is cached beside its figure: serialising a figure costs more than building it from the cache.
    text = _cache().get((figure_key, "json"), lambda: to_json_plotly({**figure.to_dict(), "config": config}))
    return Response(text, mimetype="application/json")


@blueprint.get("/topojson/<path:filename>")
@endpoint("A world outline file the map chart draws.", answers={200: dict[str, Any]})
def topojson(filename: str):
    # Looked up in the list of shipped files, never on disk: no path, however long or odd, reaches the file system.
    if filename not in SERVED:
        raise ApiError(404, "no_topojson", f"no map outline {filename[:64]!r}; there are {', '.join(sorted(SERVED))}")
    return send_from_directory(TOPOJSON_DIR, filename, mimetype="application/json", max_age=86400)


@blueprint.get("/api/v1/reset")
@endpoint("Drop the cached figures.", mutates=True, answers={200: Reset})
def reset():
    return jsonify(status="success", message="cached figures dropped", dropped=_cache().clear())


def _resolve(name: str, query: GraphQuery, body: Categories) -> tuple[str, dict]:
    """A graph name (with its path options) -> the chart's key and its options; 404 for no such chart."""
    name = name.strip("/")
    if name == "size/static" or name.startswith("size/static/"):
        parts = name.split("/")[2:]
        if len(parts) not in (0, 2):
            raise ApiError(404, "unknown_graph", "use size/static/<interval_size>/<nb_intervals>")
        if not parts:
            return "size/static", {}
        try:
            interval_size, nb_intervals = int(parts[0]), int(parts[1])
        except ValueError:
            raise ApiError(400, "bad_option", "interval_size and nb_intervals must be whole numbers") from None
        if not 1 <= interval_size <= MAX_INTERVAL_SIZE or not 1 <= nb_intervals <= MAX_INTERVALS:
            raise ApiError(400, "bad_option", f"interval_size must be 1..{MAX_INTERVAL_SIZE:,} and nb_intervals "
                                              f"1..{MAX_INTERVALS}")
        return "size/static", {"interval_size": interval_size, "nb_intervals": nb_intervals}
    if name not in CHARTS:
        raise ApiError(404, "unknown_graph", f"no graph {name[:64]!r}; GET /visualize/graphs lists them")
    if name == "tags/dendrogram":
        return name, {"categories": _categories(query, body)}
    return name, {}


def _categories(query: GraphQuery, body: Categories) -> tuple[str, ...]:
    """Category words from the original's GET body {"list": [...]}, or `?list=a,b`."""
    words = body.words if body.words is not None else (query.words.split(",") if query.words else [])
    if len(words) > MAX_CATEGORIES:
        raise ApiError(400, "invalid_request", f"list takes at most {MAX_CATEGORIES} words",
                       fields={"list": f"at most {MAX_CATEGORIES} words"})
    return tuple(dict.fromkeys(w.strip() for w in words if w.strip()))


def _prefers_image() -> bool:
    accept = request.accept_mimetypes
    return accept.quality("image/png") > accept.quality("application/json")

