"""`mosaic import …`: gather's commands, mounted by the gateway's command line."""

from __future__ import annotations

from pathlib import Path

import click

from gather.storing import store_folder


@click.group("import")
def import_group():
    """Bring photos into Mosaic."""


@import_group.command("folder")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def import_folder(backends, folder: Path):
    """Store every image file under FOLDER as one batch."""
    batch_id, results = store_folder(backends, folder, "folder")
    counts = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
        if result.status == "rejected":
            click.echo(f"rejected {result.name}: {result.reason}", err=True)
    click.echo(f"batch {batch_id}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
