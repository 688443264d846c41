"""GET /recommend/photos and /photos/months on an embedded (SQLite) catalog: keyset pages, filters, items.

(The test client talks to the recommend app itself, so its paths lack the gateway's /recommend prefix.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import recommend
from recommend.library import decode_cursor, encode_cursor
from tests.library_rows import add_photo


@pytest.fixture
def library(backends):
    """(client, {name: id}): a small library, one photo in the trash."""
    ids = {}
    with backends.catalog.begin() as connection:
        ids["dog"] = add_photo(connection, datetime(2024, 6, 3, 10, 0), make="Canon", model="EOS 5D",
                               country="Japan", code="JP", town="Tokyo", colour="red",
                               labels=[("dog", "detector", 0.9), ("seashore", "scene", 0.65), ("sand", "scene", 0.05),
                                       ("person", "detector", 0.7), ("frisbee", "detector", 0.6)])
        ids["cat"] = add_photo(connection, datetime(2024, 6, 1, 9, 0), make="Nikon", width=400, height=600,
                               labels=[("cat", "detector", 0.8)])
        ids["old"] = add_photo(connection, datetime(2019, 2, 1), taken=False, source="url", state="stored")
        ids["gone"] = add_photo(connection, datetime(2024, 7, 1), deleted=True, labels=[("dog", "detector", 0.9)])
        for day in range(1, 8):
            ids[f"may{day}"] = add_photo(connection, datetime(2024, 5, day), labels=[("car", "detector", 0.7)])
    return recommend.create_app(backends.settings, backends).test_client(), ids


def _get(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_pages_walk_the_library_newest_first_without_the_trash(library):
    client, ids = library
    seen, cursor = [], None
    while True:
        body = _get(client, "/photos?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        assert len(body["photos"]) <= 3
        seen += [photo["id"] for photo in body["photos"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    expected = [ids["dog"], ids["cat"]] + [ids[f"may{day}"] for day in range(7, 0, -1)] + [ids["old"]]
    assert seen == expected
    assert ids["gone"] not in seen


def test_an_item_has_its_place_top_three_confident_tags_and_capture_time(library):
    client, ids = library
    dog = _get(client, "/photos?limit=1")["photos"][0]
    assert dog["id"] == ids["dog"]
    assert dog["thumbnail_url"] == f"/cdn/show/{ids['dog']}?size=thumb" and dog["url"] == f"/cdn/show/{ids['dog']}"
    assert dog["place"] == {"country": "Japan", "country_code": "JP", "town": "Tokyo"}
    assert dog["tags"] == ["dog", "person", "seashore"]  # sand (0.05) is not confident
    assert dog["shot_at"] == "2024-06-03T10:00:00" and dog["taken"] is True
    assert dog["state"] == "indexed" and dog["source"] == "upload" and dog["width"] == 600
    old = _get(client, "/photos?source=url")["photos"][0]
    assert old["taken"] is False and old["place"] is None and old["tags"] == []
    assert old["thumbnail_url"] is None  # not processed yet: no thumbnail to point at


@pytest.mark.parametrize("query, names", [
    ("make=canon", ["dog"]),
    ("country=jp", ["dog"]),
    ("country=Japan&town=tokyo", ["dog"]),
    ("tag=dog", ["dog"]),
    ("tag=sand", []),  # unsure labels do not filter either
    ("colour=red", ["dog"]),
    ("orientation=portrait", ["cat"]),
    ("state=stored", ["old"]),
    ("from=2024-06-01&to=2024-06-01", ["cat"]),
    ("from=2019-01-01&to=2019-12-31&source=url", ["old"]),
    ("make=Canon&orientation=portrait", []),
])
def test_filters_combine(library, query, names):
    client, ids = library
    assert [photo["id"] for photo in _get(client, f"/photos?{query}")["photos"]] == [ids[name] for name in names]


def test_months_count_the_filtered_library_newest_first(library):
    client, _ = library
    assert _get(client, "/photos/months")["months"] == [
        {"month": "2024-06", "count": 2}, {"month": "2024-05", "count": 7}, {"month": "2019-02", "count": 1}]
    assert _get(client, "/photos/months?tag=car")["months"] == [{"month": "2024-05", "count": 7}]


@pytest.mark.parametrize("query", ["cursor=nonsense", "cursor=" + encode_cursor(1, 2, 3), "limit=201", "limit=0",
                                   "orientation=round", "source=ftp", "from=yesterday"])
def test_bad_parameters_are_400s_naming_the_field(library, query):
    client, _ = library
    body = _get(client, f"/photos?{query}", status=400)
    assert query.split("=")[0] in body["fields"]


def test_an_unknown_album_is_404(library):
    client, _ = library
    assert _get(client, "/photos?album=nope", status=404)["error"] == "unknown_album"


def test_the_cursor_is_opaque_and_round_trips():
    stamp = datetime(2024, 1, 2, 3, 4, 5) + timedelta(microseconds=7)
    assert decode_cursor(encode_cursor(stamp, "abc")) == (stamp, "abc")
    assert decode_cursor(encode_cursor(300, stamp, "abc"), scored=True) == (300, stamp, "abc")
    for bad in ("", "!!!", encode_cursor("x"), encode_cursor("not a date", "abc")):
        with pytest.raises(ValueError):
            decode_cursor(bad)
