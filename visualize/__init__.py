"""visualize: Plotly figures over catalog aggregates."""

from __future__ import annotations

from flask import Flask

from mosaic.backends import Backends
from mosaic.settings import Settings
from mosaic.web import create_service_app

BACKENDS = ("catalog",)


def create_app(settings: Settings, backends: Backends | None = None) -> Flask:
    from visualize.views import blueprint

    app = create_service_app("visualize", settings, BACKENDS, backends)
    app.register_blueprint(blueprint)
    return app
