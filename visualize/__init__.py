"""visualize: Plotly figures over catalog aggregates."""

from __future__ import annotations

from flask import Flask

from mosaic.backends import Backends
from mosaic.settings import Settings
from mosaic.web import create_service_app

BACKENDS = ("catalog",)


def create_app(settings: Settings, backends: Backends | None = None) -> Flask:
    # plotly imports pandas on the first figure it serialises; two threads serialising the first figures at
    # once raced that import and one saw a half-made module (500s under load). Import it here, once.
    import pandas  # noqa: F401

    from visualize.views import blueprint

    app = create_service_app("visualize", settings, BACKENDS, backends)
    app.register_blueprint(blueprint)
    return app
