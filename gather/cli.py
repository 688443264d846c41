"""`mosaic import …`: gather's commands, mounted by the gateway's command line."""

from __future__ import annotations

import csv
import itertools
import os
import stat
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import BinaryIO

import click
from tqdm import tqdm

from gather.imports import Progress, describe_counts, finish, get_import, start_import
from gather.storing import store_file
from mosaic.backends.queue import IMPORTS, PURGE


@click.group("import")
def import_group():
    """Bring photos into Mosaic."""


@import_group.command("urls")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Import only the first N URLs.")
@click.pass_obj
def import_urls(backends, file: Path, limit: int | None):
    """Download every URL in FILE: one per line (# comments allowed) or a CSV with a `url` column.

    Resumable: a re-run skips the URLs already stored and retries the ones that failed.
    """
    from gather.downloads import download_all

    def rows():
        return itertools.islice(read_url_file(file), limit)

    total = sum(1 for _ in rows())  # a streaming pass: the bar gets a total, memory stays flat
    import_id = start_import(backends, "urls", str(file), total=total)
    counts: Counter[str] = Counter()
    results = download_all(backends, rows(), "url", import_id)
    # closing(): on Ctrl-C the downloader records what it has before the import is marked failed.
    with _tracked(backends, import_id, counts), _bar(total, "url") as bar, closing(results):
        for result in results:
            counts[result.state] += 1
            bar.update()
            if result.state == "failed":
                bar.write(f"failed {result.url}: {result.error}", file=sys.stderr)
    _summary(backends, import_id, counts)


@import_group.command("dir")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Import only the first N files.")
@click.pass_obj
def import_dir(backends, path: Path, limit: int | None):
    """Store every file under PATH (recursively). Symlinks leading outside PATH are not followed.

    Resumable: files already stored come back as duplicates (same sha256) and are not stored twice.
    """
    root = path.resolve()
    total = sum(1 for _ in itertools.islice(walk_files(root), limit))
    import_id = start_import(backends, "dir", str(path), total=total)
    progress = Progress(backends, "folder", import_id)
    counts: Counter[str] = Counter()
    with _tracked(backends, import_id, counts, progress), _bar(total, "file") as bar:
        for file in itertools.islice(walk_files(root), limit):
            bar.update()
            name = str(file.relative_to(root))
            stream, why_not = open_inside(file, root)
            if stream is None:
                counts["skipped"] += 1
                progress.add(skipped=1)
                bar.write(f"skipped {name}: {why_not}", file=sys.stderr)
                continue
            with stream:
                result = store_file(backends, stream, name, "folder")
            counts[result.status] += 1
            progress.add(result, **{_COUNTER[result.status]: 1})
            if result.status == "rejected":
                bar.write(f"rejected {name}: {result.reason}", file=sys.stderr)
    _summary(backends, import_id, counts)


_COUNTER = {"stored": "stored", "duplicate": "duplicates", "rejected": "failed"}


@import_group.command("unsplash")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Import only the first N photos.")
@click.option("--sample", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Import a fraction of the photos, the same ones on every run (e.g. 0.01).")
@click.option("--release", default=None, help="Release label (default: the folder's name).")
@click.pass_obj
def import_unsplash_command(backends, folder: Path, limit: int | None, sample: float | None, release: str | None):
    """Import an Unsplash Lite/Full dataset folder: its metadata, then the originals.

    Resumable: a re-run skips photos already stored and retries the ones that failed; a newer
    release adds its new photos, updates changed metadata and marks photos it no longer lists.
    """
    from gather.unsplash.importer import import_unsplash

    import_id = start_import(backends, "unsplash", str(folder))
    with tqdm(unit="photo", file=sys.stderr, desc="downloading") as bar:
        def progress(result):
            bar.update()
            if result.state == "failed":
                bar.write(f"failed {result.key}: {result.error}", file=sys.stderr)

        summary = import_unsplash(backends, folder, import_id=import_id, limit=limit, sample=sample,
                                  release=release, progress=progress)
    click.echo(get_import(backends, import_id)["message"])
    if summary["failed"]:
        click.echo(f"{summary['failed']} download(s) failed: run the same command again to retry them", err=True)


@click.command("import-worker")
@click.pass_obj
def import_worker_command(backends):
    """Run the imports asked for over HTTP (GET /gather/download), one at a time."""
    from gather.jobs import give_up, run_import
    from mosaic.consumer import consume_until_interrupted

    consume_until_interrupted(backends, IMPORTS, run_import, give_up)


@click.command("purger")
@click.pass_obj
def purger_command(backends):
    """Purge the photos asked for (trash emptied, `?purge=true`, time in the trash over): vectors, objects, rows."""
    from gather.trash import give_up, purge_image
    from mosaic.consumer import consume_until_interrupted

    consume_until_interrupted(backends, PURGE, purge_image, give_up)


def read_url_file(path: Path) -> Iterator[str | tuple[str, str]]:
    """URLs of a list file, lazily: a CSV when the first line has a `url` column (an `id` one names them)."""
    with path.open(encoding="utf-8-sig", newline="") as lines:
        content = (line for line in lines if line.strip() and not line.lstrip().startswith("#"))
        first = next(content, None)
        if first is None:
            return
        header = [cell.strip().lower() for cell in next(csv.reader([first]))]
        if "url" not in header:
            for line in itertools.chain([first], content):
                yield line.strip()
            return
        url_at = header.index("url")
        key_at = next((header.index(name) for name in ("id", "key") if name in header), None)
        for row in csv.reader(content):
            if len(row) > url_at and row[url_at].strip():
                url = row[url_at].strip()
                yield (row[key_at].strip() or url, url) if key_at is not None and len(row) > key_at else url


def walk_files(root: Path) -> Iterator[Path]:
    """Every file name under root, sorted; symlinked folders are never entered (no loops, no escape)."""
    for folder, subfolders, names in os.walk(root):  # followlinks=False
        subfolders.sort()
        for name in sorted(names):
            yield Path(folder, name)


def open_inside(file: Path, root: Path) -> tuple[BinaryIO | None, str | None]:
    """Open a regular file whose real path is under root: (stream, None) or (None, why not)."""
    real = file.resolve()
    if not real.is_relative_to(root):
        return None, "symlink pointing outside the folder, not followed"
    try:
        # O_NOFOLLOW: the checked path cannot be swapped for a link; O_NONBLOCK: a FIFO cannot hang us.
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return None, f"cannot open: {exc.strerror}"
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None, "not a regular file"
    return os.fdopen(fd, "rb"), None


@contextmanager
def _tracked(backends, import_id: str, counts: Counter, progress: Progress | None = None):
    """Mark the import completed, or failed with why (Ctrl-C included), in the catalog."""
    try:
        yield
    except BaseException as exc:
        if progress:
            progress.flush()
        finish(backends, import_id, "failed", f"stopped by {type(exc).__name__}: {exc}"[:500])
        raise
    if progress:
        progress.flush()
    finish(backends, import_id, "completed", describe_counts(counts))


def _bar(total: int, unit: str) -> tqdm:
    return tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True, mininterval=0.5)


def _summary(backends, import_id: str, counts: Counter) -> None:
    batch = (get_import(backends, import_id) or {}).get("batch_id")
    click.echo(f"import {import_id}: {describe_counts(counts)}" + (f" (batch {batch})" if batch else ""))


# What `mosaic` adds from this service (gateway/cli.py gathers every service's `commands`).
commands = [import_group, import_worker_command, purger_command]
