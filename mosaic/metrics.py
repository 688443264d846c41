"""Prometheus metrics: what every process counts, and what a scrape reads from the backends.

Counters and histograms live in each process (gateway and gunicorn workers, harvest workers, processor).
With `PROMETHEUS_MULTIPROC_DIR` set (as `mosaic run` and the container images do) each process writes its
values to files there and a scrape sums them, so every worker counts. Photos by state, queue depths, dead
letters and imports in flight are read from the catalog and the queue at scrape time: they are facts of
the backends, not of any one process.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "mosaic_http_request_duration_seconds", "HTTP request latency by service, route and status",
    ["service", "route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
STEP_SECONDS = Histogram(
    "mosaic_step_duration_seconds", "Time of one enrichment step on one photo", ["step"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
STEP_FAILURES = Counter("mosaic_step_failures_total", "Enrichment steps that raised on a photo", ["step"])
PHOTOS_DONE = Counter("mosaic_photos_processed_total", "Photos a worker finished, by stage", ["stage"])


def scrape(backends) -> bytes:
    """The text exposition of every process's metrics plus the backends' gauges."""
    registry = CollectorRegistry()
    folder = os.environ.get(MULTIPROCESS_ENV)
    if folder:
        MultiProcessCollector(registry, path=folder)
    registry.register(_BackendCollector(backends))
    output = generate_latest(registry)
    if not folder:  # one process (tests, `mosaic serve`): its own metrics are in the default registry
        from prometheus_client import REGISTRY

        output = generate_latest(REGISTRY) + output
    return output


def clear_multiprocess_dir(folder) -> None:
    """At start: values of processes from an earlier run must not be summed into this one."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


class _BackendCollector:
    """Gauges read at scrape time; a backend that is down leaves its gauges out and says so in `mosaic_backend_up`."""

    def __init__(self, backends):
        self.backends = backends

    def collect(self):
        up = GaugeMetricFamily("mosaic_backend_up", "1 when the scrape could read the backend", labels=["backend"])
        for backend, read in (("catalog", self._catalog), ("queue", self._queues)):
            try:
                yield from read()
                up.add_metric([backend], 1)
            except Exception as exc:
                log.warning("metrics: %s unreadable: %s", backend, exc)
                up.add_metric([backend], 0)
        yield up

    def _catalog(self):
        from sqlalchemy import func, select

        from mosaic.catalog.schema import features, images
        from mosaic.catalog.schema import imports as import_runs

        photos = GaugeMetricFamily("mosaic_photos", "Photos by pipeline state", labels=["state"])
        failed = GaugeMetricFamily("mosaic_step_failed_photos", "Photos on which a step failed", labels=["step"])
        imports = GaugeMetricFamily("mosaic_imports_in_flight", "Imports not yet finished")
        with self.backends.catalog.connect() as connection:
            for state, count in connection.execute(select(images.c.state, func.count()).group_by(images.c.state)):
                photos.add_metric([state], count)
            failed_steps = (select(features.c.name, func.count())
                            .where(features.c.error.isnot(None)).group_by(features.c.name))
            for step, count in connection.execute(failed_steps):
                failed.add_metric([step], count)
            imports.add_metric([], connection.execute(
                select(func.count()).select_from(import_runs).where(import_runs.c.state == "running")).scalar() or 0)
        return [photos, failed, imports]

    def _queues(self):
        from mosaic.backends.queue import QUEUES

        depth = GaugeMetricFamily("mosaic_queue_depth", "Messages waiting", labels=["queue"])
        dead = GaugeMetricFamily("mosaic_queue_dead_letters", "Dead-lettered messages", labels=["queue"])
        for name in QUEUES:
            depth.add_metric([name], self.backends.queue.depth(name))
            dead.add_metric([name], self.backends.queue.dead_count(name))
        return [depth, dead]
