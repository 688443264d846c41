"""Importing the Unsplash dataset's metadata into the embedded catalog (generated dataset, labelled as such)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, insert, select

from gather.unsplash import DatasetError, import_metadata, link_image, photo_downloads
from gather.unsplash.metadata import sampled
from gather.unsplash.reader import BadRow
from mosaic.catalog.images import now
from mosaic.catalog.schema import dataset_colours, dataset_keywords, dataset_photos, images
from tests.unsplash_fixture import (
    BAD_PHOTO_ROWS,
    COLOURS_PER_PHOTO,
    KEYWORDS_PER_PHOTO,
    photo_id,
    write_dataset,
)

ROWS = 40


def _photos(backends) -> dict[str, dict]:
    with backends.catalog.connect() as connection:
        return {row["photo_id"]: dict(row) for row in connection.execute(select(dataset_photos)).mappings()}


def _children(backends, target, photo=None) -> list[dict]:
    query = select(target)
    if photo is not None:
        query = query.where(target.c.photo_id == photo)
    with backends.catalog.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def _count(backends, target) -> int:
    with backends.catalog.connect() as connection:
        return connection.execute(select(func.count()).select_from(target)).scalar()


def _add_image(backends, image_id: str) -> None:
    """A catalog image for link_image to point at (the downloader makes real ones)."""
    stamp = now()
    with backends.catalog.begin() as connection:
        connection.execute(insert(images).values(
            id=image_id, sha256=image_id.ljust(64, "0"), object_key=f"originals/{image_id}", source="unsplash", bytes=1,
            mime="image/jpeg", state="stored", created_at=stamp, updated_at=stamp))


def test_photos_keywords_and_colours_are_imported_typed(backends, tmp_path):
    ids = write_dataset(tmp_path, ROWS)
    bad: list[BadRow] = []
    result = import_metadata(backends, tmp_path, "1.3.0", on_bad_row=bad.append)

    assert (result.photos, result.new, result.bad_rows, result.gone) == (ROWS, ROWS, BAD_PHOTO_ROWS, 0)
    assert (result.keywords, result.colours) == (KEYWORDS_PER_PHOTO * ROWS, COLOURS_PER_PHOTO * ROWS)
    assert len(bad) == BAD_PHOTO_ROWS and all(b.file == "photos.tsv001" for b in bad)
    photos = _photos(backends)
    assert set(photos) == set(ids)
    full = photos[ids[0]]
    assert full["dataset"] == "unsplash" and full["release"] == "1.3.0" and full["gone_at"] is None
    assert full["image_id"] is None
    assert isinstance(full["width"], int) and isinstance(full["views"], int)
    assert isinstance(full["submitted_at"], datetime) and isinstance(full["aspect_ratio"], float)
    assert isinstance(full["exif_aperture"], float) and isinstance(full["exif_focal_length"], float)
    assert full["exif_exposure_time"] in ("1/250", "1/60", "1/4000", "2")
    assert full["url"] == f"https://images.unsplash.com/photo-{ids[0]}"
    assert full["photographer_name"] and full["photographer_name"].split()[0] in ("Ana", "Li", "Sam")
    assert -90 <= full["latitude"] <= 90 and full["country"] in ("France", "Japan", "Canada")
    assert photos[ids[1]]["description"] == 'Tabs\there, a "quoted" word,\nand a second line'
    assert photos[ids[2]]["photographer_name"].startswith("Zoë")
    empty = photos[ids[3]]  # the generated row with nothing optional
    assert empty["exif_make"] is None and empty["latitude"] is None and empty["description"] is None
    assert photos[ids[4]]["landmark"] == "Eiffel Tower" and photos[ids[4]]["landmark_latitude"] == 48.8584

    keywords = _children(backends, dataset_keywords, ids[1])
    assert len(keywords) == KEYWORDS_PER_PHOTO and 'rock "n" roll' in {k["keyword"] for k in keywords}
    assert all(isinstance(k["suggested_by_user"], bool) and 40 <= k["confidence"] <= 100 for k in keywords)
    colours = _children(backends, dataset_colours, ids[0])
    assert len(colours) == COLOURS_PER_PHOTO
    for colour in colours:
        assert colour["hex"].startswith("#") and len(colour["hex"]) == 7
        assert (colour["red"], colour["green"], colour["blue"]) == tuple(
            int(colour["hex"][i:i + 2], 16) for i in (1, 3, 5))
        assert colour["keyword"] and 0 <= colour["coverage"] <= 1 and 0 <= colour["score"] <= 1


def test_keyword_confidence_is_the_best_of_both_services(backends, tmp_path):
    write_dataset(tmp_path, 3, hard_cases=False)
    keywords = tmp_path / "keywords.tsv000"
    lines = keywords.read_text().splitlines(keepends=True)
    first = lines[1].split("\t")
    lines[1] = "\t".join([first[0], first[1], "41.5", "97.25", "f\n"])
    lines.append("\t".join([first[0], "only second", "", "55.0", "t\n"]))
    keywords.write_text("".join(lines))
    import_metadata(backends, tmp_path, "1.3.0")
    found = {k["keyword"]: k for k in _children(backends, dataset_keywords, first[0])}
    assert found[first[1]]["confidence"] == 97.25 and found[first[1]]["suggested_by_user"] is False
    assert found["only second"]["confidence"] == 55.0 and found["only second"]["suggested_by_user"] is True


def test_limit_takes_the_first_photos_and_only_their_keywords_and_colours(backends, tmp_path):
    ids = write_dataset(tmp_path, ROWS)
    result = import_metadata(backends, tmp_path, "1.3.0", limit=5)
    assert set(_photos(backends)) == set(ids[:5]) and result.photos == 5 and result.gone == 0
    assert result.keywords == _count(backends, dataset_keywords) == KEYWORDS_PER_PHOTO * 5
    assert result.colours == _count(backends, dataset_colours) == COLOURS_PER_PHOTO * 5
    assert {k["photo_id"] for k in _children(backends, dataset_keywords)} == set(ids[:5])


def test_sample_is_a_stable_fraction_chosen_by_photo_id(backends, tmp_path):
    ids = write_dataset(tmp_path, 200, hard_cases=False)
    expected = {i for i in ids if sampled(i, 0.25)}
    assert 20 < len(expected) < 80
    first = import_metadata(backends, tmp_path, "1.3.0", sample=0.25)
    assert set(_photos(backends)) == expected and first.photos == len(expected)
    again = import_metadata(backends, tmp_path, "1.3.0", sample=0.25)
    assert (again.photos, again.new) == (len(expected), 0)
    assert set(_photos(backends)) == expected
    assert {k["photo_id"] for k in _children(backends, dataset_keywords)} == expected
    assert {c["photo_id"] for c in _children(backends, dataset_colours)} == expected
    assert sampled(ids[0], 1.0) and not sampled(ids[0], 1e-12)


def test_a_newer_release_adds_updates_and_marks_gone_without_deleting(backends, tmp_path):
    first_ids = write_dataset(tmp_path / "1.0", ROWS)
    import_metadata(backends, tmp_path / "1.0", "r1")
    changed, dropped = first_ids[5], first_ids[6]
    _add_image(backends, "img1")
    with backends.catalog.begin() as connection:  # an already downloaded photo keeps its image
        assert link_image(connection, changed, "img1")
        assert not link_image(connection, "nosuchphoto", "img1")

    def next_release(row):
        if row["photo_id"] == dropped:
            return None
        if row["photo_id"] == changed:
            row["photo_description"] = "A new description"
        return row

    second_ids = write_dataset(tmp_path / "2.0", ROWS + 1, edit=next_release)
    added = photo_id(0, ROWS)
    assert set(second_ids) == set(first_ids) - {dropped} | {added}
    # The newer release also drops one keyword of the changed photo.
    keywords = tmp_path / "2.0" / "keywords.tsv000"
    lines = keywords.read_text().splitlines(keepends=True)
    gone_keyword = next(line for line in lines if line.startswith(changed + "\t"))
    keywords.write_text("".join(line for line in lines if line != gone_keyword))

    result = import_metadata(backends, tmp_path / "2.0", "r2")
    assert (result.photos, result.new, result.gone) == (ROWS, 1, 1)
    photos = _photos(backends)
    assert len(photos) == ROWS + 1  # the gone photo is kept
    assert photos[dropped]["gone_at"] is not None and photos[dropped]["release"] == "r1"
    assert photos[added]["release"] == "r2" and photos[added]["gone_at"] is None
    assert photos[changed]["description"] == "A new description" and photos[changed]["image_id"] == "img1"
    assert all(p["gone_at"] is None for i, p in photos.items() if i != dropped)
    assert len(_children(backends, dataset_keywords, changed)) == KEYWORDS_PER_PHOTO - 1
    assert len(_children(backends, dataset_keywords, dropped)) == KEYWORDS_PER_PHOTO  # kept with its photo
    assert len(_children(backends, dataset_keywords, added)) == KEYWORDS_PER_PHOTO

    again = import_metadata(backends, tmp_path / "1.0", "r3")  # the photo comes back: no longer gone
    assert _photos(backends)[dropped]["gone_at"] is None and again.gone == 1  # now `added` is the gone one
    assert _photos(backends)[added]["gone_at"] is not None


def test_downloads_list_this_release_photos_without_an_image_page_by_page(backends, tmp_path):
    ids = write_dataset(tmp_path, 25, hard_cases=False, photo_url=lambda pid: f"http://127.0.0.1:9/{pid}.jpg")
    import_metadata(backends, tmp_path, "1.3.0")
    listed = list(photo_downloads(backends, "1.3.0", batch=7))
    assert [pid for pid, _ in listed] == sorted(ids)
    assert all(url == f"http://127.0.0.1:9/{pid}.jpg" for pid, url in listed)
    assert list(photo_downloads(backends, "another release")) == []
    _add_image(backends, "img2")
    downloaded = sorted(ids)[3]
    # Linking while iterating (as the downloader does) neither skips nor repeats a photo.
    seen = []
    for pid, _ in photo_downloads(backends, "1.3.0", batch=2):
        seen.append(pid)
        if pid == sorted(ids)[1]:
            with backends.catalog.begin() as connection:
                link_image(connection, downloaded, "img2")
    assert seen == [pid for pid in sorted(ids) if pid != downloaded]


def test_releases_before_1_3_have_latitude_and_longitude_swapped(backends, tmp_path):
    ids = write_dataset(tmp_path, 3, hard_cases=False)
    import_metadata(backends, tmp_path, "1.3.0")
    right = _photos(backends)[ids[0]]
    import_metadata(backends, tmp_path, "1.2.2")  # same files, labelled as an older release
    swapped = _photos(backends)[ids[0]]
    if right["longitude"] is not None and abs(right["longitude"]) <= 90:
        assert (swapped["latitude"], swapped["longitude"]) == (right["longitude"], right["latitude"])
    else:  # a longitude beyond ±90 read as a latitude is impossible: dropped, not stored wrong
        assert swapped["latitude"] is None and swapped["longitude"] == right["latitude"]


def test_a_folder_without_photos_is_an_error_and_writes_nothing(backends, tmp_path):
    (tmp_path / "keywords.tsv000").write_text("photo_id\tkeyword\n")
    with pytest.raises(DatasetError, match="no photos file"):
        import_metadata(backends, tmp_path, "1.3.0")
    assert _count(backends, dataset_photos) == 0
    with pytest.raises(ValueError):
        import_metadata(backends, tmp_path, "1.3.0", sample=0)
