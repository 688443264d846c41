"""Rows in and out of the catalog, the same way everywhere: ids in chunks, upserts, rows as JSON-ready values."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import Column, Connection, Table

IN_CHUNK = 500  # ids per SQL IN (...) list


def chunks(values: Iterable, size: int = IN_CHUNK) -> Iterator[list]:
    """Consecutive lists of at most `size` values (ids for one SQL `IN (...)` each); reads `values` lazily."""
    values = iter(values)
    while chunk := list(itertools.islice(values, size)):
        yield chunk


def upsert(connection: Connection, table: Table, rows: Sequence[dict], keys: Sequence[Column],
           changes: Callable[[object], dict]) -> None:
    """Insert `rows`; a row whose `keys` exist already is updated with `changes(excluded)`, where
    `excluded[name]` is the value the row would have inserted (INSERT ... ON CONFLICT DO UPDATE)."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif connection.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"no upsert for {connection.dialect.name}")
    statement = insert(table)
    statement = statement.on_conflict_do_update(index_elements=list(keys), set_=changes(statement.excluded))
    connection.execute(statement, list(rows))


def plain(row, drop: str | None = None) -> dict:
    """A catalog row as JSON-ready values: timestamps as ISO 8601 text; `drop` leaves a column out."""
    return {
        key: (value.isoformat() if isinstance(value, datetime) else value)
        for key, value in dict(row).items()
        if key != drop
    }
