"""Photos taken through the real pipeline (store, harvest, index) on embedded backends, for tests
that need an enriched catalog without running the whole platform."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from gather.storing import store_file
from harvest_worker.pipeline import Pipeline
from mosaic.backends import Backends
from mosaic.catalog import upgrade
from mosaic.settings import load_settings
from processor.indexing import Indexer
from tests.isolation import drop_outside_settings


def enriched_backends(data_dir, **settings) -> Backends:
    """Embedded backends in `data_dir` (or the servers named in `settings`) with the catalog migrated."""
    defaults = {"max_upload_bytes": 2_000_000, "max_pixels": 10_000_000, "ingest_samples": False}
    opened = Backends(load_settings(data_dir=data_dir, **{**defaults, **settings}))
    upgrade(opened.catalog)
    return opened


@contextmanager
def module_backends(data_dir, **settings) -> Iterator[Backends]:
    """enriched_backends for a module-scoped fixture, closed after it: a developer's MOSAIC_* variables dropped
    while they are built (conftest's autouse fixture does that per test, too late for a module's fixtures)."""
    with pytest.MonkeyPatch.context() as patch:
        drop_outside_settings(patch)
        opened = enriched_backends(data_dir, **settings)
        try:
            yield opened
        finally:
            opened.close()


def enrich(backends: Backends, files: dict[str, bytes]) -> dict[str, str]:
    """Store, harvest and index each file; {name: image id}."""
    pipeline, indexer = Pipeline(backends.settings), Indexer(backends.settings)
    pipeline.register(backends)
    indexer.register(backends)
    ids = {}
    for name, data in files.items():
        stored = store_file(backends, io.BytesIO(data), name, "upload")
        assert stored.status == "stored", stored
        ids[name] = stored.id
    for image_id in ids.values():
        pipeline.harvest(backends, {"image_id": image_id})
        indexer.index(backends, {"image_id": image_id})
    return ids
