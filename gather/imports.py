"""Progress of an import run, kept in the catalog's `imports` table so any process can report it.

Counting is cheap: `Progress` adds up in memory and writes one UPDATE per second (or per N files),
and groups the run's files into one batch written in chunks, so memory stays flat for millions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from sqlalchemy import desc, insert, select, update

from gather.storing import FileResult
from mosaic.backends import Backends
from mosaic.catalog.images import new_id, now
from mosaic.catalog.rows import plain
from mosaic.catalog.schema import batch_files, batches, imports

COUNTERS = ("total", "stored", "duplicates", "skipped", "failed", "bad_rows")
KINDS = ("unsplash", "urls", "dir")
FINAL_STATES = ("completed", "failed")


def start_import(backends: Backends, kind: str, source: str, total: int = 0, state: str = "running") -> str:
    assert kind in KINDS and state in ("queued", "running"), (kind, state)
    import_id = new_id()
    stamp = now()
    with backends.catalog.begin() as connection:
        connection.execute(
            insert(imports).values(
                id=import_id, kind=kind, source=str(source)[:2000], state=state, started_at=stamp,
                updated_at=stamp, **{**dict.fromkeys(COUNTERS, 0), "total": total},
            )
        )
    return import_id


def count(backends: Backends, import_id: str, **increments: int) -> None:
    """Add to the run's counters in one UPDATE (`stored=3, failed=1`); unknown names are an error."""
    unknown = set(increments) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown import counters: {sorted(unknown)}")
    values = {name: getattr(imports.c, name) + n for name, n in increments.items() if n}
    with backends.catalog.begin() as connection:
        connection.execute(update(imports).where(imports.c.id == import_id).values(updated_at=now(), **values))


def finish(backends: Backends, import_id: str, state: str, message: str | None = None) -> None:
    assert state in FINAL_STATES, state
    with backends.catalog.begin() as connection:
        connection.execute(
            update(imports).where(imports.c.id == import_id).values(state=state, message=message, updated_at=now())
        )


def describe_counts(counts: Mapping[str, int]) -> str:
    """The closing message of a run: "1 failed, 3 stored"."""
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing to import"


def get_import(backends: Backends, import_id: str) -> dict | None:
    with backends.catalog.connect() as connection:
        row = connection.execute(select(imports).where(imports.c.id == import_id)).mappings().first()
    return plain(row) if row else None


def latest_import(backends: Backends, kind: str | None = None) -> dict | None:
    found = recent_imports(backends, 1, kind)
    return found[0] if found else None


def recent_imports(backends: Backends, limit: int, kind: str | None = None) -> list[dict]:
    """The newest runs first."""
    query = select(imports).order_by(desc(imports.c.started_at), imports.c.id).limit(limit)
    if kind:
        query = query.where(imports.c.kind == kind)
    with backends.catalog.connect() as connection:
        return [plain(row) for row in connection.execute(query).mappings()]


class Progress:
    """Counters and batch membership of one run, flushed to the catalog in chunks.

    One run is one batch (`imports.batch_id`), created with the first file that lands in it, so
    `GET /gather/batches/<id>` follows the whole run while only a chunk is ever held in memory.
    """

    def __init__(self, backends: Backends, source: str, import_id: str | None = None,
                 every_seconds: float = 1.0, every_files: int = 500):
        self.backends, self.source, self.import_id = backends, source, import_id
        self.every_seconds, self.every_files = every_seconds, every_files
        self.batch_id: str | None = None
        self.totals = dict.fromkeys(COUNTERS, 0)
        self._pending = dict.fromkeys(COUNTERS, 0)
        self._files: list[FileResult] = []
        self._position = 0
        self._flushed_at = time.monotonic()

    def add(self, result: FileResult | None = None, **increments: int) -> None:
        for name, n in increments.items():
            self._pending[name] += n
            self.totals[name] += n
        if result is not None:
            self._files.append(result)
        if len(self._files) >= self.every_files or time.monotonic() - self._flushed_at >= self.every_seconds:
            self.flush()

    def flush(self) -> None:
        self._flushed_at = time.monotonic()
        if self._files:
            self._write_files()
        if self.import_id and any(self._pending.values()):
            count(self.backends, self.import_id, **self._pending)
        self._pending = dict.fromkeys(COUNTERS, 0)

    def _write_files(self) -> None:
        rows = [
            {"batch_id": None, "position": self._position + offset, "name": result.name[:512],
             "status": result.status, "image_id": result.id, "duplicate_of": result.duplicate_of,
             "reason": result.reason}
            for offset, result in enumerate(self._files)
        ]
        new_batch = self.batch_id is None
        with self.backends.catalog.begin() as connection:
            if new_batch:
                self.batch_id = new_id()
                connection.execute(insert(batches).values(id=self.batch_id, source=self.source[:32], created_at=now()))
                if self.import_id:
                    connection.execute(
                        update(imports).where(imports.c.id == self.import_id).values(batch_id=self.batch_id)
                    )
            for row in rows:
                row["batch_id"] = self.batch_id
            connection.execute(insert(batch_files), rows)
        self._position += len(rows)
        self._files = []
