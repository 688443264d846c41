"""What gather's endpoints take and answer (their contracts: gather/views.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from mosaic.contract import Answer, Body, Limit, Query

# The list travels in one queue message: bigger lists belong in a file for `mosaic import urls`.
MAX_URLS = 10_000
MAX_URL_LENGTH = 2048
MAX_LISTED = 100  # import runs per GET /imports


class FileResult(Answer):
    name: str | None
    status: Literal["stored", "duplicate", "rejected"]
    id: str | None = None
    duplicate_of: str | None = None
    reason: str | None = None


class Uploaded(Answer):
    batch: str
    files: list[FileResult]
    error: str | None = Field(None, description="when every file was rejected: `rejected`")
    message: str | None = Field(None, description="when every file was rejected: each file's reason")


class BatchFile(FileResult):
    state: str | None = Field(None, description="the photo's processing state, once stored")
    error: str | None = None


class Batch(Answer):
    batch: str
    source: str
    created_at: str
    counts: dict[str, int] = Field(description="files by processing state (or by outcome, when not stored)")
    files: list[BatchFile]


class Import(Answer):
    id: str
    kind: str
    source: str
    state: Literal["queued", "running", "completed", "failed"]
    total: int
    stored: int
    duplicates: int
    skipped: int
    failed: int
    bad_rows: int
    message: str | None
    batch_id: str | None
    started_at: str
    updated_at: str


class Imports(Answer):
    imports: list[Import]


class LegacyStatus(Answer):
    """The original platform's {status, message} answer."""

    status: str
    message: str
    import_id: str | None = None
    failed: int | None = None
    bad_rows: int | None = None
    details: str | None = None


class DatasetImport(Body):
    limit: int | None = Field(None, ge=1, description="import at most this many rows")
    sample: float | None = Field(None, gt=0, le=1, description="import this fraction of the rows")


def _distinct_urls(urls: list[str]) -> list[str]:
    kept = list(dict.fromkeys(url.strip() for url in urls if url.strip()))
    if not kept:
        raise ValueError("the list holds no URL")
    return kept


class UrlImport(Body):
    urls: Annotated[
        list[Annotated[str, Field(max_length=MAX_URL_LENGTH)]],
        Field(min_length=1, max_length=MAX_URLS,
              description=f"at most {MAX_URLS:,}; import longer lists with `mosaic import urls FILE`"),
        AfterValidator(_distinct_urls),
    ]


class ImportsQuery(Query):
    limit: Limit(MAX_LISTED) = 20


# -- the trash (gather/trash.py) -------------------------------------------------------------------------------

MAX_IDS = 10_000  # ids per bulk delete or restore
ImageId = Annotated[str, Field(min_length=1, max_length=64)]


class DeleteQuery(Query):
    purge: bool = Field(False, description="purge at once (queued) instead of moving to the trash")


class Trashed(Answer):
    id: str
    deleted_at: str
    purge_after: str = Field(description="when the photo is purged unless restored (MOSAIC_TRASH_DAYS)")


class Purging(Answer):
    id: str
    purging: bool


class BulkDelete(Body):
    ids: list[ImageId] = Field(min_length=1, max_length=MAX_IDS)
    purge: bool = Field(False, description="purge at once (queued) instead of moving to the trash")


class BulkDeleted(Answer):
    trashed: int = Field(description="photos now in the trash (marked for purging too when `purge`)")
    purging: int = Field(description="photos queued for purging")
    unknown: list[str] = Field(description="ids that name no photo")


class Restored(Answer):
    id: str
    restored: bool


class BulkRestore(Body):
    ids: list[ImageId] = Field(min_length=1, max_length=MAX_IDS)


class BulkRestored(Answer):
    restored: int
    unknown: list[str] = Field(description="ids that name no photo, or a photo already being purged")


class TrashQuery(Query):
    cursor: str | None = Field(None, max_length=512, description="`next_cursor` of the previous page")
    limit: Limit(200) = 60


class Place(Answer):
    country: str | None
    country_code: str | None
    town: str | None


class TrashItem(Answer):
    id: str
    thumbnail_url: str | None = Field(description="null: the photo has no thumbnail (never processed)")
    url: str
    width: int | None
    height: int | None
    shot_at: str | None
    taken: bool
    uploaded_at: str
    place: Place | None
    tags: list[str]
    state: str
    source: str
    deleted_at: str
    purge_after: str


class Trash(Answer):
    photos: list[TrashItem]
    next_cursor: str | None
    total: int


class Emptying(Answer):
    purging: int = Field(description="photos queued for purging")
