"""Stream the Unsplash Lite/Full dataset folder as published by unsplash/datasets.

Five tab-separated files (photos, keywords, collections, conversions, colors), each possibly split in
numbered parts (`photos.tsv000`, `photos.csv001`, or unsplit `photos.tsv`), a header row per part,
PostgreSQL `COPY … CSV` quoting (fields with tabs, quotes or newlines are quoted, quotes doubled) and
NULL written as an empty field. Full is ~80 GB: nothing here holds more than one record at a time.

Rows come out typed by the published schema (`how-to/psql/create_tables.sql`): numbers as int/float,
timestamps as naive UTC datetimes, booleans as bool, the rest as str, empty as None. Columns are found
by header name, so older releases (fewer columns) and newer ones (extra columns, kept as str) both read.
A malformed record becomes a `BadRow` and the iteration goes on.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

KINDS = ("photos", "keywords", "collections", "conversions", "colors")

# A runaway quote must not swallow gigabytes: a bounded (but generous) field turns it into a bad row.
FIELD_SIZE_LIMIT = 64 * 1024 * 1024

_PART = re.compile(r"^(?P<kind>[a-z]+)\.(?P<ext>tsv|csv)(?P<number>\d*)$", re.IGNORECASE)


class DatasetError(Exception):
    """The folder cannot be read as a dataset at all (as opposed to one bad row)."""


@dataclass(frozen=True)
class BadRow:
    file: str  # the part's file name, e.g. photos.tsv001
    line: int  # physical line (1-based) where the record starts in that part
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class Row(dict):
    """One typed record, keyed by the published column names, remembering where it was read."""

    __slots__ = ("file", "line")


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        number = float(value)  # "4272.0" is an integer written by a float-minded exporter
        if not number.is_integer():
            raise
        return int(number)


def _real(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _timestamp(value: str) -> datetime:
    stamp = datetime.fromisoformat(value.strip())
    if stamp.tzinfo is not None:  # the catalog's dataset dates are naive UTC
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp


_BOOLEANS = {"t": True, "true": True, "1": True, "y": True, "yes": True,
             "f": False, "false": False, "0": False, "n": False, "no": False}


def _boolean(value: str) -> bool:
    try:
        return _BOOLEANS[value.strip().lower()]
    except KeyError:
        raise ValueError("not a boolean") from None


_WHAT = {_integer: "number", _real: "number", _timestamp: "date", _boolean: "boolean"}

# Published types; a column missing here (a newer release's) is kept as text. None = text.
_T, _I, _R, _D, _B = None, _integer, _real, _timestamp, _boolean
COLUMNS: dict[str, dict[str, Callable | None]] = {
    "photos": {
        "photo_id": _T, "photo_url": _T, "photo_image_url": _T, "photo_submitted_at": _D, "photo_featured": _B,
        "photo_width": _I, "photo_height": _I, "photo_aspect_ratio": _R, "photo_description": _T,
        "photographer_username": _T, "photographer_first_name": _T, "photographer_last_name": _T,
        # Aperture, focal length and exposure are published as text ("1/250"): typed later, leniently.
        "exif_camera_make": _T, "exif_camera_model": _T, "exif_iso": _I, "exif_aperture_value": _T,
        "exif_focal_length": _T, "exif_exposure_time": _T, "photo_location_name": _T,
        "photo_location_latitude": _R, "photo_location_longitude": _R, "photo_location_country": _T,
        "photo_location_city": _T, "stats_views": _I, "stats_downloads": _I, "ai_description": _T,
        "ai_primary_landmark_name": _T, "ai_primary_landmark_latitude": _R, "ai_primary_landmark_longitude": _R,
        "ai_primary_landmark_confidence": _T, "blur_hash": _T,
    },
    "keywords": {
        "photo_id": _T, "keyword": _T, "ai_service_1_confidence": _R, "ai_service_2_confidence": _R,
        "suggested_by_user": _B, "user_suggestion_source": _T, "suggested_by_ai_service_3": _B,
        "confirmed_by_ai_service_3": _B,
    },
    # collection_id became text in 1.2.0 (topics have string ids).
    "collections": {
        "photo_id": _T, "collection_id": _T, "collection_title": _T, "photo_collected_at": _D, "collection_type": _T,
    },
    "conversions": {
        "converted_at": _D, "conversion_type": _T, "keyword": _T, "photo_id": _T, "anonymous_user_id": _T,
        "conversion_country": _T, "device_type": _T, "search_orientation_filter": _T, "search_ordering": _T,
    },
    "colors": {
        "photo_id": _T, "hex": _T, "red": _I, "green": _I, "blue": _I, "keyword": _T, "ai_coverage": _R,
        "ai_score": _R,
    },
}

# Columns a header must name and a row must fill, or the row means nothing.
REQUIRED = {
    "photos": ("photo_id",),
    "keywords": ("photo_id", "keyword"),
    "collections": ("photo_id", "collection_id"),
    "conversions": ("photo_id",),
    "colors": ("photo_id", "hex"),
}


def find_parts(folder: str | os.PathLike) -> dict[str, list[Path]]:
    """The part files of each kind, in numeric order; raises DatasetError if there is no photos file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder")
    found: dict[str, dict[str, list[tuple[int, Path]]]] = {}
    for entry in os.scandir(folder):
        match = _PART.match(entry.name)
        if not match or match["kind"].lower() not in KINDS or not entry.is_file():
            continue
        kind, number = match["kind"].lower(), match["number"]
        # Unsplit and numbered files side by side would be the same rows twice.
        flavour = f".{match['ext'].lower()}" + ("NNN" if number else "")
        found.setdefault(kind, {}).setdefault(flavour, []).append((int(number) if number else -1, Path(entry.path)))
    parts = {}
    for kind, flavours in found.items():
        if len(flavours) > 1:
            names = ", ".join(f"{kind}{flavour}" for flavour in sorted(flavours))
            raise DatasetError(f"{folder} holds {names}: keep one release (one file set) per folder")
        (numbered,) = flavours.values()
        parts[kind] = [path for _, path in sorted(numbered, key=lambda item: item[0])]
    if "photos" not in parts:
        raise DatasetError(f"{folder} has no photos file (photos.tsv, photos.tsv000, photos.csv000, …)")
    return parts


def read(folder: str | os.PathLike, kind: str) -> Iterator[Row | BadRow]:
    """Typed rows of one kind across its parts; nothing (not an error) if that kind is absent."""
    if kind not in KINDS:
        raise ValueError(f"unknown dataset file kind {kind!r}; one of {KINDS}")
    for path in find_parts(folder).get(kind, []):
        yield from read_part(path, kind)


class _Lines:
    """Decodes a binary file line by line, noting what was wrong with any line since the last look.

    Lines are split on b"\\n" only, so line numbers are the ones `wc -l`, editors and `sed -n` agree on.
    """

    def __init__(self, raw):
        self.raw = raw
        self.problem: str | None = None

    def __iter__(self) -> Iterator[str]:
        first = True
        for line in self.raw:
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                self.problem = "non-UTF-8 bytes"
                text = line.decode("utf-8", errors="replace")
            if "\x00" in text:  # PostgreSQL refuses NUL in text: it would fail a whole batch later
                self.problem = "NUL byte"
            if first:
                text, first = text.removeprefix("\ufeff"), False
            yield text

    def take_problem(self) -> str | None:
        problem, self.problem = self.problem, None
        return problem


def read_part(path: Path, kind: str) -> Iterator[Row | BadRow]:
    """One part file: its first record is its header."""
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)
    name, types, required = path.name, COLUMNS[kind], REQUIRED[kind]
    header: list[str] | None = None
    with open(path, "rb") as raw:
        lines = _Lines(raw)
        records = csv.reader(lines, delimiter="\t", quotechar='"', doublequote=True)
        start = 1
        while True:
            try:
                fields = next(records)
            except StopIteration:
                return
            except csv.Error as exc:
                lines.take_problem()
                yield BadRow(name, start, f"unreadable record: {exc}")
                start = records.line_num + 1
                continue
            line, start = start, records.line_num + 1
            problem = lines.take_problem()
            if not fields:  # a blank line
                continue
            if header is None:
                header = [field.strip() for field in fields]
                lacking = [column for column in required if column not in header]
                if lacking:
                    yield BadRow(name, line, f"header lacks {', '.join(lacking)}: not a {kind} file; part skipped")
                    return
                plan = [(column, types.get(column)) for column in header]
                absent = [column for column in types if column not in header]
                continue
            if problem:
                yield BadRow(name, line, problem)
                continue
            if len(fields) != len(header):
                yield BadRow(name, line, f"{len(fields)} columns where the header has {len(header)}")
                continue
            if fields[0].strip() == header[0] and [field.strip() for field in fields] == header:
                continue  # parts concatenated with their headers (`cat photos.tsv*`): not data, not an error
            row = Row.fromkeys(absent)
            column = ""
            try:
                for (column, convert), value in zip(plan, fields, strict=True):
                    row[column] = None if value == "" else value if convert is None else convert(value)
            except (ValueError, OverflowError):
                what = _WHAT.get(dict(plan)[column], "value")
                yield BadRow(name, line, f"bad {what} in {column}: {value[:60]!r}")
                continue
            empty = [column for column in required if not row[column] or not row[column].strip()]
            if empty:
                yield BadRow(name, line, f"empty {', '.join(empty)}")
                continue
            row.file, row.line = name, line
            yield row
