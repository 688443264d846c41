"""`mosaic harvest-worker`: run one harvest worker until interrupted."""

from __future__ import annotations

import click

from harvest_worker.pipeline import give_up, harvest
from mosaic.consumer import consume_until_interrupted


@click.command("harvest-worker")
@click.pass_obj
def harvest_worker_command(backends):
    """Consume the harvest queue: enrich each image and hand it to the processor."""
    consume_until_interrupted(backends, "harvest", harvest, give_up)
