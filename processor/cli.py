"""`mosaic processor`: run the vector indexer until interrupted."""

from __future__ import annotations

import threading

import click

from mosaic.consumer import consume_until_interrupted, retry_while_unavailable
from processor.indexing import Indexer, give_up


@click.command("processor")
@click.pass_obj
def processor_command(backends):
    """Consume the process queue: write each image's vectors to Milvus."""
    indexer = Indexer(backends.settings)
    stop = threading.Event()
    # register() loads the model(s) once; a catalog down at start is waited for, not a reason to exit and reload.
    try:
        retry_while_unavailable(lambda: indexer.register(backends), stop)
    except KeyboardInterrupt:
        return
    consume_until_interrupted(backends, "process", indexer.index, give_up, stop)
