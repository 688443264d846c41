"""The Unsplash dataset reader on the published format's hard cases (generated data, labelled as such)."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
from datetime import datetime

import pytest

from gather.unsplash import reader
from gather.unsplash.reader import BadRow, DatasetError, find_parts, read
from tests.unsplash_fixture import BAD_IDS, BAD_PHOTO_ROWS, KEYWORDS_PER_PHOTO, PHOTO_COLUMNS, write_dataset

HEADER = "\t".join(PHOTO_COLUMNS) + "\n"


def _photo_line(photo_id: str, **values) -> str:
    """One photos record as COPY … CSV writes it (quoted only where needed)."""
    row = {column: "" for column in PHOTO_COLUMNS}
    row.update({"photo_id": photo_id, "photo_width": "6000", "photo_height": "4000",
                "photo_submitted_at": "2020-05-03 16:36:56.108", **values})
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerow([row[c] for c in PHOTO_COLUMNS])
    return out.getvalue()


def _split(results):
    rows = [r for r in results if not isinstance(r, BadRow)]
    bad = [r for r in results if isinstance(r, BadRow)]
    return rows, bad


def test_hard_cases_are_read_and_each_bad_row_is_reported_where_it_starts(tmp_path):
    multi = _photo_line("multiline01", photo_description='a\ttab, "quotes",\nnew line\nand a third')
    assert multi.count("\n") == 3  # one record on three physical lines
    (tmp_path / "photos.tsv000").write_text(HEADER + _photo_line("first000001") + multi + _photo_line("after000001"))
    bad_bytes = _photo_line("badbytes001", photo_description="caf\u00e9").encode("latin-1")
    (tmp_path / "photos.tsv001").write_bytes(
        HEADER.encode()
        + b"toofew00001\thttps://unsplash.com/photos/toofew00001\n"  # line 2
        + _photo_line("badnumber01", photo_width="wide").encode()  # line 3
        + _photo_line("baddate0001", photo_submitted_at="yesterday").encode()  # line 4
        + bad_bytes  # line 5
        + _photo_line("").encode()  # line 6: empty photo_id
        + _photo_line("nul00000001", photo_description="a\x00b").encode()  # line 7
        + _photo_line("last0000001", photo_featured="t", exif_iso="400", photo_location_latitude="48.85").encode()
    )
    rows, bad = _split(list(read(tmp_path, "photos")))

    assert [r["photo_id"] for r in rows] == ["first000001", "multiline01", "after000001", "last0000001"]
    assert [(r.file, r.line) for r in rows] == [("photos.tsv000", 2), ("photos.tsv000", 3), ("photos.tsv000", 6),
                                                ("photos.tsv001", 8)]
    assert rows[1]["photo_description"] == 'a\ttab, "quotes",\nnew line\nand a third'
    assert [(b.file, b.line) for b in bad] == [("photos.tsv001", line) for line in (2, 3, 4, 5, 6, 7)]
    reasons = [b.reason for b in bad]
    assert "2 columns" in reasons[0] and "31" in reasons[0]
    assert reasons[1] == "bad number in photo_width: 'wide'"
    assert reasons[2] == "bad date in photo_submitted_at: 'yesterday'"
    assert reasons[3] == "non-UTF-8 bytes"
    assert reasons[4] == "empty photo_id"
    assert reasons[5] == "NUL byte"
    assert str(bad[0]).startswith("photos.tsv001:2: ")


def test_values_are_typed_by_the_published_schema(tmp_path):
    (tmp_path / "photos.tsv").write_text(HEADER + _photo_line(
        "typed000001", photo_featured="t", photo_aspect_ratio="1.50", exif_iso="400.0", stats_views="12345678901",
        photo_location_latitude="-33.86", photo_submitted_at="2020-05-03 18:36:56.5+02", exif_aperture_value="f/2.8"))
    (row,) = read(tmp_path, "photos")
    assert row["photo_width"] == 6000 and row["exif_iso"] == 400 and row["stats_views"] == 12345678901
    assert row["photo_aspect_ratio"] == 1.5 and row["photo_location_latitude"] == -33.86
    assert row["photo_featured"] is True
    assert row["photo_submitted_at"] == datetime(2020, 5, 3, 16, 36, 56, 500000)  # naive UTC
    assert row["exif_aperture_value"] == "f/2.8"  # published as text: kept as text
    assert row["photo_description"] is None and row["blur_hash"] is None  # empty is NULL


def test_parts_are_read_in_numeric_order_with_a_header_each(tmp_path):
    for number in (10, 9, 2):
        (tmp_path / f"photos.tsv{number}").write_text(HEADER + _photo_line(f"part{number:07d}"))
    assert [p.name for p in find_parts(tmp_path)["photos"]] == ["photos.tsv2", "photos.tsv9", "photos.tsv10"]
    assert [r["photo_id"] for r in read(tmp_path, "photos")] == ["part0000002", "part0000009", "part0000010"]


@pytest.mark.parametrize("extension", ["tsv", "csv"])
def test_a_generated_dataset_reads_back_whole(tmp_path, extension):
    ids = write_dataset(tmp_path, 50, parts=3, extension=extension)
    assert sorted(p.name for p in find_parts(tmp_path)["photos"]) == [f"photos.{extension}00{k}" for k in range(3)]
    rows, bad = _split(list(read(tmp_path, "photos")))
    assert [r["photo_id"] for r in rows] == ids
    assert len(bad) == BAD_PHOTO_ROWS
    # Each bad row is reported at the physical line where its record starts, found here by a plain byte scan.
    last = tmp_path / f"photos.{extension}002"
    starts = {line.split(b"\t")[0].decode(): n for n, line in enumerate(last.read_bytes().split(b"\n"), 1)}
    assert [(b.file, b.line) for b in bad] == [(last.name, starts[photo_id]) for photo_id in BAD_IDS]
    keywords, bad_keywords = _split(list(read(tmp_path, "keywords")))
    assert len(keywords) == KEYWORDS_PER_PHOTO * len(ids) and not bad_keywords
    assert all(isinstance(k["suggested_by_user"], bool) for k in keywords)
    assert any(k["keyword"] == 'rock "n" roll' for k in keywords)


def test_headers_decide_the_columns_of_older_and_newer_releases(tmp_path):
    old = [c for c in PHOTO_COLUMNS if c != "blur_hash"]  # before 1.2.0
    (tmp_path / "photos.csv000").write_text("\t".join(old) + "\tsomething_new\n" + "\t".join(
        ["old00000001" if c == "photo_id" else "" for c in old]) + "\tfuture\n")
    (row,) = read(tmp_path, "photos")
    assert row["blur_hash"] is None and row["something_new"] == "future"


def test_crlf_bom_and_concatenated_headers_are_tolerated(tmp_path):
    body = HEADER + _photo_line("one00000001") + HEADER + _photo_line("two00000001")
    (tmp_path / "photos.tsv").write_bytes(b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode())
    rows, bad = _split(list(read(tmp_path, "photos")))
    assert [r["photo_id"] for r in rows] == ["one00000001", "two00000001"] and not bad
    assert [r.line for r in rows] == [2, 4]


def test_a_part_whose_header_is_not_a_photos_header_is_reported_and_skipped(tmp_path):
    (tmp_path / "photos.tsv000").write_text("id\turl\nabc\thttp://x\n")
    (tmp_path / "photos.tsv001").write_text(HEADER + _photo_line("good0000001"))
    rows, bad = _split(list(read(tmp_path, "photos")))
    assert [r["photo_id"] for r in rows] == ["good0000001"]
    assert [(b.file, b.line) for b in bad] == [("photos.tsv000", 1)] and "photo_id" in bad[0].reason


def test_an_oversized_field_is_a_bad_row_and_reading_goes_on(tmp_path, monkeypatch):
    previous = csv.field_size_limit()
    monkeypatch.setattr(reader, "FIELD_SIZE_LIMIT", 1000)
    csv.field_size_limit(1000)
    try:
        (tmp_path / "photos.tsv").write_text(
            HEADER + _photo_line("huge0000001", photo_description="x" * 5000) + _photo_line("next0000001"))
        rows, bad = _split(list(read(tmp_path, "photos")))
    finally:
        csv.field_size_limit(previous)
    assert [r["photo_id"] for r in rows] == ["next0000001"]
    assert [(b.line, "unreadable" in b.reason) for b in bad] == [(2, True)]


def test_folder_errors_are_clear_and_other_files_are_optional(tmp_path):
    with pytest.raises(DatasetError, match="no photos file"):
        find_parts(tmp_path)
    with pytest.raises(DatasetError, match="not a folder"):
        find_parts(tmp_path / "missing")
    (tmp_path / "photos.tsv000").write_text(HEADER + _photo_line("only0000001"))
    assert list(read(tmp_path, "keywords")) == []  # no keywords file: nothing, not an error
    (tmp_path / "photos.csv000").write_text(HEADER)
    with pytest.raises(DatasetError, match="one release"):
        list(read(tmp_path, "photos"))


@pytest.fixture(scope="module")
def big_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unsplash-100k")
    started = time.perf_counter()
    ids = write_dataset(folder, 100_000, parts=2)
    print(f"generated 100k photos (+ keywords, colours, …) in {time.perf_counter() - started:.1f} s")
    return folder, ids


def test_reading_100k_rows_streams_in_flat_memory(big_dataset):
    folder, ids = big_dataset
    size = sum(p.stat().st_size for p in find_parts(folder)["photos"])
    started = time.perf_counter()
    assert sum(1 for r in read(folder, "photos") if not isinstance(r, BadRow)) == len(ids)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        count = sum(1 for _ in read(folder, "photos"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"100k photos ({size / 2**20:.0f} MB): {seconds:.2f} s, tracemalloc peak {peak / 2**20:.2f} MB")
    assert count == len(ids) + BAD_PHOTO_ROWS
    assert size > 20 * 2**20 and peak < 5 * 2**20  # a whole file in memory would be several times the file size
