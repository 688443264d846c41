"""Store one incoming file: checks, sha256, original into the object store, catalog row.

Each file is judged on its own; a rejected file leaves nothing behind and never stops the others.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from mosaic.backends import Backends
from mosaic.backends.objects import content_key
from mosaic.catalog.images import new_id, now
from mosaic.catalog.schema import batch_files, batches, images
from mosaic.imaging.sniff import SNIFF_BYTES, sniff_mime

CHUNK = 1024 * 1024


@dataclass
class FileResult:
    name: str
    status: str  # stored | duplicate | rejected
    id: str | None = None
    duplicate_of: str | None = None
    reason: str | None = None
    code: str | None = None  # machine-readable reason: empty | too_large | not_an_image | too_many_pixels

    def to_json(self) -> dict:
        result = asdict(self)
        result.pop("code")
        return result


class Rejected(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


def store_file(backends: Backends, stream: BinaryIO, name: str, source: str) -> FileResult:
    """Spool `stream` to disk while hashing it, check it, then move it in once under its sha256."""
    settings = backends.settings
    spool_dir = settings.data_dir / "tmp"
    spool_dir.mkdir(parents=True, exist_ok=True)
    display_name = _display_name(name)
    fd, spool_path = tempfile.mkstemp(dir=spool_dir, prefix="upload-")
    try:
        with os.fdopen(fd, "w+b") as spool:
            try:
                sha256, size = _spool(stream, spool, settings.max_upload_bytes)
                mime = _check_image(spool, size, settings.max_pixels)
            except Rejected as rejected:
                return FileResult(display_name, "rejected", reason=rejected.reason, code=rejected.code)
        existing = _image_with(backends, sha256)
        if existing:
            return FileResult(display_name, "duplicate", id=existing, duplicate_of=existing)
        key = content_key("originals", sha256)
        # The spool file itself becomes the original (renamed on a local store): written once.
        backends.objects.put_file(key, Path(spool_path), content_type=mime)
    finally:
        Path(spool_path).unlink(missing_ok=True)
    image_id = new_id()
    stamp = now()
    try:
        with backends.catalog.begin() as connection:
            connection.execute(
                insert(images).values(
                    id=image_id, sha256=sha256, object_key=key, source=source, original_name=display_name,
                    bytes=size, mime=mime, state="stored", created_at=stamp, updated_at=stamp,
                    shot_at=stamp.replace(tzinfo=None),  # until its EXIF says when it was taken
                )
            )
    except IntegrityError:
        # The same bytes arrived concurrently: the other request's row wins, and the object
        # (content-addressed, identical) is shared, so nothing is left dangling.
        existing = _image_with(backends, sha256)
        return FileResult(display_name, "duplicate", id=existing, duplicate_of=existing)
    return FileResult(display_name, "stored", id=image_id)


def _image_with(backends: Backends, sha256: str) -> str | None:
    with backends.catalog.connect() as connection:
        return connection.execute(select(images.c.id).where(images.c.sha256 == sha256)).scalar()


def record_batch(backends: Backends, source: str, results: list[FileResult]) -> str:
    batch_id = new_id()
    with backends.catalog.begin() as connection:
        connection.execute(insert(batches).values(id=batch_id, source=source, created_at=now()))
        if results:
            connection.execute(
                insert(batch_files),
                [
                    {"batch_id": batch_id, "position": position, "name": result.name, "status": result.status,
                     "image_id": result.id, "duplicate_of": result.duplicate_of, "reason": result.reason}
                    for position, result in enumerate(results)
                ],
            )
    return batch_id


def store_folder(backends: Backends, folder: Path, source: str) -> tuple[str, list[FileResult]]:
    """Store every file under `folder` (recursively) as one batch."""
    results = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with path.open("rb") as stream:
            results.append(store_file(backends, stream, str(path.relative_to(folder)), source))
    return record_batch(backends, source, results), results


def _display_name(name: str | None) -> str:
    # Filenames are shown to people, never used as paths: keep the last part, printable, bounded.
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[:255] or "unnamed"


def _spool(stream: BinaryIO, spool: BinaryIO, limit: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise Rejected("too_large", f"file is larger than the limit of {limit:,} bytes")
        digest.update(chunk)
        spool.write(chunk)
    spool.flush()
    if size == 0:
        raise Rejected("empty", "file is empty")
    return digest.hexdigest(), size


def _check_image(spool: BinaryIO, size: int, max_pixels: int) -> str:
    spool.seek(0)
    mime = sniff_mime(spool.read(SNIFF_BYTES))
    if mime is None:
        raise Rejected("not_an_image", "not an image: the content is not JPEG, PNG, WebP, GIF, TIFF, BMP or HEIC")
    spool.seek(0)
    try:
        with Image.open(spool) as header:  # reads the header only: no pixel is decoded here
            width, height = header.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        if mime in ("image/heic", "image/heif", "image/avif"):
            return mime  # Pillow needs a plugin for these; the harvest worker judges them
        raise Rejected("corrupt", f"the {mime} file is corrupt or truncated") from None
    except Image.DecompressionBombError:
        raise Rejected("too_many_pixels", "the image has too many pixels") from None
    if width * height > max_pixels:
        raise Rejected("too_many_pixels", f"{width}x{height} has more pixels than the limit of {max_pixels:,}")
    return mime
