"""POST /recommend/recommend, /recommend/feedback and GET /recommend/profiles/<id> on real photos.

(The test client talks to the recommend app itself, so its paths lack the gateway's /recommend prefix.)
The darknet and exif photos go through the real harvest pipeline and indexer into embedded
backends (SQLite catalog, Milvus Lite file) once per module; each test talks to the Flask app.
"""

from __future__ import annotations

import pytest

import recommend
from tests.enriched import enrich, enriched_backends

PHOTOS = ["darknet/dog.jpg", "darknet/eagle.jpg", "darknet/giraffe.jpg", "darknet/horses.jpg", "darknet/kite.jpg",
          "darknet/person.jpg", "darknet/scream.jpg", "exif/IMG_0001.JPG", "exif/starfish.jpg"]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, photos_dir):
    """Embedded backends holding the real photos, harvested and indexed; yields (backends, {name: id})."""
    opened = enriched_backends(tmp_path_factory.mktemp("recommend") / "var")
    ids = enrich(opened, {path.split("/")[-1]: (photos_dir / path).read_bytes() for path in PHOTOS})
    yield opened, ids
    opened.close()


def _client(catalog, **settings):
    opened, _ = catalog
    return recommend.create_app(opened.settings.model_copy(update=settings), opened).test_client()


def _ask(client, body, status=200):
    response = client.post("/recommend", json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _names(ids, results):
    by_id = {v: k for k, v in ids.items()}
    return [by_id[r["id"]] for r in results]


def test_every_result_explains_each_preference_in_numbers_and_words(catalog):
    _, ids = catalog
    body = _ask(_client(catalog), {"colour": "#838946", "width": 800, "height": 600, "orientation": "landscape",
                                   "tags": ["dog"], "make": "Canon", "limit": 3})
    top = body["results"][0]
    assert top["id"] == ids["dog.jpg"] and body["profile_id"]
    explanation = top["explanation"]
    assert set(explanation) == {"colour", "size", "orientation", "tags", "make"}
    assert explanation["colour"]["text"].startswith("olive #838946 covers 32%")
    assert explanation["size"]["text"] == "768×576 landscape"
    assert explanation["orientation"]["text"] == "landscape"
    assert explanation["make"] == {**explanation["make"], "score": 1.0, "image": "Canon", "text": "Canon"}
    assert explanation["tags"]["text"] == "tags: dog" and explanation["tags"]["matched"] == ["dog"]
    assert sum(p["weight"] for p in explanation.values()) == pytest.approx(1.0, abs=1e-3)
    assert sum(p["contribution"] for p in explanation.values()) == pytest.approx(top["score"], abs=1e-3)
    assert all(p["met"] for p in explanation.values())
    assert "olive #838946 covers 32%" in top["summary"] and "Canon" in top["summary"]
    assert [r["score"] for r in body["results"]] == sorted((r["score"] for r in body["results"]), reverse=True)
    assert top["url"] == f"/cdn/show/{ids['dog.jpg']}" and top["thumbnail_url"].endswith("size=thumb")


def test_words_find_related_labels(catalog):
    _, ids = catalog
    client = _client(catalog)
    puppy = _ask(client, {"tags": ["puppy"]})
    assert _names(ids, puppy["results"])[0] == "dog.jpg"
    assert puppy["results"][0]["explanation"]["tags"]["text"].startswith("tags: dog (0.8")
    sea = _ask(client, {"tags": ["sea"]})
    assert _names(ids, sea["results"])[0] == "kite.jpg"
    assert sea["results"][0]["explanation"]["tags"]["labels"][0]["label"] == "seashore"
    nothing = _ask(client, {"tags": ["xylophone"]})
    assert nothing["results"] == [] and "no image matches this profile" in nothing["message"]


def test_the_original_request_shape_still_works(catalog):
    _, ids = catalog
    legacy = _ask(_client(catalog), {"preferences": {"dominant_color": "#b14343", "imagewidth": 2448,
                                                     "imageheight": 2448, "orientation": 0, "tags": ["cat"],
                                                     "make": "APPLE"}})
    assert legacy["results"][0]["id"] == ids["IMG_0001.JPG"]
    assert legacy["results"][0]["explanation"]["make"]["text"] == "Apple"


def test_make_filter_drops_other_makes_and_boost_ranks_them_lower(catalog):
    _, ids = catalog
    boosted = _ask(_client(catalog, make_preference="boost"), {"make": "Canon"})
    names = _names(ids, boosted["results"])
    assert set(names[:2]) == {"dog.jpg", "kite.jpg"} and len(names) == len(PHOTOS)
    filtered = _ask(_client(catalog, make_preference="filter"), {"make": "Canon"})
    assert set(_names(ids, filtered["results"])) == {"dog.jpg", "kite.jpg"}
    assert all(r["explanation"]["make"]["mode"] == "filter" for r in filtered["results"])
    none = _ask(_client(catalog, make_preference="filter"), {"make": "Hasselblad"})
    assert none["results"] == [] and "make filter" in none["message"]


def test_orientation_filter(catalog):
    _, ids = catalog
    portrait = _ask(_client(catalog, orientation_preference="filter"), {"orientation": "portrait"})
    assert _names(ids, portrait["results"]) == ["scream.jpg"]


def test_feedback_dislike_removes_and_like_moves_a_similar_palette_up(catalog):
    _, ids = catalog
    client = _client(catalog)
    first = _ask(client, {"orientation": "landscape"})
    profile_id = first["profile_id"]
    before = _names(ids, first["results"])
    assert "eagle.jpg" in before

    vote = client.post("/feedback", json={"profile_id": profile_id, "image_id": ids["kite.jpg"],
                                                    "vote": "dislike"})
    assert vote.status_code == 200 and vote.get_json()["feedback"] == {"likes": 0, "dislikes": 1}
    assert "kite.jpg" not in _names(ids, _ask(client, {"profile_id": profile_id})["results"])

    # dog.jpg is grey and olive, as is eagle.jpg; giraffe.jpg is green.
    client.post("/feedback", json={"profile_id": profile_id, "image_id": ids["dog.jpg"], "vote": "like"})
    after = _ask(client, {"profile_id": profile_id})
    names = _names(ids, after["results"])
    eagle = after["results"][names.index("eagle.jpg")]
    giraffe = after["results"][names.index("giraffe.jpg")]
    assert eagle["explanation"]["feedback"]["like"] > giraffe["explanation"]["feedback"]["like"]
    assert eagle["explanation"]["feedback"]["liked_image"] == ids["dog.jpg"]
    assert names.index("eagle.jpg") < names.index("giraffe.jpg")
    # The same preferences with the opposite taste: liking green giraffe.jpg turns the order round.
    other = _ask(client, {"orientation": "landscape"})["profile_id"]
    client.post("/feedback", json={"profile_id": other, "image_id": ids["giraffe.jpg"], "vote": "like"})
    flipped = _ask(client, {"profile_id": other})["results"]

    def gap(results):  # eagle's lead over giraffe (square, so below it on a landscape profile anyway)
        score = {name: r["score"] for name, r in zip(_names(ids, results), results, strict=True)}
        return score["eagle.jpg"] - score["giraffe.jpg"]

    assert gap(after["results"]) > gap(flipped) + 0.1

    # Voting again replaces the vote; the profile reloads with its counts.
    client.post("/feedback", json={"profile_id": profile_id, "image_id": ids["dog.jpg"], "vote": "like"})
    saved = client.get(f"/profiles/{profile_id}").get_json()
    assert saved["preferences"]["orientation"] == "landscape"
    assert saved["feedback"] == {"likes": 1, "dislikes": 1}


def test_feedback_refuses_bad_votes_and_unknown_ids(catalog):
    _, ids = catalog
    client = _client(catalog)
    profile_id = _ask(client, {"make": "Canon"})["profile_id"]
    bad = client.post("/feedback", json={"profile_id": profile_id, "image_id": ids["dog.jpg"],
                                                   "vote": "meh"})
    assert bad.status_code == 400 and "vote" in bad.get_json()["message"]
    assert client.post("/feedback", json={"profile_id": "nope", "image_id": ids["dog.jpg"],
                                                    "vote": "like"}).status_code == 404
    unknown_image = client.post("/feedback", json={"profile_id": profile_id, "image_id": "nope",
                                                             "vote": "like"})
    assert unknown_image.status_code == 404 and unknown_image.get_json()["error"] == "unknown_image"
    assert client.get("/profiles/nope").status_code == 404


def test_paging_walks_the_list_without_repeats(catalog):
    client = _client(catalog)
    profile = {"colour": "#999a9d"}
    whole = _ask(client, {**profile, "limit": 20})["results"]
    assert len(whole) >= 6
    seen = []
    offset = 0
    while offset is not None:
        page = _ask(client, {**profile, "limit": 2, "offset": offset})
        seen += [r["id"] for r in page["results"]]
        offset = page["next_offset"]
    assert sorted(seen) == sorted(r["id"] for r in whole) and len(seen) == len(set(seen))
    past = _ask(client, {**profile, "limit": 2, "offset": 500})
    assert past["results"] == [] and "offset" in past["message"]


def test_an_empty_catalog_answers_with_a_message(backends):
    client = recommend.create_app(backends.settings, backends).test_client()
    body = _ask(client, {"colour": "#ff0000", "tags": ["dog"]})
    assert body["results"] == [] and "no indexed images" in body["message"]


@pytest.mark.parametrize("body, field", [
    ({"colour": "#12345g"}, "colour"),
    ({"tags": ["a", "b", "c", "d", "e", "f"]}, "tags"),
    ({"limit": 1000}, "limit"),
    ({"offset": -1}, "offset"),
])
def test_bad_input_is_refused_with_a_reason(catalog, body, field):
    answer = _ask(_client(catalog), body, status=400)
    assert answer["error"] == "invalid_request" and field in answer["fields"]


def test_an_unknown_profile_id_is_404(catalog):
    answer = _ask(_client(catalog), {"profile_id": "nope"}, status=404)
    assert answer["error"] == "unknown_profile"
