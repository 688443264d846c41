"""GET /recommend/labels, /recommend/makes and /recommend/colour-names on real photos through the real pipeline,
on the embedded SQLite catalog and on PostgreSQL (the prefix match is a LIKE with an escape: dialects differ).

The catalog: six darknet photos: dog and kite by Canon, eagle, horses and person by Pentax (written "PENTAX"
in their EXIF), giraffe with no camera make.
"""

from __future__ import annotations

from collections import Counter

import pytest

from mosaic.catalog.images import image_details
from recommend import create_app
from tests.enriched import enrich, module_backends
from tests.servers.postgres import create_database

PHOTOS = ("dog.jpg", "kite.jpg", "eagle.jpg", "horses.jpg", "person.jpg", "giraffe.jpg")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def catalog(request, tmp_path_factory, photos_dir):
    """(backends, {file name: image id}), enriched once per catalog kind."""
    settings = {}
    if request.param == "postgresql":
        settings["catalog_url"] = create_database(request.getfixturevalue("postgres_server"))
    with module_backends(tmp_path_factory.mktemp("suggestions") / "var", **settings) as backends:
        yield backends, enrich(backends, {name: (photos_dir / "darknet" / name).read_bytes() for name in PHOTOS})


@pytest.fixture(scope="module")
def client(catalog):
    backends, _ = catalog
    return create_app(backends.settings, backends).test_client()


@pytest.fixture(scope="module")
def details(catalog):
    backends, ids = catalog
    with backends.catalog.connect() as connection:
        return {name: image_details(connection, image_id) for name, image_id in ids.items()}


def _expected_labels(details) -> Counter:
    """Photos per label, counted from each image's own record (a label from two sources counts once)."""
    return Counter(label for record in details.values() for label in {tag["label"] for tag in record["tags"]})


def test_makes_are_normalised_and_counted_most_common_first(client):
    answer = client.get("/makes")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["makes"] == [{"make": "Pentax", "count": 3}, {"make": "Canon", "count": 2}]


def test_makes_match_a_prefix_in_any_case_and_respect_the_limit(client):
    assert client.get("/makes?prefix=pe").get_json()["makes"] == [{"make": "Pentax", "count": 3}]
    assert client.get("/makes?prefix=CAN").get_json()["makes"] == [{"make": "Canon", "count": 2}]
    assert client.get("/makes?prefix=nikon").get_json()["makes"] == []
    assert client.get("/makes?limit=1").get_json()["makes"] == [{"make": "Pentax", "count": 3}]


def test_labels_are_every_tag_with_its_photo_count(client, details):
    expected = _expected_labels(details)
    assert expected["dog"] >= 1 and expected["person"] >= 1, expected  # the detector found the obvious ones
    labels = client.get("/labels?limit=100").get_json()["labels"]
    assert {item["label"]: item["count"] for item in labels} == dict(expected)
    counts = [item["count"] for item in labels]
    assert counts == sorted(counts, reverse=True)
    top = client.get("/labels?limit=2").get_json()["labels"]
    assert top == labels[:2]


def test_labels_by_prefix(client, details):
    expected = {label: n for label, n in _expected_labels(details).items() if label.lower().startswith("d")}
    answer = client.get("/labels?prefix=D&limit=100").get_json()["labels"]
    assert {item["label"]: item["count"] for item in answer} == expected
    assert "dog" in expected
    # % and _ are matched as themselves, not as LIKE wildcards.
    assert client.get("/labels?prefix=%25").get_json()["labels"] == []
    assert client.get("/labels?prefix=_").get_json()["labels"] == []


def test_colour_names_count_the_palettes_holding_each_name(client, details):
    answer = client.get("/colour-names")
    assert answer.status_code == 200
    colours = answer.get_json()["colours"]
    assert len(colours) == 16
    assert {"name": "teal", "hex": "#208080"}.items() <= next(c for c in colours if c["name"] == "teal").items()
    expected = Counter(name for record in details.values() for name in {c["name"] for c in record["colours"]})
    assert {item["name"]: item["count"] for item in colours if item["count"]} == dict(expected)
    assert all(item["hex"].startswith("#") and len(item["hex"]) == 7 for item in colours)


@pytest.mark.parametrize("query, field", [
    ("limit=-1", "limit"), ("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"),
    ("prefix=" + "x" * 65, "prefix"),
])
def test_bad_parameters_are_400_naming_the_field(client, query, field):
    for route in ("/labels", "/makes"):
        answer = client.get(f"{route}?{query}")
        assert answer.status_code == 400, (route, query)
        body = answer.get_json()
        assert body["error"] == "invalid_request" and set(body["fields"]) == {field}, body
    assert "greater than or equal to 1" in client.get("/labels?limit=-1").get_json()["fields"]["limit"]
