"""harvest: decides what needs (re)processing, dispatches it to the `harvest` queue, reports status."""

from __future__ import annotations

from flask import Flask

from mosaic.backends import Backends
from mosaic.settings import Settings
from mosaic.web import create_service_app

BACKENDS = ("catalog", "queue")


def create_app(settings: Settings, backends: Backends | None = None) -> Flask:
    from harvest.views import blueprint

    app = create_service_app("harvest", settings, BACKENDS, backends)
    app.register_blueprint(blueprint)
    return app
