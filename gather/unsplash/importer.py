"""Import an Unsplash dataset folder: its metadata first, then the originals, resumably.

A re-run skips what is stored (the `downloads` table), retries what failed, and picks up photos
a newer release added; progress lives in the `imports` table so any process can report it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, select

from gather.downloads import DownloadResult, download_all
from gather.imports import count, finish, start_import
from gather.unsplash.metadata import import_metadata, link_image, photo_downloads
from gather.unsplash.reader import BadRow
from mosaic.backends import Backends
from mosaic.catalog.schema import dataset_photos

log = logging.getLogger(__name__)

SHOWN_BAD_ROWS = 20


def import_unsplash(
    backends: Backends,
    folder: Path,
    import_id: str | None = None,
    limit: int | None = None,
    sample: float | None = None,
    release: str | None = None,
    progress: Callable[[DownloadResult], None] | None = None,
) -> dict:
    """Returns the run's counts; raises after recording the failure when the folder is unusable."""
    folder = Path(folder)
    import_id = import_id or start_import(backends, "unsplash", str(folder))
    release = release or folder.resolve().name  # the published folders are named after their release
    bad_rows: list[str] = []

    def on_bad_row(row: BadRow) -> None:
        if len(bad_rows) < SHOWN_BAD_ROWS:
            bad_rows.append(str(row))
        log.warning("skipped %s", row)

    try:
        metadata = import_metadata(backends, folder, release, limit=limit, sample=sample, on_bad_row=on_bad_row)
        # Photos an earlier run already stored count as done: "n of total" means the whole release.
        count(backends, import_id, total=metadata.photos, bad_rows=metadata.bad_rows,
              skipped=_already_stored(backends, release))
        width = backends.settings.unsplash_width
        wanted = ((photo_id, sized(url, width)) for photo_id, url in photo_downloads(backends, release))
        totals = {"stored": 0, "duplicate": 0, "skipped": 0, "failed": 0}
        for result in download_all(backends, wanted, "unsplash", import_id=import_id, progress=progress):
            totals[result.state] += 1
            if result.image_id:
                with backends.catalog.begin() as connection:
                    link_image(connection, result.key, result.image_id)
    except BaseException as exc:  # Ctrl-C included: the run must not look as if it were still going
        finish(backends, import_id, "failed", f"stopped by {type(exc).__name__}: {exc}"[:500])
        raise
    message = (f"{metadata.photos} photos described ({metadata.new} new, {metadata.gone} gone), "
               f"{totals['stored']} downloaded, {totals['duplicate']} duplicates, {totals['failed']} failed")
    if bad_rows:
        message += f"; {metadata.bad_rows} malformed rows skipped, first: " + "; ".join(bad_rows[:5])
    finish(backends, import_id, "completed", message)
    return {"import": import_id, "release": release, **metadata.as_dict(), **totals}


def _already_stored(backends: Backends, release: str) -> int:
    with backends.catalog.connect() as connection:
        return connection.execute(
            select(func.count()).where(dataset_photos.c.release == release, dataset_photos.c.image_id.is_not(None),
                                       dataset_photos.c.gone_at.is_(None))
        ).scalar()


def sized(url: str, width: int) -> str:
    """Ask Unsplash's CDN for `width` pixels (`?w=`), keeping the URL's other parameters."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "w"] + [("w", str(width))]
    return urlunsplit(parts._replace(query=urlencode(query)))
