"""Generate an Unsplash dataset folder in the published format (generated data, labelled as such).

Five files (photos, keywords, collections, conversions, colors), each split in `parts` numbered parts
(`photos.tsv000`, …) with a header per part, tab-separated with PostgreSQL `COPY … CSV` quoting and
NULL as an empty field, as unsplash/datasets publishes them. Photo ids depend only on (seed, index) and
row i's values only on the rows before it, so `rows=N + 1` with the same seed is the same N photos plus
one new one (an incremental release).

With `hard_cases` the valid rows include quoted tabs, newlines, doubled quotes, CRLF, non-ASCII text and
empty optional fields, and the photos file's last part gets `BAD_PHOTO_ROWS` malformed records (ids in
`BAD_IDS`: too few columns, a bad number, a bad date, non-UTF-8 bytes), whose ids are not returned.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

PHOTO_COLUMNS = (
    "photo_id", "photo_url", "photo_image_url", "photo_submitted_at", "photo_featured", "photo_width",
    "photo_height", "photo_aspect_ratio", "photo_description", "photographer_username", "photographer_first_name",
    "photographer_last_name", "exif_camera_make", "exif_camera_model", "exif_iso", "exif_aperture_value",
    "exif_focal_length", "exif_exposure_time", "photo_location_name", "photo_location_latitude",
    "photo_location_longitude", "photo_location_country", "photo_location_city", "stats_views", "stats_downloads",
    "ai_description", "ai_primary_landmark_name", "ai_primary_landmark_latitude", "ai_primary_landmark_longitude",
    "ai_primary_landmark_confidence", "blur_hash",
)
KEYWORD_COLUMNS = ("photo_id", "keyword", "ai_service_1_confidence", "ai_service_2_confidence", "suggested_by_user")
COLLECTION_COLUMNS = ("photo_id", "collection_id", "collection_title", "photo_collected_at")
CONVERSION_COLUMNS = ("converted_at", "conversion_type", "keyword", "photo_id", "anonymous_user_id",
                      "conversion_country")
COLOR_COLUMNS = ("photo_id", "hex", "red", "green", "blue", "keyword", "ai_coverage", "ai_score")

KEYWORDS_PER_PHOTO = 3
COLOURS_PER_PHOTO = 2
BAD_IDS = ("badcolumns1", "badnumber01", "baddate0001", "badbytes001")
BAD_PHOTO_ROWS = len(BAD_IDS)

_WORDS = ("mountain", "sea", "forest", "city", "night", "dog", "flower", "snow", "desert", "bridge", "sky", "road")
_CAMERAS = (("Canon", "EOS 5D Mark IV"), ("NIKON CORPORATION", "NIKON D750"), ("SONY", "ILCE-7M3"),
            ("Apple", "iPhone 12 Pro"), ("FUJIFILM", "X-T3"))
_PLACES = (("Paris, France", 48.8566, 2.3522, "France", "Paris"), ("Kyoto, Japan", 35.0116, 135.7681, "Japan", "Kyoto"),
           ("Banff, Canada", 51.1784, -115.5708, "Canada", "Banff"))
_COLOURS = (("0c0c0c", "black"), ("f5f5dc", "beige"), ("4682b4", "steelblue"), ("228b22", "forestgreen"),
            ("d2691e", "chocolate"), ("87ceeb", "skyblue"))
_EPOCH = datetime(2014, 1, 1)


def photo_id(seed: int, index: int) -> str:
    """11 URL-safe characters like Unsplash's, fixed by (seed, index)."""
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode()[:11]


def _pick(rng: random.Random, options):
    return options[int(rng.random() * len(options))]  # choice() costs 3x more, and 100k rows add up


def _below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _photo(rng: random.Random, seed: int, index: int, photo_url, hard: bool) -> dict:
    pid = photo_id(seed, index)
    width, height = _pick(rng, ((6000, 4000), (4000, 6000), (5472, 3648), (3024, 4032), (4000, 4000)))
    make, model = _pick(rng, _CAMERAS)
    place = _pick(rng, _PLACES)
    word = _pick(rng, _WORDS)
    submitted = _EPOCH + timedelta(seconds=_below(rng, 10 * 365 * 86400), microseconds=_below(rng, 10**6))
    row = {
        "photo_id": pid,
        "photo_url": f"https://unsplash.com/photos/{pid}",
        "photo_image_url": photo_url(pid) if photo_url else f"https://images.unsplash.com/photo-{pid}",
        "photo_submitted_at": submitted.isoformat(sep=" "),
        "photo_featured": _pick(rng, "tf"),
        "photo_width": width, "photo_height": height, "photo_aspect_ratio": f"{width / height:.2f}",
        "photo_description": f"A {word} at dawn",
        "photographer_username": f"user{index}", "photographer_first_name": _pick(rng, ("Ana", "Li", "Sam")),
        "photographer_last_name": _pick(rng, ("Silva", "Chen", "")),
        "exif_camera_make": make, "exif_camera_model": model, "exif_iso": _pick(rng, (100, 200, 400, 1600)),
        "exif_aperture_value": _pick(rng, ("1.8", "2.8", "5.6", "8.0")),
        "exif_focal_length": _pick(rng, ("24.0", "35.0", "50.0", "85.0")),
        "exif_exposure_time": _pick(rng, ("1/250", "1/60", "1/4000", "2")),
        "photo_location_name": place[0], "photo_location_latitude": place[1], "photo_location_longitude": place[2],
        "photo_location_country": place[3], "photo_location_city": place[4],
        "stats_views": _below(rng, 10**7), "stats_downloads": _below(rng, 10**5),
        "ai_description": f"a {word} under a cloudy sky",
        "ai_primary_landmark_name": "", "ai_primary_landmark_latitude": "", "ai_primary_landmark_longitude": "",
        "ai_primary_landmark_confidence": "",
        "blur_hash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
    }
    if hard:
        case = index % 8
        if case == 1:
            row["photo_description"] = 'Tabs\there, a "quoted" word,\nand a second line'
        elif case == 2:
            row["photo_description"] = "Café in Zürich ☕ — naïve façade 🏔"
            row["photographer_first_name"] = "Zoë"
        elif case == 3:  # nothing optional: no camera, no place, no stats
            for column in ("photo_description", "exif_camera_make", "exif_camera_model", "exif_iso",
                           "exif_aperture_value", "exif_focal_length", "exif_exposure_time", "photo_location_name",
                           "photo_location_latitude", "photo_location_longitude", "photo_location_country",
                           "photo_location_city", "ai_description", "blur_hash", "photographer_last_name"):
                row[column] = ""
        elif case == 4:
            row["photo_description"] = "Windows line end\r\ninside\tthe field"
            row["ai_primary_landmark_name"], row["ai_primary_landmark_latitude"] = "Eiffel Tower", 48.8584
            row["ai_primary_landmark_longitude"], row["ai_primary_landmark_confidence"] = 2.2945, "0.93"
        elif case == 5:
            row["photo_description"] = '"Starts and ends with quotes"'
    return row


def _children(rng: random.Random, index: int, pid: str, hard: bool):
    words = rng.sample(_WORDS, KEYWORDS_PER_PHOTO)
    if hard and index % 8 == 1:
        words[0] = 'rock "n" roll'
    keywords = [(pid, word, f"{rng.uniform(40, 100):.4f}", f"{rng.uniform(40, 100):.4f}" if rng.random() < 0.7 else "",
                 _pick(rng, "tf")) for word in words]
    colours = []
    for hex_, name in rng.sample(_COLOURS, COLOURS_PER_PHOTO):
        red, green, blue = (int(hex_[i:i + 2], 16) for i in (0, 2, 4))
        colours.append((pid, hex_, red, green, blue, name, f"{rng.random() / 2:.6f}", f"{rng.random():.6f}"))
    collections = [(pid, str(1 + _below(rng, 10**7)), f"{words[0].title()} collection",
                    (_EPOCH + timedelta(days=_below(rng, 3650))).isoformat(sep=" "))]
    conversions = [((_EPOCH + timedelta(days=_below(rng, 3650))).isoformat(sep=" "), "download", words[1], pid,
                    f"{rng.getrandbits(64):016x}", _pick(rng, ("US", "FR", "JP", "")))]
    return keywords, colours, collections, conversions


def _bad_photo_rows(good: dict) -> list[bytes]:
    """Malformed photo records, as raw bytes (one is not UTF-8)."""
    def encoded(values: dict, encoding: str = "utf-8") -> bytes:
        out = io.StringIO()
        csv.writer(out, delimiter="\t", lineterminator="\n").writerow([values[c] for c in PHOTO_COLUMNS])
        return out.getvalue().encode(encoding)

    too_few = io.StringIO()
    csv.writer(too_few, delimiter="\t", lineterminator="\n").writerow([BAD_IDS[0], "https://unsplash.com/photos/x"])
    return [
        too_few.getvalue().encode(),
        encoded({**good, "photo_id": BAD_IDS[1], "photo_width": "wide"}),
        encoded({**good, "photo_id": BAD_IDS[2], "photo_submitted_at": "yesterday"}),
        encoded({**good, "photo_id": BAD_IDS[3], "photo_description": "caf\u00e9 in latin-1"}, "latin-1"),
    ]


class _Parts:
    """One kind's part files: rows go to part `k` for the k-th slice of the photos."""

    def __init__(self, folder: Path, kind: str, extension: str, parts: int, header):
        self.files = [open(folder / f"{kind}.{extension}{k:03d}", "w", encoding="utf-8", newline="")
                      for k in range(parts)]
        self.writers = [csv.writer(f, delimiter="\t", lineterminator="\n") for f in self.files]
        for writer in self.writers:
            writer.writerow(header)

    def close(self):
        for f in self.files:
            f.close()


def write_dataset(folder, rows: int, photo_url: Callable[[str], str] | None = None, parts: int = 2,
                  extension: str = "tsv", hard_cases: bool = True, seed: int = 0, *,
                  edit: Callable[[dict], dict | None] | None = None) -> list[str]:
    """Write the five files into `folder`; return the ids of the valid photos written, in file order.

    `edit(row)` may change a photo row (values by published column name) or return None to leave the
    photo (and its keywords, colours, …) out: how a test makes the next release of a dataset.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    assert parts >= 1 and extension in ("tsv", "csv")
    photos = _Parts(folder, "photos", extension, parts, PHOTO_COLUMNS)
    others = {kind: _Parts(folder, kind, extension, parts, header) for kind, header in
              (("keywords", KEYWORD_COLUMNS), ("colors", COLOR_COLUMNS), ("collections", COLLECTION_COLUMNS),
               ("conversions", CONVERSION_COLUMNS))}
    ids: list[str] = []
    row = None
    rng = random.Random(seed)
    try:
        for index in range(rows):
            part = index * parts // rows
            row = _photo(rng, seed, index, photo_url, hard_cases)
            children = _children(rng, index, row["photo_id"], hard_cases)  # drawn even if edited out
            if edit is not None:
                row = edit(row)
                if row is None:
                    continue
            photos.writers[part].writerow([row[c] for c in PHOTO_COLUMNS])
            keywords, colours, collections, conversions = children
            others["keywords"].writers[part].writerows(keywords)
            others["colors"].writers[part].writerows(colours)
            others["collections"].writers[part].writerows(collections)
            others["conversions"].writers[part].writerows(conversions)
            ids.append(row["photo_id"])
        if hard_cases:
            last = photos.files[-1]
            last.flush()
            for record in _bad_photo_rows(row or _photo(random.Random(seed), seed, 0, photo_url, False)):
                last.buffer.write(record)
            last.buffer.flush()
    finally:
        photos.close()
        for kind in others.values():
            kind.close()
    return ids
