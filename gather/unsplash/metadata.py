"""Import the Unsplash dataset's own metadata into the catalog (dataset_photos, _keywords, _colours).

Memory stays flat in the number of rows: rows stream from the reader and are written in batches, one
transaction each. What a set of all ids would do is done by the database instead:
- "gone": every photo written gets release=<this release>; after a whole import, rows of the dataset
  with another release are marked gone (kept, never deleted); a photo seen again is un-gone.
- a photo's keywords/colours are replaced on their first sight in this import, tracked in a temporary
  table, so a keyword dropped by a newer release disappears whatever order the file lists rows in.
The harvest worker's values (exif, places, colours tables) are never touched here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, String, column, delete, insert, select, table, update

from gather.unsplash.reader import BadRow, Row, find_parts, read
from mosaic.backends import Backends
from mosaic.catalog import documents
from mosaic.catalog.images import now
from mosaic.catalog.rows import upsert
from mosaic.catalog.schema import dataset_colours, dataset_keywords, dataset_photos

DATASET = "unsplash"
BATCH = 1000

# The published latitude and longitude were swapped before 1.3.0 (unsplash/datasets#63).
_SWAPPED_BEFORE = (1, 3, 0)
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


@dataclass
class MetadataResult:
    photos: int = 0  # photo rows written (new or updated)
    new: int = 0  # of which were not in the catalog before
    keywords: int = 0
    colours: int = 0
    bad_rows: int = 0
    gone: int = 0  # photos newly marked gone (absent from this release)

    def as_dict(self) -> dict:
        return asdict(self)


class _Selection:
    """Which photos this import takes: all, the first `limit`, and/or a stable `sample` fraction."""

    def __init__(self, limit: int | None, sample: float | None):
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        if sample is not None and not 0 < sample <= 1:
            raise ValueError("sample must be a fraction in (0, 1]")
        self.limit, self.sample = limit, sample
        self.ids: set[str] | None = set() if limit is not None else None  # at most `limit` ids: the user's bound

    @property
    def whole(self) -> bool:
        return self.limit is None and self.sample is None

    @property
    def full(self) -> bool:
        return self.ids is not None and len(self.ids) >= self.limit

    def take(self, photo_id: str) -> bool:
        if self.sample is not None and not sampled(photo_id, self.sample):
            return False
        if self.ids is not None and photo_id not in self.ids:
            if self.full:
                return False
            self.ids.add(photo_id)
        return True

    def wants(self, photo_id: str) -> bool:
        if self.sample is not None and not sampled(photo_id, self.sample):
            return False
        return self.ids is None or photo_id in self.ids


def sampled(photo_id: str, fraction: float) -> bool:
    """Stable across runs, processes and machines (unlike hash()): re-runs pick the same photos."""
    digest = hashlib.blake2b(photo_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < fraction * 2**64


def import_metadata(backends: Backends, folder, release: str, limit: int | None = None,
                    sample: float | None = None, on_bad_row: Callable[[BadRow], None] | None = None
                    ) -> MetadataResult:
    """Upsert the dataset in `folder` as release `release`; raises DatasetError for a folder without photos.

    `limit` takes the first N photos of the file, `sample` a stable fraction (by a hash of photo_id); either
    one makes the import partial, and a partial import marks nothing gone. Keywords and colours are kept
    for this release's selected photos only. Bad rows are counted, passed to `on_bad_row`, and skipped.
    """
    if not release or len(release) > dataset_photos.c.release.type.length:
        raise ValueError("release must be a short non-empty label, e.g. '1.2.2' or 'lite-2024-01'")
    selection = _Selection(limit, sample)
    parts = find_parts(folder)  # a folder that is not a dataset fails here, before anything is written
    result = MetadataResult()

    def bad(row: BadRow) -> None:
        result.bad_rows += 1
        if on_bad_row is not None:
            on_bad_row(row)

    with backends.catalog.connect() as connection:
        _import_photos(connection, read(folder, "photos"), release, selection, result, bad)
        if selection.whole:  # only a whole release can tell which photos left it
            result.gone = _mark_gone(connection, release)
        if "keywords" in parts:
            result.keywords = _import_children(connection, read(folder, "keywords"), dataset_keywords, _keyword,
                                               release, selection, bad)
        if "colors" in parts:
            result.colours = _import_children(connection, read(folder, "colors"), dataset_colours, _colour,
                                              release, selection, bad)
    return result


# -- photos ------------------------------------------------------------------------------------------


def _import_photos(connection, rows, release, selection, result, bad) -> None:
    swap = _swapped(release)
    batch: dict[str, dict] = {}
    for row in rows:
        if isinstance(row, BadRow):
            bad(row)
            continue
        photo_id = row["photo_id"]
        if not selection.take(photo_id):
            if selection.full:
                break  # the first `limit` photos are in: the rest of the file is not needed
            continue
        values = _photo(row, swap)
        if isinstance(values, BadRow):
            bad(values)
            continue
        batch[photo_id] = values  # a photo listed twice: the later row wins
        if len(batch) >= BATCH:
            _write_photos(connection, batch, release, result)
            batch = {}
    if batch:
        _write_photos(connection, batch, release, result)


def _photo(row: Row, swap: bool) -> dict | BadRow:
    if len(row["photo_id"]) > dataset_photos.c.photo_id.type.length:
        return BadRow(row.file, row.line, "photo_id too long")
    latitude, longitude = row["photo_location_latitude"], row["photo_location_longitude"]
    if swap:
        latitude, longitude = longitude, latitude
    name = " ".join(part.strip() for part in (row["photographer_first_name"], row["photographer_last_name"]) if part)
    values = {
        "url": row["photo_image_url"],
        "page_url": row["photo_url"],
        "submitted_at": row["photo_submitted_at"],
        "width": row["photo_width"],
        "height": row["photo_height"],
        "aspect_ratio": row["photo_aspect_ratio"],
        "description": row["photo_description"],
        "ai_description": row["ai_description"],
        "photographer_username": row["photographer_username"],
        "photographer_name": name or None,
        "exif_make": row["exif_camera_make"],
        "exif_model": row["exif_camera_model"],
        "exif_iso": row["exif_iso"],
        "exif_aperture": _loose_number(row["exif_aperture_value"]),
        "exif_focal_length": _loose_number(row["exif_focal_length"]),
        "exif_exposure_time": row["exif_exposure_time"],
        "location_name": row["photo_location_name"],
        "latitude": _within(latitude, 90),
        "longitude": _within(longitude, 180),
        "country": row["photo_location_country"],
        "city": row["photo_location_city"],
        "landmark": row["ai_primary_landmark_name"],
        "landmark_latitude": _within(row["ai_primary_landmark_latitude"], 90),
        "landmark_longitude": _within(row["ai_primary_landmark_longitude"], 180),
        "blur_hash": row["blur_hash"],
        "views": row["stats_views"],
        "downloads": row["stats_downloads"],
    }
    return _fit(dataset_photos, values)


_PHOTO_COLUMNS = [c.name for c in dataset_photos.c if c.name not in ("dataset", "photo_id", "image_id")]


def _write_photos(connection: Connection, batch: dict[str, dict], release: str, result: MetadataResult) -> None:
    stamp = now()
    rows = [{"dataset": DATASET, "photo_id": photo_id, **values, "release": release, "gone_at": None,
             "updated_at": stamp} for photo_id, values in batch.items()]
    with connection.begin():
        known = len(connection.scalars(
            select(dataset_photos.c.photo_id).where(dataset_photos.c.dataset == DATASET,
                                                    dataset_photos.c.photo_id.in_(list(batch)))).all())
        # image_id is left alone: a photo already downloaded stays linked to its image.
        upsert(connection, dataset_photos, rows, [dataset_photos.c.dataset, dataset_photos.c.photo_id],
               lambda excluded: {name: excluded[name] for name in _PHOTO_COLUMNS})
    result.photos += len(rows)
    result.new += len(rows) - known


def _mark_gone(connection: Connection, release: str) -> int:
    with connection.begin():
        marked = connection.execute(
            update(dataset_photos)
            .where(dataset_photos.c.dataset == DATASET, dataset_photos.c.gone_at.is_(None),
                   (dataset_photos.c.release != release) | dataset_photos.c.release.is_(None))
            .values(gone_at=now())
        )
    return marked.rowcount


# -- keywords and colours ------------------------------------------------------------------------------

_SEEN = table("mosaic_unsplash_seen", column("photo_id"))


def _import_children(connection, rows, target, convert, release, selection, bad) -> int:
    """Replace the children of this release's selected photos; rows of other photos are skipped."""
    keys = [c.name for c in target.primary_key.columns]
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_SEEN.name}")
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {_SEEN.name} (photo_id VARCHAR(64) PRIMARY KEY)")
    connection.commit()
    written = 0
    try:
        batch: dict[tuple, dict] = {}
        for row in rows:
            if isinstance(row, BadRow):
                bad(row)
                continue
            if not selection.wants(row["photo_id"]):
                continue
            values = convert(row)
            if isinstance(values, BadRow):
                bad(values)
                continue
            values["dataset"] = DATASET
            batch[tuple(values[key] for key in keys)] = values  # a pair listed twice: the later row wins
            if len(batch) >= BATCH:
                written += _write_children(connection, target, batch, keys, release)
                batch = {}
        if batch:
            written += _write_children(connection, target, batch, keys, release)
    finally:
        connection.rollback()
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_SEEN.name}")
        connection.commit()
    return written


def _write_children(connection: Connection, target, batch: dict[tuple, dict], keys, release: str) -> int:
    ids = list({values["photo_id"] for values in batch.values()})
    with connection.begin():
        # Only photos of this release: a keyword of a photo whose row was bad (or absent) is not kept.
        known = set(connection.scalars(
            select(dataset_photos.c.photo_id).where(dataset_photos.c.dataset == DATASET,
                                                    dataset_photos.c.release == release,
                                                    dataset_photos.c.photo_id.in_(ids))))
        first_sight = known - set(connection.scalars(select(_SEEN.c.photo_id).where(_SEEN.c.photo_id.in_(known))))
        if first_sight:
            connection.execute(delete(target).where(target.c.dataset == DATASET,
                                                    target.c.photo_id.in_(first_sight)))
            connection.execute(insert(_SEEN), [{"photo_id": photo_id} for photo_id in first_sight])
        rows = [values for values in batch.values() if values["photo_id"] in known]
        if rows:
            update_columns = [c.name for c in target.c if c.name not in keys]
            upsert(connection, target, rows, [target.c[key] for key in keys],
                   lambda excluded: {name: excluded[name] for name in update_columns})
    return len(rows)


def _keyword(row: Row) -> dict | BadRow:
    confidences = [c for c in (row["ai_service_1_confidence"], row["ai_service_2_confidence"]) if c is not None]
    return _fit(dataset_keywords, {
        "photo_id": row["photo_id"],
        "keyword": row["keyword"].strip(),
        "confidence": max(confidences) if confidences else None,
        "suggested_by_user": row["suggested_by_user"],
    })


def _colour(row: Row) -> dict | BadRow:
    match = _HEX.fullmatch(row["hex"].strip())
    if not match:
        return BadRow(row.file, row.line, f"bad colour hex {row['hex'][:20]!r}")
    digits = match[1].lower()
    rgb = [row[name] if row[name] is not None else int(digits[i:i + 2], 16)
           for name, i in (("red", 0), ("green", 2), ("blue", 4))]
    return _fit(dataset_colours, {
        "photo_id": row["photo_id"], "hex": f"#{digits}", "red": rgb[0], "green": rgb[1], "blue": rgb[2],
        "keyword": row["keyword"], "coverage": row["ai_coverage"], "score": row["ai_score"],
    })


# -- downloads -----------------------------------------------------------------------------------------


def photo_downloads(backends: Backends, release: str, batch: int = BATCH) -> Iterator[tuple[str, str]]:
    """(photo_id, url) of this release's photos not yet downloaded (image_id NULL), by photo_id.

    Pages come from the database one at a time, each on a short-lived connection, so the caller may
    write (link_image) between items and memory stays flat.
    """
    last = ""
    while True:
        with backends.catalog.connect() as connection:
            page = connection.execute(
                select(dataset_photos.c.photo_id, dataset_photos.c.url)
                .where(dataset_photos.c.dataset == DATASET, dataset_photos.c.release == release,
                       dataset_photos.c.image_id.is_(None), dataset_photos.c.gone_at.is_(None),
                       dataset_photos.c.url.is_not(None), dataset_photos.c.photo_id > last)
                .order_by(dataset_photos.c.photo_id)
                .limit(batch)
            ).all()
        yield from ((photo_id, url) for photo_id, url in page)
        if len(page) < batch:
            return
        last = page[-1][0]


def link_image(connection: Connection, photo_id: str, image_id: str) -> bool:
    """Record that `photo_id`'s original is stored as `image_id`; False if the photo is unknown."""
    linked = connection.execute(
        update(dataset_photos)
        .where(dataset_photos.c.dataset == DATASET, dataset_photos.c.photo_id == photo_id)
        .values(image_id=image_id, updated_at=now())
    )
    if linked.rowcount:
        documents.rebuild(connection, [image_id])  # its description and keywords, searchable by words
    return linked.rowcount > 0


# -- helpers -------------------------------------------------------------------------------------------


def _swapped(release: str) -> bool:
    match = _VERSION.search(release)
    return bool(match) and tuple(int(part) for part in match.groups()) < _SWAPPED_BEFORE


def _loose_number(text: str | None) -> float | None:
    """EXIF text as published ("f/2.8", "50mm", "4,5"): the number in it, or None; never a bad row."""
    if not text:
        return None
    match = _NUMBER.search(text.replace(",", "."))
    return float(match[0]) if match else None


def _within(value: float | None, bound: float) -> float | None:
    return value if value is not None and -bound <= value <= bound else None


_LENGTHS = {
    target.name: {c.name: c.type.length for c in target.c if isinstance(c.type, String) and c.type.length}
    for target in (dataset_photos, dataset_keywords, dataset_colours)
}


def _fit(target, values: dict) -> dict:
    """Cut text to its column's length: PostgreSQL refuses an over-long value (and the whole batch with it)."""
    for name, length in _LENGTHS[target.name].items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > length:
            values[name] = value[:length]
    return values
