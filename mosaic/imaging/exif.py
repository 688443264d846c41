"""EXIF fields with exifread (`details=False`: 0.3 ms instead of a 68 ms p90 for maker notes).

Malformed tags never fail the image: a field that cannot be read is left out.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import BinaryIO

import exifread

log = logging.getLogger(__name__)

# Raw makes as cameras write them -> the name people group by.
_MAKE_ALIASES = {
    "nikon corporation": "Nikon",
    "nikon": "Nikon",
    "canon": "Canon",
    "canon inc.": "Canon",
    "eastman kodak company": "Kodak",
    "kodak": "Kodak",
    "olympus imaging corp.": "Olympus",
    "olympus corporation": "Olympus",
    "olympus optical co.,ltd": "Olympus",
    "sony": "Sony",
    "sony corporation": "Sony",
    "fujifilm": "Fujifilm",
    "fuji photo film co., ltd.": "Fujifilm",
    "samsung": "Samsung",
    "samsung techwin": "Samsung",
    "pentax corporation": "Pentax",
    "pentax": "Pentax",
    "ricoh imaging company, ltd.": "Ricoh",
    "panasonic": "Panasonic",
    "leica camera ag": "Leica",
    "apple": "Apple",
    "google": "Google",
    "htc": "HTC",
    "lg electronics": "LG",
    "motorola": "Motorola",
    "huawei": "Huawei",
    "xiaomi": "Xiaomi",
    "gopro": "GoPro",
    "dji": "DJI",
    "hasselblad": "Hasselblad",
    "minolta co., ltd.": "Minolta",
    "konica minolta": "Konica Minolta",
    "casio computer co.,ltd.": "Casio",
}


def normalise_make(raw: str | None) -> str | None:
    """"NIKON CORPORATION" and "Nikon" -> "Nikon"; unknown makes keep their words, title-cased."""
    if not raw:
        return None
    cleaned = " ".join(raw.replace("\x00", " ").split())
    if not cleaned:
        return None
    known = _MAKE_ALIASES.get(cleaned.lower())
    if known:
        return known
    first = cleaned.split()[0].rstrip(",.").lower()
    for alias, name in _MAKE_ALIASES.items():
        if alias.split()[0].rstrip(",.") == first:
            return name
    return cleaned if any(ch.islower() for ch in cleaned) else cleaned.title()


def read_exif(stream: BinaryIO) -> dict:
    """Typed EXIF fields of an image file, keyed by catalog column name."""
    try:
        tags = exifread.process_file(stream, details=False)
    except Exception as exc:  # exifread raises many types on broken files; the image is still fine
        log.info("unreadable EXIF: %s", exc)
        return {}
    make_raw = _text(tags, "Image Make")
    fields = {
        "make": normalise_make(make_raw),
        "make_raw": make_raw,
        "model": _text(tags, "Image Model"),
        "software": _text(tags, "Image Software"),
        "orientation": _integer(tags, "Image Orientation"),
        "taken_at": _date(tags, "EXIF DateTimeOriginal") or _date(tags, "Image DateTime"),
        "exposure_time": _number(tags, "EXIF ExposureTime"),
        "f_number": _number(tags, "EXIF FNumber"),
        "iso": _integer(tags, "EXIF ISOSpeedRatings"),
        "focal_length": _number(tags, "EXIF FocalLength"),
        "gps_latitude": _coordinate(tags, "GPS GPSLatitude", "GPS GPSLatitudeRef", "S"),
        "gps_longitude": _coordinate(tags, "GPS GPSLongitude", "GPS GPSLongitudeRef", "W"),
        "gps_altitude": _altitude(tags),
    }
    return {key: value for key, value in fields.items() if value is not None}


def _values(tags: dict, name: str) -> list:
    tag = tags.get(name)
    if tag is None:
        return []
    values = tag.values
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _text(tags: dict, name: str) -> str | None:
    tag = tags.get(name)
    if tag is None:
        return None
    text = " ".join(str(tag.printable).replace("\x00", " ").split())
    return text[:128] or None


def _number(tags: dict, name: str) -> float | None:
    values = _values(tags, name)
    if not values:
        return None
    try:
        value = values[0]
        if hasattr(value, "num"):
            return float(value.num) / float(value.den) if value.den else None
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _integer(tags: dict, name: str) -> int | None:
    number = _number(tags, name)
    return int(number) if number is not None else None


def _date(tags: dict, name: str) -> datetime | None:
    text = _text(tags, name)
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _coordinate(tags: dict, name: str, ref_name: str, negative_ref: str) -> float | None:
    values = _values(tags, name)
    if len(values) != 3:
        return None
    try:
        degrees, minutes, seconds = (float(v.num) / float(v.den) for v in values)
    except (AttributeError, TypeError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    ref = _text(tags, ref_name) or ""
    return -value if ref.upper().startswith(negative_ref) else value


def _altitude(tags: dict) -> float | None:
    altitude = _number(tags, "GPS GPSAltitude")
    if altitude is None:
        return None
    below_sea_level = _integer(tags, "GPS GPSAltitudeRef") == 1
    return -altitude if below_sea_level else altitude
