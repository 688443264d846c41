"""GET /visualize/graphs and /visualize/graph/<name>: Plotly figure JSON (or a standalone page)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for

from mosaic.web import ApiError, backends
from visualize.figures import FIGURES

blueprint = Blueprint("visualize", __name__)


@blueprint.get("/graphs")
def graphs():
    return jsonify([
        {"name": name, "title": figure.title, "url": url_for("visualize.graph", name=name)}
        for name, figure in FIGURES.items()
    ])


@blueprint.get("/graph/<path:name>")
def graph(name: str):
    figure = FIGURES.get(name)
    if figure is None:
        raise ApiError(404, "unknown_graph", f"no graph {name!r}; GET /visualize/graphs lists them")
    with backends().catalog.connect() as connection:
        fig = figure.build(connection)
    if request.args.get("format") == "html":
        return Response(fig.to_html(include_plotlyjs=True, full_html=True), mimetype="text/html")
    return Response(fig.to_json(), mimetype="application/json")
