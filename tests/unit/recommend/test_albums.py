"""Albums on an embedded (SQLite) catalog: the API, the album filter on browse, `album:` in search, and
recommendations limited to an album."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import update

import recommend
from mosaic.catalog.images import now
from mosaic.catalog.schema import images
from tests.library_rows import add_photo


@pytest.fixture
def library(backends):
    ids = {}
    with backends.catalog.begin() as connection:
        for day, name in enumerate(("beach", "hill", "town"), start=1):
            ids[name] = add_photo(connection, datetime(2024, 6, day), labels=[(name, "scene", 0.5)])
    return backends, recommend.create_app(backends.settings, backends).test_client(), ids


def _call(client, method, path, status=200, **kwargs):
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_an_album_is_made_filled_renamed_emptied_and_deleted(library):
    backends, client, ids = library
    album = _call(client, "post", "/albums", 201, json={"name": "  Summer   trip "})
    assert album["name"] == "Summer trip" and album["count"] == 0 and album["cover_url"] is None
    added = _call(client, "post", f"/albums/{album['id']}/photos", json={"ids": [ids["beach"], ids["hill"],
                                                                                 ids["beach"], "unknown"]})
    assert added["added"] == 2 and added["album"]["count"] == 2
    assert added["album"]["cover_url"].endswith("?size=thumb")
    assert _call(client, "post", f"/albums/{album['id']}/photos", json={"ids": [ids["hill"]]})["added"] == 0
    listed = _call(client, "get", f"/photos?album={album['id']}")["photos"]
    assert [photo["id"] for photo in listed] == [ids["hill"], ids["beach"]]
    assert [photo["id"] for photo in _call(client, "get", "/photos?album=summer trip")["photos"]] == \
        [ids["hill"], ids["beach"]]
    renamed = _call(client, "patch", f"/albums/{album['id']}", json={"name": "Holidays"})
    assert renamed["name"] == "Holidays"
    # Album names are words of their photos, and album: narrows a search.
    found = _call(client, "get", "/search?q=holidays")["results"]
    assert {photo["id"] for photo in found} == {ids["beach"], ids["hill"]}
    assert [p["id"] for p in _call(client, "get", "/search?q=album:holidays beach")["results"]] == [ids["beach"]]
    # The trash is left out of the count.
    with backends.catalog.begin() as connection:
        connection.execute(update(images).where(images.c.id == ids["hill"]).values(deleted_at=now()))
    assert _call(client, "get", f"/albums/{album['id']}")["count"] == 1
    removed = _call(client, "post", f"/albums/{album['id']}/photos/remove", json={"ids": [ids["beach"]]})
    assert removed["removed"] == 1 and removed["album"]["count"] == 0
    assert _call(client, "get", "/albums")["albums"][0]["id"] == album["id"]
    assert _call(client, "delete", f"/albums/{album['id']}") == {"deleted": album["id"]}
    assert _call(client, "get", "/albums")["albums"] == []
    assert len(_call(client, "get", "/photos")["photos"]) == 2  # its photos stay (one is in the trash)


def test_album_mistakes_are_refused(library):
    _, client, ids = library
    _call(client, "post", "/albums", 201, json={"name": "Trip"})
    assert _call(client, "post", "/albums", 409, json={"name": "trip"})["error"] == "album_exists"
    assert "name" in _call(client, "post", "/albums", 400, json={"name": ""})["fields"]
    assert "name" in _call(client, "post", "/albums", 400, json={"name": "x" * 201})["fields"]
    assert _call(client, "post", "/albums", 400, json={"name": "   "})["error"] == "invalid_name"
    assert _call(client, "get", "/albums/nope", 404)["error"] == "not_found"
    assert _call(client, "post", "/albums/nope/photos", 404, json={"ids": [ids["beach"]]})["error"] == "not_found"
    assert "ids" in _call(client, "post", "/albums/nope/photos", 400, json={"ids": []})["fields"]
    assert _call(client, "get", "/search?q=album:nowhere", 404)["error"] == "unknown_album"


def test_changing_albums_needs_the_token(backends):
    settings = backends.settings.model_copy(update={"api_token": SecretStr("secret")})
    client = recommend.create_app(settings, backends).test_client()
    assert client.post("/albums", json={"name": "A"}).status_code == 401
    assert client.get("/albums").status_code == 200
    assert client.post("/albums", json={"name": "A"}, headers={"Authorization": "Bearer secret"}).status_code == 201


def test_recommendations_can_be_limited_to_an_album(library):
    _, client, ids = library
    album = _call(client, "post", "/albums", 201, json={"name": "Hills"})
    _call(client, "post", f"/albums/{album['id']}/photos", json={"ids": [ids["hill"], ids["town"]]})
    everywhere = _call(client, "post", "/recommend", json={"tags": ["hill", "beach"]})["results"]
    assert {result["id"] for result in everywhere} == {ids["hill"], ids["beach"]}
    inside = _call(client, "post", "/recommend", json={"tags": ["hill", "beach"], "album": "hills"})["results"]
    assert [result["id"] for result in inside] == [ids["hill"]]
    assert _call(client, "post", "/recommend", 404, json={"tags": ["hill"], "album": "nope"})["error"] == \
        "unknown_album"
