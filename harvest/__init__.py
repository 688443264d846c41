"""harvest: decides what needs (re)processing, dispatches it to the `harvest` queue, reports status."""

from __future__ import annotations

from flask import Flask

from mosaic.backends import Backends
from mosaic.settings import Settings
from mosaic.web import create_service_app

BACKENDS = ("catalog", "queue")


def create_app(settings: Settings, backends: Backends | None = None) -> Flask:
    from harvest.views import blueprint

    app = create_service_app("harvest", settings, BACKENDS, backends, extra_health=_degraded_features)
    app.register_blueprint(blueprint)
    return app


def _degraded_features(backends: Backends) -> dict:
    """Features the workers registered as unable to make (a model that did not load): the service stays up."""
    from mosaic.catalog.features import degraded_features

    with backends.catalog.connect() as connection:
        return {"degraded": degraded_features(connection)}
