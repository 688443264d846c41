"""Dashboard latency at 100k GENERATED images (`make bench`): every chart, SQLite and PostgreSQL. Printed, not asserted.

Rows are GENERATED (images labelled `source="generated"`): sizes, makes, capture dates (some missing, so the
upload date counts), places in a dozen countries (60 % of photos), a 3-colour palette and 1-4 tags each.
Each chart is timed as the service computes it on a cache miss: the SQL aggregates plus building the
figure and its JSON (median of 3 after a warm-up). Target: ≤ 300 ms per chart.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert

from mosaic.catalog.schema import colours, exif, images, places, tags
from mosaic.imaging.named_colours import NAMED_COLOURS
from visualize.figures import CHARTS
from visualize.filters import Filters

IMAGES = 100_000
TARGET_MS = 300
MAKES = ["Canon", "Nikon", "Sony", "Fujifilm", "Apple", "Samsung", "Olympus", "Panasonic", "Leica", "Google"]
COUNTRIES = [("France", "FR", 46.0, 2.0), ("Japan", "JP", 36.0, 138.0), ("United States", "US", 39.0, -98.0),
             ("Brazil", "BR", -10.0, -52.0), ("Kenya", "KE", 0.5, 38.0), ("Norway", "NO", 62.0, 10.0),
             ("India", "IN", 22.0, 79.0), ("Australia", "AU", -25.0, 134.0), ("Peru", "PE", -9.0, -75.0),
             ("Italy", "IT", 42.8, 12.5), ("Canada", "CA", 56.0, -106.0), ("Nepal", "NP", 28.2, 84.0)]
LABELS = ["dog", "cat", "person", "car", "bicycle", "bird", "boat", "beach", "mountain", "forest", "street",
          "sky", "building", "horse", "train", "pizza", "umbrella", "kite", "bench", "flower", "snow", "lake",
          "bridge", "tower", "market", "desert", "field", "harbour", "night", "sunset"]
SIZES = [(6000, 4000), (4000, 6000), (4032, 3024), (3024, 4032), (1920, 1080), (1080, 1920), (2048, 2048),
         (800, 600), (640, 480), (3000, 3000), (5472, 3648), (2560, 1440)]
NAMES = list(NAMED_COLOURS)
CHUNK = 10_000
OPTIONS = {"size/static": {"interval_size": 500, "nb_intervals": 12}, "tags/dendrogram": {"categories": ()}}


def generate(engine, count: int = IMAGES, seed: int = 7) -> None:
    """`count` GENERATED images with exif, places, palettes and tags, bulk-inserted in chunks."""
    rng = np.random.default_rng(seed)
    start = datetime(2015, 1, 1)
    for first in range(0, count, CHUNK):
        rows = {table: [] for table in (images, exif, places, colours, tags)}
        for n in range(first, min(first + CHUNK, count)):
            image_id = f"g{n:09d}"
            width, height = SIZES[rng.integers(len(SIZES))]
            uploaded = (start + timedelta(days=int(rng.integers(3650)))).replace(tzinfo=UTC)
            rows[images].append({
                "id": image_id, "sha256": f"{n:064x}", "object_key": f"originals/{image_id}", "source": "generated",
                "bytes": 1000, "mime": "image/jpeg", "width": int(width), "height": int(height), "state": "indexed",
                "created_at": uploaded, "updated_at": uploaded})
            taken = uploaded.replace(tzinfo=None) - timedelta(days=int(rng.integers(400)))
            rows[exif].append({"image_id": image_id, "make": MAKES[rng.integers(len(MAKES))] if rng.random() < .85
                               else None, "taken_at": taken if rng.random() < 0.7 else None,
                               "gps_altitude": float(rng.normal(400, 600)) if rng.random() < 0.5 else None})
            if rng.random() < 0.6:
                country, code, lat, lon = COUNTRIES[rng.integers(len(COUNTRIES))]
                rows[places].append({"image_id": image_id, "country": country, "country_code": code,
                                     "latitude": float(lat + rng.normal(0, 3)),
                                     "longitude": float(lon + rng.normal(0, 3)),
                                     "altitude": float(abs(rng.normal(300, 800))) if rng.random() < 0.8 else None})
            for rank in range(3):
                name = NAMES[rng.integers(len(NAMES))]
                hex_ = NAMED_COLOURS[name]
                red, green, blue = (int(hex_[i:i + 2], 16) for i in (1, 3, 5))
                rows[colours].append({"image_id": image_id, "rank": rank, "hex": hex_, "red": red, "green": green,
                                      "blue": blue, "lab_l": 50.0, "lab_a": 0.0, "lab_b": 0.0,
                                      "share": 0.5 / (rank + 1), "name": name})
            for label in rng.choice(LABELS, size=int(rng.integers(1, 5)), replace=False):
                rows[tags].append({"image_id": image_id, "label": str(label),
                                   "source": "detector" if rng.random() < 0.6 else "scene", "score": 0.8})
        with engine.begin() as connection:
            for table, batch in rows.items():
                if batch:
                    connection.execute(insert(table), batch)


def time_charts(engine, label: str) -> dict[str, float]:
    cases = [("", Filters()), (" [make=Canon, from=2020-01-01]",
                               Filters.model_validate({"make": "Canon", "from": "2020-01-01"}))]
    results = {}
    with engine.connect() as connection:
        for suffix, filters in cases:
            for name, chart in CHARTS.items():
                options = OPTIONS.get(name, {})
                chart.build(connection, filters, **options).to_json()  # warm-up
                runs = []
                for _ in range(3):
                    began = time.perf_counter()
                    chart.build(connection, filters, **options).to_json()
                    runs.append((time.perf_counter() - began) * 1000)
                results[name + suffix] = statistics.median(runs)
    print(f"\nDashboards on {label}, {IMAGES:,} generated images (median of 3, ms; target ≤ {TARGET_MS}):")
    for name, ms in results.items():
        print(f"  {name:48s} {ms:8.1f}  {'ok' if ms <= TARGET_MS else 'SLOW'}")
    return results


def test_dashboards_sqlite(backends):
    began = time.perf_counter()
    generate(backends.catalog)
    print(f"\ngenerated {IMAGES:,} images on SQLite in {time.perf_counter() - began:.1f} s")
    time_charts(backends.catalog, "SQLite")


@pytest.mark.servers
def test_dashboards_postgresql(postgres_database):
    from mosaic.catalog import open_catalog, upgrade

    engine = open_catalog(postgres_database)
    upgrade(engine)
    try:
        began = time.perf_counter()
        generate(engine)
        # The state autovacuum leaves a table in soon after a bulk load (PostgreSQL ≥ 13 also vacuums after
        # inserts): planner statistics, and a visibility map, without which every index-only scan reads the
        # table too. Right after the inserts, with ANALYZE alone, the tag charts take ~100 ms more.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        print(f"\ngenerated {IMAGES:,} images on PostgreSQL in {time.perf_counter() - began:.1f} s")
        time_charts(engine, "PostgreSQL")
    finally:
        engine.dispose()
