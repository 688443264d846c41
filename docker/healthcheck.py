#!/usr/bin/env python3
"""Container healthcheck (installed as `mosaic-healthcheck`); exit 0 healthy, 1 not.

    mosaic-healthcheck http://127.0.0.1:8000/harvest/api/v1/ready    a web service: its readiness route answers 200
    mosaic-healthcheck catalog queue                                  a worker: the backends it uses answer

A web service's readiness route (`/api/v1/ready`) answers 503 while a backend it needs is down, so the
container is marked unhealthy for the outage (its liveness route, `/api/v1/health`, keeps answering 200
while the process is up); a worker has no HTTP port, so its check opens the backends it needs, as the
worker itself does, and reports why not.
"""

from __future__ import annotations

import sys
import urllib.request


def main(args: list[str]) -> int:
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    if args[0].startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(args[0], timeout=10) as response:
                return 0 if response.status == 200 else 1
        except Exception as exc:  # refused, timeout, 503: all unhealthy
            print(f"{args[0]}: {exc}", file=sys.stderr)
            return 1
    from mosaic.backends import Backends
    from mosaic.settings import load_settings

    backends = Backends(load_settings())
    try:
        report = backends.health(args)
    finally:
        backends.close()
    if report["status"] != "ok":
        print(report, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
