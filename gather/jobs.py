"""Imports asked for over HTTP run in the import worker, not in a web request.

The request records the import (state "queued") and puts a message on the `imports` queue; the
worker runs it. A worker that dies mid-import gets the message again and the import resumes,
since every import skips what an earlier run stored.

Messages: {"import_id", "folder", "limit", "sample"} for the Unsplash dataset folder;
{"import_id", "kind": "urls", "urls": [...]} for a URL list.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import update

from gather.imports import describe_counts, finish, get_import
from mosaic.backends import Backends
from mosaic.catalog.images import now
from mosaic.catalog.schema import imports


def run_import(backends: Backends, body: dict) -> None:
    import_id = body["import_id"]
    found = get_import(backends, import_id)
    if found is None or found["state"] in ("completed", "failed"):
        return  # a redelivery of a finished run
    with backends.catalog.begin() as connection:
        connection.execute(update(imports).where(imports.c.id == import_id).values(state="running", updated_at=now()))
    if body.get("kind") == "urls":
        _import_urls(backends, import_id, body["urls"])
        return
    from gather.unsplash.importer import import_unsplash

    import_unsplash(backends, Path(body["folder"]), import_id=import_id, limit=body.get("limit"),
                    sample=body.get("sample"))


def _import_urls(backends: Backends, import_id: str, urls: list[str]) -> None:
    from gather.downloads import download_all

    counts: Counter[str] = Counter(result.state for result in download_all(backends, urls, "url", import_id))
    finish(backends, import_id, "completed", describe_counts(counts))


def give_up(backends: Backends, body: dict, reason: str) -> None:
    finish(backends, body["import_id"], "failed", reason[:500])
