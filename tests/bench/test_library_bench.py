"""Library latency on GENERATED rows (`make bench`): browse's first page, a deep page, and search by words, each
beside the same query the naive way (OFFSET for pages, LIKE for words), measured in the same run. Printed,
not asserted. Targets: first page ≤ 30 ms, deep page ≤ 30 ms, search ≤ 50 ms (p95).

Rows are GENERATED (images labelled `source="generated"`): a capture time over ten years, 1-3 labels of 30
(a third of them unsure scenes), a search document per photo made as mosaic/catalog/documents.py makes them.
100k on SQLite and PostgreSQL, 1M on PostgreSQL (COPY). Each figure is the whole call the view makes (the
page's SQL plus its items' places and tags).
"""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert, select, text

from mosaic.catalog.schema import images, search_documents, tags
from recommend import library, text_search
from recommend.words import WordVectors

LABELS = ["dog", "cat", "person", "car", "bicycle", "bird", "boat", "beach", "mountain", "forest", "street",
          "sky", "building", "horse", "train", "pizza", "umbrella", "kite", "bench", "flower", "snow", "lake",
          "bridge", "tower", "market", "desert", "field", "harbour", "night", "sunset"]
TOWNS = ["paris", "tokyo", "lima", "oslo", "nairobi", "delhi", "rome", "perth"]
CHUNK = 20_000
RUNS = 30
TARGETS = {"first page": 30, "deep page": 30, "search": 50}
QUERIES = ["dog", "dog beach", "tokyo sunset", "puppy"]


def _rows(first: int, count: int, rng) -> dict:
    start = datetime(2015, 1, 1)
    found = {images: [], tags: [], search_documents: []}
    for n in range(first, first + count):
        image_id = f"g{n:09d}"
        shot = start + timedelta(seconds=int(rng.integers(10 * 365 * 86400)))
        stamp = shot.replace(tzinfo=UTC)
        found[images].append({"id": image_id, "sha256": f"{n:064x}", "object_key": f"originals/{image_id}",
                              "source": "generated", "original_name": f"IMG_{n}.jpg", "bytes": 1000,
                              "mime": "image/jpeg", "width": 4000, "height": 3000, "state": "indexed",
                              "created_at": stamp, "updated_at": stamp, "shot_at": shot})
        body, weak = [f"img {n} jpg", TOWNS[n % len(TOWNS)]], []
        for label in rng.choice(LABELS, size=int(rng.integers(1, 4)), replace=False):
            scene = rng.random() < 0.33
            score = float(rng.uniform(0.02, 0.5)) if scene else 0.8
            found[tags].append({"image_id": image_id, "label": str(label), "source": "scene" if scene else "detector",
                                "score": score})
            (weak if scene and score < 0.2 else body).append(str(label))
        found[search_documents].append({"id": n + 1, "image_id": image_id, "body": " ".join(body),
                                        "weak": " ".join(weak), "shot_at": shot})
    return found


def generate(engine, count: int, seed: int = 11) -> None:
    """`count` GENERATED photos with tags and search documents: COPY on PostgreSQL, executemany on SQLite."""
    rng = np.random.default_rng(seed)
    for first in range(0, count, CHUNK):
        rows = _rows(first, min(CHUNK, count - first), rng)
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                cursor = connection.connection.dbapi_connection.cursor()
                for table, batch in rows.items():
                    names = list(batch[0])
                    buffer = io.StringIO()
                    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)  # "" is an empty string, not NULL
                    for row in batch:
                        writer.writerow(["" if row[name] is None else row[name] for name in names])
                    buffer.seek(0)
                    cursor.copy_expert(f"COPY {table.name} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv)", buffer)
            else:
                for table, batch in rows.items():
                    connection.execute(insert(table), batch)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"SELECT setval('search_documents_id_seq', {count + 1})")
            connection.exec_driver_sql("VACUUM ANALYZE")


def p95(call) -> float:
    call()  # warm-up
    runs = []
    for _ in range(RUNS):
        began = time.perf_counter()
        call()
        runs.append((time.perf_counter() - began) * 1000)
    return float(np.percentile(runs, 95))


def measure(engine, count: int, label: str, words: WordVectors) -> None:
    figures = []
    with engine.connect() as connection:
        columns = ", ".join(column.name for column in library.COLUMNS)
        order = "ORDER BY shot_at DESC, id DESC"

        def offset_page(skip: int):
            return lambda: connection.execute(text(
                f"SELECT {columns} FROM images WHERE deleted_at IS NULL {order} LIMIT 60 OFFSET {skip}")).all()

        first = p95(lambda: library.browse(connection, library.Filters(), 60))
        figures.append(("first page", "", first, p95(offset_page(0)), "OFFSET 0"))
        deep = int(count * 0.9)
        row = connection.execute(text(f"SELECT shot_at, id FROM images {order} LIMIT 1 OFFSET {deep - 1}")).one()
        shot_at = row.shot_at if isinstance(row.shot_at, datetime) else datetime.fromisoformat(row.shot_at)
        keyset = p95(lambda: library.browse(connection, library.Filters(), 60, (shot_at, row.id)))
        figures.append(("deep page", f"after {deep:,}", keyset, p95(offset_page(deep)), f"OFFSET {deep:,}"))
        known = sorted(set(LABELS))
        for q in QUERIES:
            terms = text_search.parse(q)
            ours = p95(lambda terms=terms: text_search.search(connection, terms, library.Filters(), 60,
                                                               words=words, known=known))
            likes = " AND ".join(f"d.body LIKE '%{word}%'" for word in terms.words)
            naive = p95(lambda likes=likes: connection.execute(text(
                f"SELECT i.id FROM images i JOIN search_documents d ON d.image_id = i.id WHERE i.deleted_at IS NULL "
                f"AND {likes} ORDER BY i.shot_at DESC, i.id DESC LIMIT 60")).all())
            hits = connection.execute(select(search_documents.c.id).where(
                search_documents.c.body.contains(terms.words[0])).limit(1)).first()
            figures.append(("search", f"q={q!r}", ours, naive, "LIKE" + ("" if hits else " (no literal hit)")))
    print(f"\nLibrary on {label}, {count:,} GENERATED photos (p95 of {RUNS}, ms):")
    for name, detail, ours, baseline, how in figures:
        target = TARGETS[name]
        print(f"  {name:11s} {detail:22s} {ours:8.1f}  {'ok' if ours <= target else 'SLOW':4s} (target ≤ {target})"
              f"   baseline {how}: {baseline:8.1f}")


@pytest.fixture(scope="module")
def words():
    vectors = WordVectors()
    assert vectors.available or vectors.error  # loads spaCy before timing
    return vectors


def test_library_sqlite_100k(backends, words):
    began = time.perf_counter()
    generate(backends.catalog, 100_000)
    print(f"\ngenerated 100,000 photos on SQLite in {time.perf_counter() - began:.1f} s")
    measure(backends.catalog, 100_000, "SQLite", words)


@pytest.mark.servers
@pytest.mark.parametrize("count", [100_000, 1_000_000])
def test_library_postgresql(postgres_database, words, count):
    from mosaic.catalog import open_catalog, upgrade

    engine = open_catalog(postgres_database)
    upgrade(engine)
    try:
        began = time.perf_counter()
        generate(engine, count)
        print(f"\ngenerated {count:,} photos on PostgreSQL in {time.perf_counter() - began:.1f} s")
        measure(engine, count, "PostgreSQL", words)
    finally:
        engine.dispose()
