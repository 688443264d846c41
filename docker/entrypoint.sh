#!/bin/sh
# Entrypoint of every Mosaic Python container: wait for the catalog, migrate it when asked, then
# exec the command (gunicorn for a web service, a `mosaic` verb for a worker) as PID 1, so that
# `docker stop` signals reach it.
#
#   MOSAIC_WAIT_SECONDS  how long to wait for the catalog database (default 120; 0 = do not wait)
#   MOSAIC_DB_UPGRADE    1 = run `mosaic db upgrade` before the command (default 0: in compose the
#                        one-shot `migrate` service does it once, before any other service starts)
set -eu

if [ "${MOSAIC_WAIT_SECONDS:-120}" != 0 ]; then
  python - <<'PY'
import os, sys, time

from sqlalchemy import text

from mosaic.catalog import open_catalog
from mosaic.settings import SettingsError, load_settings

try:
    settings = load_settings()
except SettingsError as exc:
    sys.exit(str(exc))
deadline = time.monotonic() + float(os.environ.get("MOSAIC_WAIT_SECONDS", "120"))
engine = open_catalog(settings.catalog_url)
while True:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        break
    except Exception as exc:  # not accepting connections yet, DNS not there yet, ...
        if time.monotonic() > deadline:
            sys.exit(f"catalog database not reachable: {type(exc).__name__}: {exc}")
        print(f"waiting for the catalog database ({type(exc).__name__})", file=sys.stderr, flush=True)
        time.sleep(2)
engine.dispose()
PY
fi

if [ "${MOSAIC_DB_UPGRADE:-0}" = 1 ]; then
  mosaic db upgrade
fi

exec "$@"
