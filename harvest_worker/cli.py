"""`mosaic harvest-worker`: run one harvest worker until interrupted."""

from __future__ import annotations

import click

from harvest_worker.pipeline import Pipeline, give_up
from mosaic.backends.queue import HARVEST
from mosaic.consumer import consume_until_interrupted


@click.command("harvest-worker")
@click.pass_obj
def harvest_worker_command(backends):
    """Consume the harvest queue: enrich each image and hand it to the processor."""
    pipeline = Pipeline(backends.settings)
    consume_until_interrupted(backends, HARVEST, pipeline.harvest, give_up,
                              prepare=lambda: pipeline.register(backends))


# What `mosaic` adds from this service (gateway/cli.py gathers every service's `commands`).
commands = [harvest_worker_command]
