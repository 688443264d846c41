"""The recommend app's caches, kept in its `app.extensions` (as visualize keeps its figures): one of each per app,
made on first use, gone with the app. The views fetch them here and pass them to the domain functions, which
make a fresh one per call when given none (CLI, notebooks, tests).

- word vectors: the spaCy model (loads in about 4 s) and the phrase vectors computed so far;
- known labels: the catalog's distinct labels, re-read every LABEL_CACHE_SECONDS;
- duplicate listing: the near-duplicate pairs found so far, so that listing every group searches only new images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app

from recommend.candidates import KnownLabels
from recommend.duplicates import Listing
from recommend.words import WordVectors

T = TypeVar("T")


def word_vectors(app: Flask | None = None) -> WordVectors:
    return _kept(app, "recommend.words", WordVectors)


def known_labels(app: Flask | None = None) -> KnownLabels:
    return _kept(app, "recommend.labels", KnownLabels)


def duplicate_listing(app: Flask | None = None) -> Listing:
    return _kept(app, "recommend.duplicates", Listing)


def _kept(app: Flask | None, key: str, make: Callable[[], T]) -> T:
    """The app's (the current one's by default) object under `key`, made on first use."""
    extensions = (app or current_app).extensions
    if key not in extensions:
        extensions.setdefault(key, make())  # two first requests at once: both get the one stored
    return extensions[key]
