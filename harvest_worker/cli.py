"""`mosaic worker harvest`: run one harvest worker until interrupted."""

from __future__ import annotations

import threading

import click

from harvest_worker.pipeline import give_up, harvest
from mosaic.consumer import consume


@click.command("harvest-worker")
@click.pass_obj
def harvest_worker_command(backends):
    """Consume the harvest queue: enrich each image and hand it to the processor."""
    stop = threading.Event()
    try:
        consume(backends, "harvest", harvest, give_up, stop)
    except KeyboardInterrupt:
        stop.set()
