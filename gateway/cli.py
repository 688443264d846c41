"""The `mosaic` command line: gathers each service's own commands, like blueprints in an app."""

from __future__ import annotations

import signal

import click

import gather.cli
import harvest.cli
import harvest_worker.cli
import processor.cli
import recommend.cli
from gateway.doctor import doctor
from mosaic.backends import Backends
from mosaic.logs import configure_logging
from mosaic.settings import SettingsError, load_settings

# Long-running verbs that consume or dispatch until interrupted. `mosaic run`, docker and service
# managers stop them with SIGTERM, which would otherwise kill them on the spot, holding their
# messages; SIGINT cannot be relied on (a process started with `nohup` or `&` ignores it).
WORKER_COMMANDS = {"dispatcher", "import-worker", "harvest-worker", "processor", "purger"}


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool):
    """Mosaic: ingest, enrich, recommend and explore photo collections."""
    if ctx.invoked_subcommand in WORKER_COMMANDS:
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging("DEBUG" if verbose else settings.log_level, settings.log_format)
    ctx.obj = Backends(settings)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.pass_obj
def run(backends: Backends):
    """The whole platform on this machine: gateway, workers, embedded backends."""
    from gateway.runner import run_platform

    run_platform(backends.settings)


@cli.command()
@click.option("--listen-fd", type=int, hidden=True, help="A listening socket inherited from `mosaic run`.")
@click.pass_obj
def serve(backends: Backends, listen_fd: int | None):
    """Only the gateway (every service's HTTP API) on MOSAIC_HOST:MOSAIC_PORT."""
    from gateway.runner import serve_gateway

    serve_gateway(backends, listen_fd=listen_fd)


@cli.group()
def db():
    """The catalog's schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def db_upgrade(backends: Backends, revision: str):
    """Apply the catalog migrations (also done on every start)."""
    from mosaic.catalog import upgrade

    upgrade(backends.catalog, revision)
    click.echo(f"catalog at {revision}")


@cli.command()
@click.option("--host", envvar="MOSAIC_LAB_HOST", default="127.0.0.1", show_default=True,
              help="Address to listen on (MOSAIC_LAB_HOST); 0.0.0.0 only inside a container.")
@click.option("--port", envvar="MOSAIC_LAB_PORT", default=8888, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on (MOSAIC_LAB_PORT).")
@click.option("--notebooks", type=click.Path(file_okay=False), help="The lab's root folder (default ./notebooks).")
@click.pass_obj
def lab(backends: Backends, host: str, port: int, notebooks: str | None):
    """Jupyter Lab on the notebooks, with a token (MOSAIC_LAB_TOKEN, else a generated one)."""
    from gateway.lab import start_lab

    start_lab(backends.settings, host, port, notebooks)


cli.add_command(doctor)
for service in (gather.cli, harvest.cli, harvest_worker.cli, processor.cli, recommend.cli):
    for command in service.commands:
        cli.add_command(command)


def _terminate_as_interrupt(*_):
    # Each worker already stops cleanly on KeyboardInterrupt (leases given back, connections
    # closed). A second SIGTERM while it does so kills it at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise KeyboardInterrupt


def main():
    cli(prog_name="mosaic")


if __name__ == "__main__":
    main()
