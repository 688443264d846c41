"""`mosaic reindex-search`: recommend's command."""

from __future__ import annotations

import click

from mosaic.catalog import documents


@click.command("reindex-search")
@click.pass_obj
def reindex_search_command(backends):
    """Rebuild every photo's search document (what search by words looks in) from the catalog."""
    with backends.catalog.begin() as connection:
        written = documents.rebuild_all(connection)
    click.echo(f"{written} search document(s) rebuilt")


commands = [reindex_search_command]
