"""gather: uploads, imports and batches. Stores originals byte-exact and catalog rows (state=stored)."""

from __future__ import annotations

from flask import Flask

from mosaic.backends import Backends
from mosaic.settings import Settings
from mosaic.web import create_service_app

BACKENDS = ("catalog", "objects", "queue")


def create_app(settings: Settings, backends: Backends | None = None) -> Flask:
    from gather.views import blueprint

    app = create_service_app("gather", settings, BACKENDS, backends)
    app.register_blueprint(blueprint)
    return app
