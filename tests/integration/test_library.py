"""Browse, search by words and albums on PostgreSQL and SQLite: the same rows give the same answers on both.

The catalog: generated rows (tests/library_rows.py), written identically into each engine; each request's
answer is compared across the two, ids mapped by photo name.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime

import pytest

import recommend
from tests.enriched import module_backends
from tests.library_rows import add_photo

pytestmark = pytest.mark.servers

PHOTOS = {
    "dog": dict(shot_at=datetime(2024, 6, 3, 10), make="Canon", model="EOS 5D", country="Japan", code="JP",
                town="Tokyo", colour="red", labels=[("dog", "detector", 0.9), ("seashore", "scene", 0.6)]),
    "weak_dog": dict(shot_at=datetime(2024, 6, 5), make="Nikon", labels=[("dog", "scene", 0.05)]),
    "cat": dict(shot_at=datetime(2019, 3, 1), make="Canon", name="IMG_0042.JPG", labels=[("cat", "detector", 0.8)],
                width=300, height=500),
    "car": dict(shot_at=datetime(2019, 3, 2), make="Canon", name="Zürich car.jpg",
                labels=[("car", "detector", 0.8), ("hot dog", "detector", 0.6)]),
    "trashed": dict(shot_at=datetime(2024, 6, 4), deleted=True, labels=[("dog", "detector", 0.9)]),
    **{f"may{day}": dict(shot_at=datetime(2024, 5, day), labels=[("beach", "scene", 0.4)]) for day in range(1, 6)},
}

REQUESTS = [
    "/photos?limit=4", "/photos?make=canon", "/photos?country=jp", "/photos?tag=dog", "/photos?orientation=portrait",
    "/photos?from=2019-01-01&to=2019-12-31", "/photos/months", "/photos/months?make=canon",
    "/search?q=dog", "/search?q=puppy", "/search?q=tokyo canon", "/search?q=zurich", "/search?q=%22hot dog%22",
    "/search?q=make:canon year:2019", "/search?q=beach&limit=2", "/search?q=colour:red",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory, postgres_server):
    """{"sqlite": (client, {name: id}), "postgresql": (...)}"""
    from tests.servers.postgres import create_database

    found = {}
    with ExitStack() as stack:
        for kind in ("sqlite", "postgresql"):
            settings = {"catalog_url": create_database(postgres_server)} if kind == "postgresql" else {}
            backends = stack.enter_context(module_backends(tmp_path_factory.mktemp(kind) / "var", **settings))
            with backends.catalog.begin() as connection:
                ids = {name: add_photo(connection, **values) for name, values in PHOTOS.items()}
            found[kind] = (recommend.create_app(backends.settings, backends).test_client(), ids)
        yield found


def _named(answer, names: dict[str, str]):
    """The answer with ids replaced by photo names and cursors dropped (ids differ between the catalogs)."""
    if isinstance(answer, dict):
        return {key: _named(value, names) for key, value in answer.items()
                if key not in ("next_cursor", "uploaded_at", "thumbnail_url", "url")}
    if isinstance(answer, list):
        return [_named(value, names) for value in answer]
    return names.get(answer, answer)


@pytest.mark.parametrize("path", REQUESTS)
def test_both_catalogs_answer_the_same(engines, path):
    answers = {}
    for kind, (client, ids) in engines.items():
        response = client.get(path)
        assert response.status_code == 200, (kind, response.get_json())
        answers[kind] = _named(response.get_json(), {v: k for k, v in ids.items()})
    assert answers["postgresql"] == answers["sqlite"]
    assert "trashed" not in str(answers["postgresql"])


def test_postgresql_pages_and_finds(engines):
    client, ids = engines["postgresql"]
    seen, cursor = [], None
    while True:
        body = client.get("/photos?limit=3" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [photo["id"] for photo in body["photos"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(PHOTOS) - 1 and seen[0] == ids["weak_dog"]
    body = client.get("/search?q=puppy").get_json()
    assert body["results"][0]["id"] == ids["dog"] and body["results"][0]["matched"] == ["dog (object)"]
    assert client.get("/search?q=lens:50").status_code == 400
    assert client.get("/photos?cursor=abc").status_code == 400


def test_postgresql_albums(engines):
    client, ids = engines["postgresql"]
    album = client.post("/albums", json={"name": "Zorblat"}).get_json()
    assert client.post(f"/albums/{album['id']}/photos", json={"ids": [ids["dog"], ids["cat"]]}).get_json()["added"] == 2
    assert {p["id"] for p in client.get("/search?q=zorblat").get_json()["results"]} == {ids["dog"], ids["cat"]}
    assert [p["id"] for p in client.get("/photos?album=zorblat").get_json()["photos"]] == [ids["dog"], ids["cat"]]
    assert client.get("/albums").get_json()["albums"][0]["count"] == 2
    assert client.delete(f"/albums/{album['id']}").get_json() == {"deleted": album["id"]}
    assert client.get("/search?q=zorblat").get_json()["results"] == []


def test_postgresql_search_tier_by_tier_equals_scoring_every_match(postgres_database, monkeypatch):
    from mosaic.catalog import open_catalog, upgrade
    from tests.search_check import add_documents, assert_tiers_match_scoring

    engine = open_catalog(postgres_database)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            add_documents(connection, 400)
        with engine.connect() as connection:
            assert_tiers_match_scoring(connection, monkeypatch)
    finally:
        engine.dispose()
