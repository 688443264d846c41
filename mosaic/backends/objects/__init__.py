"""Object store for originals and renditions: a local folder or an S3 bucket, behind one interface.

Shared semantics: objects are immutable blobs under content-addressed keys (see `content_key`);
`put` streams (never holds a whole file in memory) and is all-or-nothing, so a reader never sees
half an object; keys are validated the same way by both backends so code that works on the
local folder works on S3.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from mosaic.settings import Settings

DEFAULT_CONTENT_TYPE = "application/octet-stream"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_KIND = re.compile(r"[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*")
_SUFFIX = re.compile(r"[A-Za-z0-9._-]*")


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str | None


class ObjectNotFound(KeyError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:  # KeyError's default str is just the quoted key
        return f"no object with key {self.key!r}"


class ObjectStore(Protocol):
    def put(
        self, key: str, stream: BinaryIO, size: int | None = None, content_type: str | None = None
    ) -> ObjectInfo:
        """Store `stream` under `key`, replacing any object there. `size` may be unknown (None);
        when given, a stream with fewer bytes is an error. Content type None means octet-stream."""

    def put_file(self, key: str, source: Path, content_type: str | None = None) -> ObjectInfo:
        """Store the finished local file `source` under `key`; `source` is gone afterwards
        (moved when it can be, so the bytes are not written twice)."""

    def get(self, key: str) -> BinaryIO:
        """A readable stream of the object; the caller closes it (it is a context manager)."""

    def stat(self, key: str) -> ObjectInfo: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in key order."""

    def check(self) -> None:
        """Raise when the store cannot be reached or written."""


def content_key(kind: str, sha256: str, suffix: str = "") -> str:
    """Key of content with this sha256, e.g. `originals/ab/cd/abcd….jpg`.

    Keys come only from hashes, never from user filenames, so they cannot collide or escape;
    the two fan-out levels keep local folders small.
    """
    digest = sha256.lower()
    if not _SHA256.fullmatch(digest):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    if not _KIND.fullmatch(kind):
        raise ValueError(f"bad object kind: {kind!r}")
    if not _SUFFIX.fullmatch(suffix):
        raise ValueError(f"bad key suffix: {suffix!r}")
    return f"{kind}/{digest[:2]}/{digest[2:4]}/{digest}{suffix}"


def check_key(key: str) -> str:
    """Refuse keys that could escape a folder or clash with the local store's hidden files.

    Both backends apply it so a key accepted by S3 is also valid on disk.
    """
    if not isinstance(key, str) or not key:
        raise ValueError("object key must be a non-empty string")
    if key.startswith("/") or "\\" in key or "\0" in key:
        raise ValueError(f"object key must be relative, with / separators: {key!r}")
    for part in key.split("/"):
        # Dot-names are reserved: "." and ".." escape, and the local store keeps temp files
        # and content-type sidecars under names starting with ".".
        if not part or part.startswith("."):
            raise ValueError(f"bad object key {key!r}: empty or dot-prefixed segment")
    return key


def open_objects(settings: Settings) -> ObjectStore:
    url = settings.objects_url
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        from mosaic.backends.objects.s3 import S3ObjectStore

        return S3ObjectStore(
            bucket=parsed.netloc,
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    from mosaic.backends.objects.local import LocalObjectStore

    if parsed.scheme == "file":
        return LocalObjectStore(Path(unquote(parsed.path)))
    if parsed.scheme == "":
        return LocalObjectStore(Path(url))
    raise ValueError(f"unsupported objects URL: {url!r}")
