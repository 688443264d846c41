"""`mosaic processor`: run the vector indexer until interrupted."""

from __future__ import annotations

import click

from mosaic.backends.queue import PROCESS
from mosaic.consumer import consume_until_interrupted
from processor.indexing import Indexer, give_up


@click.command("processor")
@click.pass_obj
def processor_command(backends):
    """Consume the process queue: write each image's vectors to Milvus."""
    indexer = Indexer(backends.settings)
    consume_until_interrupted(backends, PROCESS, indexer.index, give_up,
                              prepare=lambda: indexer.register(backends))


# What `mosaic` adds from this service (gateway/cli.py gathers every service's `commands`).
commands = [processor_command]
