"""`mosaic reprocess`, `mosaic retry`, `mosaic dispatcher`: harvest's commands."""

from __future__ import annotations

import threading

import click

from harvest.dispatch import dispatch, reprocess, retry_failed, run_dispatcher


@click.command("reprocess")
@click.argument("image_ids", nargs=-1)
@click.option("--stale", is_flag=True, help="Only images a newer step or model would enrich differently.")
@click.pass_obj
def reprocess_command(backends, image_ids, stale):
    """Run the pipeline again for IMAGE_IDS, the stale images, or (neither given) all images."""
    marked = reprocess(backends, list(image_ids) or None, stale=stale)
    click.echo(f"{marked} image(s) marked for reprocessing; dispatched {dispatch(backends)}")


@click.command("retry")
@click.pass_obj
def retry_command(backends):
    """Send failed images and dead-lettered messages through the pipeline again."""
    retried = retry_failed(backends)
    click.echo(f"{retried} image(s) back to stored (failed, with a failed step, or dead-lettered); "
               f"dispatched {dispatch(backends)}")


@click.command("dispatcher")
@click.pass_obj
def dispatcher_command(backends):
    """Keep dispatching images that need work to the harvest queue (until interrupted)."""
    stop = threading.Event()
    try:
        run_dispatcher(backends, stop)
    except KeyboardInterrupt:
        stop.set()


# What `mosaic` adds from this service (gateway/cli.py gathers every service's `commands`).
commands = [reprocess_command, retry_command, dispatcher_command]
