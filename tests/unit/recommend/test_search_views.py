"""Similar images, colour search and duplicate groups on real photos through the real pipeline (embedded backends).

The catalog: five darknet photos plus four copies of dog.jpg made from the real photo (50 % resize, JPEG q50,
8 % crop, +10 % brightness, none keeping the EXIF), all harvested and indexed.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageEnhance

from gather.storing import store_file
from mosaic.catalog.images import image_details
from recommend import create_app
from recommend.duplicates import group_id
from tests.enriched import enrich, module_backends

PHOTOS = ("dog.jpg", "eagle.jpg", "horses.jpg", "kite.jpg", "person.jpg")
COPIES = ("dog-half.jpg", "dog-q50.jpg", "dog-crop.jpg", "dog-bright.jpg")


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def dog_copies(dog: Image.Image) -> dict[str, bytes]:
    width, height = dog.size
    return {
        "dog-half.jpg": _jpeg(dog.resize((width // 2, height // 2), Image.Resampling.LANCZOS)),
        "dog-q50.jpg": _jpeg(dog, quality=50),
        "dog-crop.jpg": _jpeg(dog.crop((int(width * 0.08), 0, width, height))),
        "dog-bright.jpg": _jpeg(ImageEnhance.Brightness(dog).enhance(1.1)),
    }


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, photos_dir):
    """(backends, {file name: image id}): built once for the module, as the pipeline takes a few seconds."""

    with module_backends(tmp_path_factory.mktemp("discovery") / "var") as backends:
        files = {name: (photos_dir / "darknet" / name).read_bytes() for name in PHOTOS}
        with Image.open(photos_dir / "darknet" / "dog.jpg") as dog:
            files.update(dog_copies(dog.convert("RGB")))
        yield backends, enrich(backends, files)


@pytest.fixture(scope="module")
def client(catalog):
    backends, _ = catalog
    return create_app(backends.settings, backends).test_client()


def _details(backends, image_id):
    with backends.catalog.connect() as connection:
        return image_details(connection, image_id)


def _names(ids, results):
    by_id = {image_id: name for name, image_id in ids.items()}
    return [by_id[item["id"]] for item in results]


# -- duplicates ------------------------------------------------------------------------------------------------


def test_duplicates_finds_the_dog_and_its_copies_as_one_group_with_the_original_best(catalog, client):
    _, ids = catalog
    answer = client.get("/duplicates")
    assert answer.status_code == 200
    groups = answer.get_json()["groups"]
    assert len(groups) == 1 and answer.get_json()["total"] == 1
    group = groups[0]
    assert set(_names(ids, [{"id": m} for m in group["members"]])) == {"dog.jpg", *COPIES}
    assert group["best"] == ids["dog.jpg"] == group["members"][0]
    assert group["id"] == group_id(group["members"])
    # q50 and brightened copies are as large as the original: its EXIF decides, and the reason says so.
    assert "768×576" in group["reason"] and "EXIF" in group["reason"]
    # Each member's facts, best first, show what the rule compared.
    assert [d["id"] for d in group["details"]] == group["members"]
    best = group["details"][0]
    assert best["name"] == "dog.jpg" and (best["width"], best["height"]) == (768, 576)
    assert best["exif_fields"] > 0 and best["exif_fields"] >= max(d["exif_fields"] for d in group["details"][1:])


def test_an_images_group_and_an_image_without_duplicates(catalog, client):
    _, ids = catalog
    for name in ("dog.jpg", "dog-crop.jpg"):
        group = client.get(f"/duplicates/{ids[name]}").get_json()["group"]
        assert set(group["members"]) == {ids[n] for n in ("dog.jpg", *COPIES)} and group["best"] == ids["dog.jpg"]
    assert client.get(f"/duplicates/{ids['eagle.jpg']}").get_json() == {"group": None}
    missing = client.get("/duplicates/nosuchimage")
    assert missing.status_code == 404 and "nosuchimage" in missing.get_json()["message"]


def test_resolving_a_group_marks_it_resolved(catalog, client):
    _, ids = catalog
    group = client.get(f"/duplicates/{ids['dog.jpg']}").get_json()["group"]
    answer = client.post(f"/duplicates/{group['id']}/resolve")
    assert answer.status_code == 200 and answer.get_json()["group"]["resolved"] is True
    assert client.get("/duplicates").get_json()["groups"][0]["resolved"] is True
    assert client.get(f"/duplicates/{ids['dog-half.jpg']}").get_json()["group"]["resolved"] is True
    assert client.get("/duplicates?resolved=false").get_json() == {"groups": [], "total": 0}
    assert client.get("/duplicates").get_json()["groups"][0]["kept"] == ids["dog.jpg"]  # the best, by default
    stale = client.post(f"/duplicates/{'0' * 64}/resolve")
    assert stale.status_code == 404 and "list /duplicates again" in stale.get_json()["message"]


def test_resolving_keeps_the_copy_the_user_chose_and_only_a_member(catalog, client):
    _, ids = catalog
    group = client.get(f"/duplicates/{ids['dog.jpg']}").get_json()["group"]
    outsider = client.post(f"/duplicates/{group['id']}/resolve", json={"keep": ids["eagle.jpg"]})
    assert outsider.status_code == 400 and outsider.get_json()["error"] == "not_a_member"
    wrong_type = client.post(f"/duplicates/{group['id']}/resolve", json={"keep": 7})
    assert wrong_type.status_code == 400 and set(wrong_type.get_json()["fields"]) == {"keep"}
    answer = client.post(f"/duplicates/{group['id']}/resolve", json={"keep": ids["dog-half.jpg"]})
    assert answer.status_code == 200 and answer.get_json()["group"]["kept"] == ids["dog-half.jpg"]
    listed = client.get("/duplicates").get_json()["groups"][0]
    assert listed["resolved"] is True and listed["kept"] == ids["dog-half.jpg"] and listed["best"] == ids["dog.jpg"]


# -- similar ---------------------------------------------------------------------------------------------------


def test_similar_excludes_the_image_and_its_copies_and_explains_the_blend(catalog, client):
    _, ids = catalog
    answer = client.get(f"/similar/{ids['dog.jpg']}?limit=10")
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    names = _names(ids, results)
    assert set(names) == {"eagle.jpg", "horses.jpg", "kite.jpg", "person.jpg"}
    scores = [item["score"] for item in results]
    assert scores == sorted(scores, reverse=True)
    first = results[0]
    assert set(first) == {"id", "score", "explanation", "thumbnail_url", "url"}
    assert first["url"] == f"/cdn/show/{first['id']}"
    explanation = first["explanation"]
    assert {"visual", "palette", "labels", "note"} <= set(explanation) and "visual cosine" in explanation["note"]
    person = results[names.index("person.jpg")]["explanation"]
    assert "dog" in person["labels"]["shared"]  # person.jpg shows a dog too
    visual_only = client.get(f"/similar/{ids['dog.jpg']}?blend=false").get_json()["results"]
    assert set(visual_only[0]["explanation"]) == {"visual", "note"}


def test_similar_from_a_copy_excludes_the_original(catalog, client):
    _, ids = catalog
    names = _names(ids, client.get(f"/similar/{ids['dog-q50.jpg']}").get_json()["results"])
    assert not {"dog.jpg", *COPIES} & set(names) and names


def test_similar_unknown_and_not_indexed_and_bad_limit(catalog, client, photos_dir):
    backends, _ = catalog
    missing = client.get("/similar/nosuchimage")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    stored = store_file(backends, io.BytesIO((photos_dir / "darknet" / "giraffe.jpg").read_bytes()), "g.jpg", "upload")
    try:
        waiting = client.get(f"/similar/{stored.id}")
        assert waiting.status_code == 409 and "stored" in waiting.get_json()["message"]
        assert "indexed" in waiting.get_json()["message"]
        not_harvested = client.get(f"/duplicates/{stored.id}")
        assert not_harvested.status_code == 409 and "fingerprints" in not_harvested.get_json()["message"]
    finally:
        with backends.catalog.begin() as connection:
            connection.exec_driver_sql(f"DELETE FROM images WHERE id = '{stored.id}'")
    bad = client.get("/similar/whatever?limit=0")
    assert bad.status_code == 400 and "limit" in bad.get_json()["message"]


# -- colours ---------------------------------------------------------------------------------------------------


def test_colour_search_by_the_dogs_main_colour_finds_the_dog_first(catalog, client):
    backends, ids = catalog
    main = _details(backends, ids["dog.jpg"])["colours"][0]
    answer = client.get("/colours", query_string={"hex": main["hex"]})
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert results[0]["id"] == ids["dog.jpg"]
    # its copies are collapsed into it, not listed again
    assert not set(COPIES) & set(_names(ids, results))
    assert set(results[0]["explanation"]["duplicates"]) <= {ids[name] for name in COPIES}
    part = results[0]["explanation"]["colours"][0]
    # the stored Lab is the cluster's exact centre, the hex its rounding: a hair apart
    assert part["colour"] == main["hex"] and part["delta_e"] <= 0.5
    assert part["text"] == f"{main['hex']} covers {main['share']:.0%}, ΔE {part['delta_e']:.1f} from {main['hex']}"


def test_colour_search_by_name(catalog, client):
    backends, ids = catalog
    results = client.get("/colours?name=olive").get_json()["results"]
    names = _names(ids, results)
    assert names and {"dog.jpg", "eagle.jpg"} <= set(names)
    for item in results:
        details = _details(backends, item["id"])
        assert "olive" in {c["name"] for c in details["colours"]}
        assert item["explanation"]["colours"][0]["text"].endswith("from olive (#7a7a20)")
    assert client.get("/colours?name=Gray").status_code == 200


def test_several_colours_must_all_be_in_the_palette(catalog, client):
    backends, ids = catalog
    dog = _details(backends, ids["dog.jpg"])["colours"]
    kite = _details(backends, ids["kite.jpg"])["colours"]
    both_dog = client.get("/colours", query_string={"hex": [dog[0]["hex"], dog[1]["hex"]], "min_share": 0.1})
    assert _names(ids, both_dog.get_json()["results"])[0] == "dog.jpg"
    assert len(both_dog.get_json()["results"][0]["explanation"]["colours"]) == 2
    # kite's main colour (near white) and dog's olive: no photo holds both
    neither = client.get("/colours", query_string={"hex": [kite[0]["hex"], dog[1]["hex"]], "max_delta_e": 5})
    assert neither.status_code == 200 and neither.get_json() == {"results": []}
    alone = _names(ids, client.get("/colours", query_string={"hex": kite[0]["hex"], "max_delta_e": 5})
                   .get_json()["results"])
    assert "kite.jpg" in alone and "dog.jpg" not in alone


@pytest.mark.parametrize("query, code, words", [
    ("hex=%23zz0000", "bad_colour", "'#zz0000'"),
    ("hex=%23123", None, None),
    ("name=chartreuse", "unknown_colour_name", "teal"),
    ("", "no_colour", "name=teal"),
    ("hex=%23102030&min_share=2", "invalid_request", "min_share: Input should be less than or equal to 1"),
    ("hex=%23102030&limit=abc", "invalid_request", "limit: Input should be a valid integer"),
    ("hex=1&hex=2&hex=3&hex=4&hex=5&hex=6", "bad_colour", "'1'"),
    ("hex=111&hex=222&hex=333&hex=444&hex=555&hex=666", "too_many_colours", "at most 5"),
])
def test_bad_colour_queries_are_refused_with_a_reason(client, query, code, words):
    answer = client.get(f"/colours?{query}")
    if code is None:
        assert answer.status_code == 200
        return
    assert answer.status_code == 400
    assert answer.get_json()["error"] == code and words in answer.get_json()["message"]
