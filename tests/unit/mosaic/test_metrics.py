"""/metrics: Prometheus' text format with every process's counters and the backends' gauges."""

from __future__ import annotations

import os
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_gateway
from tests.enriched import enrich


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_show_photos_steps_and_queues(backends, photos_dir):
    enrich(backends, {"dog.jpg": (photos_dir / "darknet" / "dog.jpg").read_bytes()})
    client = create_gateway(backends.settings, backends).test_client()
    assert client.get("/harvest/status").status_code == 200
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain")
    samples = _samples(answer.get_data(as_text=True))
    assert samples[("mosaic_photos", (("state", "indexed"),))] == 1
    assert samples[("mosaic_queue_depth", (("queue", "harvest"),))] == 0
    assert samples[("mosaic_backend_up", (("backend", "catalog"),))] == 1
    assert samples[("mosaic_step_duration_seconds_count", (("step", "colours"),))] >= 1
    assert samples[("mosaic_step_duration_seconds_count", (("step", "vectors.visual"),))] >= 1
    by_route = (("method", "GET"), ("route", "/status"), ("service", "harvest"), ("status", "200"))
    assert samples[("mosaic_http_request_duration_seconds_count", by_route)] >= 1


def test_every_process_counts_in_multiprocess_mode(tmp_path, backends):
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    count = "from mosaic.metrics import STEP_FAILURES; STEP_FAILURES.labels('objects').inc(2)"
    for _ in range(2):  # two worker processes, each counting its own failures
        subprocess.run([sys.executable, "-c", count], env=env, check=True)
    scraped = subprocess.run(
        [sys.executable, "-c", "import sys; from mosaic.backends import Backends; from mosaic.settings import "
         "load_settings; from mosaic.metrics import scrape; "
         f"sys.stdout.write(scrape(Backends(load_settings(data_dir={str(tmp_path / 'var')!r}))).decode())"],
        env=env, check=True, capture_output=True, text=True).stdout
    assert _samples(scraped)[("mosaic_step_failures_total", (("step", "objects"),))] == 4


def test_the_grafana_dashboard_asks_only_for_metrics_that_exist():
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    dashboard = json.loads((root / "docker" / "grafana" / "mosaic-dashboard.json").read_text())
    asked = {re.sub(r"_(bucket|count|sum|total)$", "", name)
             for panel in dashboard["panels"] for target in panel["targets"]
             for name in re.findall(r"mosaic_[a-z_]+", target["expr"])}
    defined = {re.sub(r"_total$", "", name)
               for name in re.findall(r'"(mosaic_[a-z_]+)"', (root / "mosaic" / "metrics.py").read_text())}
    assert asked and asked <= defined, asked - defined
