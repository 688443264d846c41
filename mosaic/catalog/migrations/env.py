"""Alembic environment: the engine comes from the caller (Settings), never from an ini file."""

from alembic import context

from mosaic.catalog.schema import metadata

config = context.config


def run_migrations() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        # render_as_batch: SQLite can only ALTER tables by copying them.
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `mosaic db upgrade`")
run_migrations()
