"""recommend: profile -> ranked images with explanations (similar, colours, duplicates come with #5)."""

from __future__ import annotations

from flask import Flask

from mosaic.backends import Backends
from mosaic.settings import Settings
from mosaic.web import create_service_app

BACKENDS = ("catalog", "vectors")


def create_app(settings: Settings, backends: Backends | None = None) -> Flask:
    from recommend.views import blueprint

    app = create_service_app("recommend", settings, BACKENDS, backends)
    app.register_blueprint(blueprint)
    return app
