"""`mosaic harvest-worker`: run one harvest worker until interrupted."""

from __future__ import annotations

import threading

import click

from harvest_worker.pipeline import Pipeline, give_up
from mosaic.consumer import consume_until_interrupted, retry_while_unavailable


@click.command("harvest-worker")
@click.pass_obj
def harvest_worker_command(backends):
    """Consume the harvest queue: enrich each image and hand it to the processor."""
    pipeline = Pipeline(backends.settings)
    stop = threading.Event()
    # register() loads the models once; a catalog down at start is waited for, not a reason to exit and reload.
    try:
        retry_while_unavailable(lambda: pipeline.register(backends), stop)
    except KeyboardInterrupt:
        return
    consume_until_interrupted(backends, "harvest", pipeline.harvest, give_up, stop)
