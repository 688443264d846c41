"""Search by words: the query parser (pure), and GET /recommend/search on an embedded (SQLite) catalog.

The same API tests run on PostgreSQL in tests/integration/test_library.py.
"""

from __future__ import annotations

from datetime import datetime

import pytest

import recommend
from mosaic.catalog import documents
from mosaic.catalog.images import now
from mosaic.catalog.schema import dataset_keywords, dataset_photos
from recommend.text_search import Terms, parse
from tests.library_rows import add_photo


@pytest.mark.parametrize("q, words, fields", [
    ("dog", ["dog"], {}),
    ("Dogs on the Beach", ["dogs", "beach"], {}),
    ("make:Canon dog", ["dog"], {"make": "canon"}),
    ('town:"New York" "hot dog"', ["hot dog"], {"town": "new york"}),
    ("year:2019 colour:RED tag:dog", [], {"year": "2019", "colour": "red", "tag": "dog"}),
    ("color:blue city:paris", [], {"colour": "blue", "town": "paris"}),
    ("after:2020-01-01 before:2021-01-01 album:Trip", [], {"after": "2020-01-01", "before": "2021-01-01",
                                                          "album": "Trip"}),
    ("Zürich IMG_0001.JPG", ["zurich", "img", "0001", "jpg"], {}),
])
def test_parse_splits_words_and_field_terms(q, words, fields):
    assert parse(q) == Terms(words, fields)


@pytest.mark.parametrize("q, reason", [
    ("lens:50mm", "unknown field"),
    ("year:19", "not a year"),
    ("before:2020-13-01", "not a date"),
    ("make:", "needs a value"),
    ("make:a make:b", "given twice"),
    ('"open', "not closed"),
    ("the of", "nothing to search for"),
    ("x" * 501, "at most 500"),
])
def test_parse_refuses_what_it_cannot_search(q, reason):
    with pytest.raises(ValueError, match=reason):
        parse(q)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    from tests.enriched import module_backends

    with module_backends(tmp_path_factory.mktemp("search") / "var") as opened:
        ids = {}
        with opened.catalog.begin() as connection:
            ids["dog"] = add_photo(connection, datetime(2024, 6, 3), make="Canon", model="EOS 5D", country="Japan",
                                   code="JP", town="Tokyo", labels=[("dog", "detector", 0.9),
                                                                   ("seashore", "scene", 0.6)])
            ids["weak_dog"] = add_photo(connection, datetime(2024, 6, 5), make="Nikon",
                                        labels=[("dog", "scene", 0.05)])
            ids["cat"] = add_photo(connection, datetime(2019, 3, 1), make="Canon", name="IMG_0042.JPG",
                                   labels=[("cat", "detector", 0.8)], colour="red")
            ids["trashed"] = add_photo(connection, datetime(2024, 6, 4), deleted=True,
                                       labels=[("dog", "detector", 0.9)])
            ids["described"] = add_photo(connection, datetime(2020, 1, 1), source="unsplash",
                                         labels=[("valley", "scene", 0.3)])
            connection.execute(dataset_photos.insert().values(
                dataset="unsplash", photo_id="abc", image_id=ids["described"], description="A foggy morning",
                updated_at=now()))
            connection.execute(dataset_keywords.insert().values(dataset="unsplash", photo_id="abc",
                                                                keyword="mountain mist"))
            documents.rebuild(connection, [ids["described"]])
        yield opened, ids


@pytest.fixture(scope="module")
def client(catalog):
    opened, _ = catalog
    return recommend.create_app(opened.settings, opened).test_client()


def _search(client, q, status=200, **params):
    response = client.get("/search", query_string={"q": q, **params})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _ids(body):
    return [result["id"] for result in body["results"]]


def test_a_label_ranks_confident_photos_above_unsure_ones_and_skips_the_trash(client, catalog):
    _, ids = catalog
    body = _search(client, "dogs")
    assert _ids(body)[:2] == [ids["dog"], ids["weak_dog"]]
    assert ids["trashed"] not in _ids(body)
    assert body["results"][0]["matched"] == ["dog (object)"]
    assert body["results"][1]["matched"] == ["dog (scene, unsure)"]
    assert body["results"][0]["score"] > body["results"][1]["score"]
    assert body["terms"] == {"words": ["dogs"], "fields": {}}


def test_words_reach_places_cameras_file_names_and_dataset_text(client, catalog):
    _, ids = catalog
    assert _ids(_search(client, "tokyo"))[0] == ids["dog"]
    assert _ids(_search(client, "japan canon"))[0] == ids["dog"]
    assert _ids(_search(client, "img_0042"))[0] == ids["cat"]
    assert _ids(_search(client, "foggy mist"))[0] == ids["described"]


def test_a_related_word_finds_the_label_ranked_below_an_exact_match(client, catalog):
    _, ids = catalog
    body = _search(client, "puppy")
    assert _ids(body)[0] == ids["dog"]
    assert body["results"][0]["matched"] == ["dog (object)"]
    assert body["results"][0]["score"] < 1.0  # an exact word scores 1


def test_field_terms_filter(client, catalog):
    _, ids = catalog
    assert _ids(_search(client, "make:canon")) == [ids["dog"], ids["cat"]]
    assert _ids(_search(client, "make:canon year:2019")) == [ids["cat"]]
    assert _ids(_search(client, "colour:red")) == [ids["cat"]]
    assert _ids(_search(client, "dog before:2024-06-04")) == [ids["dog"]]
    assert _ids(_search(client, "dog after:2024-06-04")) == [ids["weak_dog"]]
    body = _search(client, "dog make:nikon")
    assert _ids(body) == [ids["weak_dog"]] and "make:nikon" in body["results"][0]["matched"]


def test_results_page_by_cursor(client):
    first = _search(client, "dog", limit=1)
    second = _search(client, "dog", limit=1, cursor=first["next_cursor"])
    assert _ids(first) != _ids(second) and second["next_cursor"] is None


@pytest.mark.parametrize("params", [{"q": "lens:50"}, {"q": "x" * 501}, {"q": ""}, {"q": "year:abc"},
                                    {"q": "dog", "cursor": "zzz"}])
def test_malformed_queries_are_400s_naming_the_field(client, params):
    response = client.get("/search", query_string=params)
    assert response.status_code == 400, response.get_json()
    assert set(response.get_json()["fields"]) & {"q", "cursor"}


def test_paging_one_at_a_time_walks_the_same_order_as_one_page(client):
    for q in ("dog", "canon", "make:canon"):
        whole, walked, cursor = _ids(_search(client, q)), [], None
        while True:
            body = _search(client, q, limit=1, **({"cursor": cursor} if cursor else {}))
            walked += _ids(body)
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert walked == whole and whole
