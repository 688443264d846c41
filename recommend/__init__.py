"""recommend: profile recommendations with explanations and feedback, similar images, colour search, duplicates."""

from __future__ import annotations

from flask import Flask

from mosaic.backends import Backends
from mosaic.settings import Settings
from mosaic.web import create_service_app

BACKENDS = ("catalog", "vectors")


def create_app(settings: Settings, backends: Backends | None = None) -> Flask:
    from recommend.library_views import blueprint as library_blueprint
    from recommend.search_views import blueprint as search_blueprint
    from recommend.views import blueprint

    app = create_service_app("recommend", settings, BACKENDS, backends)
    app.register_blueprint(blueprint)
    app.register_blueprint(search_blueprint)
    app.register_blueprint(library_blueprint)
    return app
