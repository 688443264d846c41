"""Ingest benchmark: download throughput into the embedded object store and catalog, and memory vs rows.

Photos are generated 12 MP JPEGs (qualities 86/90/95: ~2, 3 and 5 MB), served from memory by a local HTTP server in its
own process (a remote server would not share our interpreter). Each URL gets a unique JPEG comment
segment, so every download is a distinct photo that is really stored, not a duplicate.
Figures are printed with PASS/MISS against the issue's targets; nothing here asserts on timing.
"""

from __future__ import annotations

import io
import multiprocessing
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import insert

from gather.downloads import download_all, url_key
from gather.storing import store_file
from mosaic.backends import Backends
from mosaic.catalog import upgrade
from mosaic.catalog.images import now
from mosaic.catalog.schema import downloads
from mosaic.settings import load_settings
from tests.bench.conftest import generated_photo

TARGET_IMAGES_PER_S = 100.0
POOL_IMAGES, SEQUENTIAL_IMAGES = 200, 40
QUALITIES = (86, 90, 95)  # 12 MP JPEGs of about 2, 3 and 5 MB: the "real size"
ROW_COUNTS = (10_000, 100_000)
FLAT_RSS_RATIO = 1.25  # 10x the rows may cost at most a quarter more peak memory
REPO = Path(__file__).resolve().parents[2]


def _unique(base: bytes, tag: str) -> bytes:
    # A COM segment right after SOI: a valid JPEG with the same pixels and a different sha256.
    comment = tag.encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


def _serve(connection) -> None:
    from tests.servers.flaky_http import FlakyServer

    bases = []
    for seed, quality in enumerate(QUALITIES):
        buffer = io.BytesIO()
        generated_photo(seed).save(buffer, "JPEG", quality=quality)
        bases.append(buffer.getvalue())

    def photo(path: str) -> bytes | None:
        if not path.startswith("/photo/"):
            return None
        number = int(path.rsplit("/", 1)[-1].split(".")[0])
        return _unique(bases[number % len(bases)], path)

    server = FlakyServer(generator=photo).start()
    connection.send((server.port, [len(base) for base in bases]))
    threading.Event().wait()  # serve until the benchmark terminates this process


@pytest.fixture(scope="module")
def jpeg_server():
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(theirs,), daemon=True)
    process.start()
    try:
        if not ours.poll(120):
            pytest.fail("the benchmark's photo server did not start")
        yield ours.recv()
    finally:
        process.terminate()
        process.join(10)


def _download(data_dir: Path, port: int, run: str, count: int, **overrides) -> tuple[float, Counter, Backends]:
    settings = load_settings(data_dir=data_dir, url_allowlist=["127.0.0.1"], **overrides)
    backends = Backends(settings)
    upgrade(backends.catalog)
    urls = (f"http://127.0.0.1:{port}/photo/{run}/{number}.jpg" for number in range(count))
    started = time.perf_counter()
    states = Counter(result.state for result in download_all(backends, urls, "url"))
    elapsed = time.perf_counter() - started
    backends.close()
    return elapsed, states, backends


def _store_only(data_dir: Path, port: int, count: int, threads: int) -> float:
    """images/s of store_file alone, fed from memory: the ceiling the storage layer sets here."""
    bases = [requests.get(f"http://127.0.0.1:{port}/photo/base/{n}.jpg", timeout=60).content for n in range(3)]
    backends = Backends(load_settings(data_dir=data_dir))
    upgrade(backends.catalog)

    def store(number: int) -> str:
        data = _unique(bases[number % 3], f"store-{threads}-{number}")
        return store_file(backends, io.BytesIO(data), "photo.jpg", "url").status

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        assert set(pool.map(store, range(count))) == {"stored"}
    elapsed = time.perf_counter() - started
    backends.close()
    return count / elapsed


def test_download_throughput_pool_vs_one_at_a_time(jpeg_server, tmp_path):
    port, sizes = jpeg_server
    mean_mb = sum(sizes) / len(sizes) / 1e6
    pool_s, pool_states, pool = _download(tmp_path / "pool", port, "pool", POOL_IMAGES)
    one_s, one_states, _ = _download(tmp_path / "one", port, "one", SEQUENTIAL_IMAGES,
                                     download_concurrency=1, download_per_host=1)
    assert pool_states == {"stored": POOL_IMAGES} and one_states == {"stored": SEQUENTIAL_IMAGES}
    pool_rate, one_rate = POOL_IMAGES / pool_s, SEQUENTIAL_IMAGES / one_s
    verdict = "PASS" if pool_rate >= TARGET_IMAGES_PER_S else "MISS"
    settings = pool.settings
    print(f"\ningest download: JPEGs 4000x3000 ({', '.join(f'{size / 1e6:.1f}' for size in sizes)} MB; "
          f"{mean_mb:.1f} MB mean), local server in its own process")
    print(f"  pool (concurrency {settings.download_concurrency}, per host {settings.download_per_host}): "
          f"{POOL_IMAGES} images in {pool_s:.1f} s = {pool_rate:.1f} images/s ({pool_rate * mean_mb:.0f} MB/s)")
    print(f"  one at a time: {SEQUENTIAL_IMAGES} images in {one_s:.1f} s = {one_rate:.1f} images/s "
          f"({one_rate * mean_mb:.0f} MB/s)")
    print(f"  speed-up {pool_rate / one_rate:.1f}x; target >= {TARGET_IMAGES_PER_S:.0f} images/s with the "
          f"default pool: {verdict}")
    one_store = _store_only(tmp_path / "store-1", port, SEQUENTIAL_IMAGES, 1)
    pool_store = _store_only(tmp_path / "store-n", port, SEQUENTIAL_IMAGES * 2, settings.download_concurrency)
    print(f"  ceiling of the storage layer alone (store_file from memory, no network): {one_store:.1f} images/s "
          f"with 1 thread, {pool_store:.1f} images/s with {settings.download_concurrency} threads")


# -- memory flat in the number of rows ------------------------------------------------------------

_MEASURE = textwrap.dedent("""
    import sys
    import psutil
    from gather.downloads import download_all
    from gather.unsplash.reader import Row, read
    from mosaic.backends import Backends
    from mosaic.settings import load_settings

    folder, data_dir, mode = sys.argv[1:4]
    backends = Backends(load_settings(data_dir=data_dir, url_allowlist=["127.0.0.1"]))
    backends.catalog.connect().close()
    before = psutil.Process().memory_info().rss // 2**20
    rows = (row for row in read(folder, "photos") if isinstance(row, Row))
    pairs = ((row["photo_id"], row["photo_image_url"]) for row in rows)
    if mode == "reader":
        count = sum(1 for _ in pairs)
    else:
        count = sum(1 for result in download_all(backends, pairs, "unsplash") if result.state == "skipped")
    backends.close()
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (large) pytest parent across fork+exec.
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(count, before, peak // 1024)
""")


def _peak_rss(folder: Path, data_dir: Path, mode: str) -> tuple[int, int, int]:
    """(rows seen, RSS in MB before the first row, peak RSS in MB after the last)."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(folder), str(data_dir), mode], cwd=REPO,
                          capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    count, before_mb, peak_mb = done.stdout.split()[-3:]
    return int(count), int(before_mb), int(peak_mb)


def _record_as_downloaded(backends: Backends, folder: Path) -> None:
    """Mark every photo URL of the dataset as stored, so download_all answers each row `skipped`."""
    from gather.unsplash.reader import Row, read

    chunk = []
    stamp = now()
    with backends.catalog.begin() as connection:
        for row in read(folder, "photos"):
            if isinstance(row, Row):
                url = row["photo_image_url"]
                chunk.append({"url_sha256": url_key(url), "url": url, "state": "stored", "attempts": 1,
                              "updated_at": stamp})
            if len(chunk) >= 5000:
                connection.execute(insert(downloads), chunk)
                chunk = []
        if chunk:
            connection.execute(insert(downloads), chunk)
    with backends.catalog.connect() as connection:  # the measured process starts without a WAL to replay
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def test_memory_is_flat_in_the_number_of_rows(tmp_path):
    from tests.unsplash_fixture import write_dataset

    figures = {}
    for rows in ROW_COUNTS:
        folder, data_dir = tmp_path / f"dataset-{rows}", tmp_path / f"var-{rows}"
        write_dataset(folder, rows, photo_url=lambda pid: f"http://127.0.0.1:9/photo/{pid}.jpg", parts=4)
        backends = Backends(load_settings(data_dir=data_dir))
        upgrade(backends.catalog)
        _record_as_downloaded(backends, folder)
        backends.close()
        figures[rows] = {mode: _peak_rss(folder, data_dir, mode) for mode in ("reader", "download_all")}
    print("\ningest memory: peak RSS of a fresh process streaming generated Unsplash dataset rows "
          "(photos file, 4 parts, hard cases)")
    for mode, label in (("reader", "dataset reader alone"),
                        ("download_all", "reader -> download_all (all rows already stored: skipped)")):
        small, large = (figures[rows][mode] for rows in ROW_COUNTS)
        ratio = large[2] / small[2]
        verdict = "PASS" if ratio <= FLAT_RSS_RATIO else "MISS"
        print(f"  {label}: {small[0]:,} rows {small[2]} MB peak, {large[0]:,} rows {large[2]} MB peak "
              f"(x{ratio:.2f}; flat = at most x{FLAT_RSS_RATIO}: {verdict}); RSS before the first row "
              f"{small[1]} / {large[1]} MB")
