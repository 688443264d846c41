"""End-to-end enrichment throughput (issue 12): photos uploaded over HTTP to `mosaic run` until all are indexed,
beside what the same number of harvest workers reach in-process on the same photos, measured in the same run.

The photos: every real test photo (darknet, exif, piexif), each re-encoded into variants (scaled so the median is
about 4.3 MP like the issue's set, mirrored, cropped, re-compressed) so every file is a distinct photo with real
content. Uploaded in 8 batches with MOSAIC_WORKERS=2. Figures only; nothing here asserts on timing.
"""

from __future__ import annotations

import io
import multiprocessing
import statistics
import time
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageOps

from tests.platform import running_platform, wait_for_states

PHOTOS, BATCHES, WORKERS = 200, 8, 2
TARGET_PER_S = 15.0
BASELINE_PER_S = 10.3  # the measurement before this work (same recipe, 2 cores)
MEDIAN_PIXELS = 4_300_000


def _variants(photos_dir: Path) -> list[tuple[str, bytes]]:
    sources = []
    for path in sorted(photos_dir.glob("*/*.jpg")) + sorted(photos_dir.glob("*/*.JPG")):
        try:
            with Image.open(path) as opened:
                picture = ImageOps.exif_transpose(opened).convert("RGB")
        except Exception:
            continue  # the piexif set holds deliberately broken files: not photos for a throughput figure
        if min(picture.size) >= 200:
            sources.append((path.stem, picture))
    made = []
    index = 0
    while len(made) < PHOTOS:
        name, picture = sources[index % len(sources)]
        round_ = index // len(sources)
        scale = (MEDIAN_PIXELS * (0.6 + 0.1 * (round_ % 9)) / (picture.width * picture.height)) ** 0.5
        variant = picture.resize((max(64, int(picture.width * scale)), max(64, int(picture.height * scale))),
                                 Image.Resampling.BILINEAR)
        if round_ % 2:
            variant = ImageOps.mirror(variant)
        if round_ % 3 == 1:
            variant = variant.crop((variant.width // 20, 0, variant.width, variant.height))
        data = io.BytesIO()
        variant.save(data, "JPEG", quality=80 + round_ % 15)
        made.append((f"{name}-{round_}.jpg", data.getvalue()))
        index += 1
    return made


def _in_process_worker(data_dir: str, files: list[tuple[str, bytes]], results) -> None:
    """Store, harvest and index on embedded backends in this process (no HTTP, no queue, no dispatcher)."""
    import os

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    import torch

    torch.set_num_threads(1)
    from tests.enriched import enrich as enrich_files
    from tests.enriched import enriched_backends

    try:
        backends = enriched_backends(data_dir, max_upload_bytes=50_000_000, max_pixels=50_000_000)
        enrich_files(backends, dict(files[:1]))  # models load here, as in a started worker
        start = time.perf_counter()
        enrich_files(backends, dict(files[1:]))
        results.put((len(files) - 1, time.perf_counter() - start))
        backends.close()
    except BaseException as exc:
        results.put(exc)
        raise


def _in_process(files, tmp_path) -> float:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    shares = [files[i::WORKERS] for i in range(WORKERS)]
    workers = [context.Process(target=_in_process_worker, args=(str(tmp_path / f"w{i}"), share, results))
               for i, share in enumerate(shares)]
    for worker in workers:
        worker.start()
    done = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(60)
    failed = [item for item in done if isinstance(item, BaseException)]
    assert not failed, failed
    return sum(count for count, _ in done) / max(seconds for _, seconds in done)


@pytest.mark.parametrize("workers", [WORKERS])
def test_end_to_end_throughput(photos_dir, tmp_path, workers):
    files = _variants(photos_dir)
    pixels = statistics.median(Image.open(io.BytesIO(data)).size[0] * Image.open(io.BytesIO(data)).size[1]
                               for _, data in files)
    env = {"MOSAIC_WORKERS": str(workers), "MOSAIC_MAX_UPLOAD_BYTES": "50000000"}
    with running_platform(tmp_path / "data", env) as base:
        # One photo first, not counted: the figure is throughput, not the workers' start-up (models load once).
        warm = requests.post(f"{base}/gather/uploads", timeout=60,
                             files=[("files", ("warm-up.jpg", (photos_dir / "darknet" / "dog.jpg").read_bytes()))])
        wait_for_states(base, [warm.json()["files"][0]["id"]], {"indexed"})
        time.sleep(3)  # the other harvest worker finishes loading too
        start = time.perf_counter()
        ids = []
        for batch in range(BATCHES):
            part = files[batch::BATCHES]
            answer = requests.post(f"{base}/gather/uploads", timeout=300,
                                   files=[("files", (name, data)) for name, data in part])
            assert answer.status_code == 201, answer.text
            ids += [f["id"] for f in answer.json()["files"] if f["status"] == "stored"]
        uploaded = time.perf_counter() - start
        while True:
            counts = requests.get(f"{base}/harvest/status", timeout=30).json()["counts"]
            if counts.get("indexed", 0) + counts.get("failed", 0) >= len(ids) + 1:  # + the warm-up photo
                break
            assert time.perf_counter() - start < 600, counts
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
    end_to_end = len(ids) / elapsed
    print(f"\n=== End-to-end enrichment: {len(ids)} photos (real photos re-encoded into variants, median "
          f"{pixels / 1e6:.1f} MP), {BATCHES} batches over HTTP, MOSAIC_WORKERS={workers}, 2 cores ===")
    print(f"uploads took {uploaded:.1f} s; all indexed after {elapsed:.1f} s; failed: {counts.get('failed', 0)}")
    print(f"end to end      {end_to_end:6.1f} photos/s   target >= {TARGET_PER_S}: "
          f"{'PASS' if end_to_end >= TARGET_PER_S else 'MISS'}   issue's baseline {BASELINE_PER_S} "
          f"(x{end_to_end / BASELINE_PER_S:.2f})", flush=True)
    in_process = _in_process(files, tmp_path)
    print(f"in-process      {in_process:6.1f} photos/s   ({workers} processes: store, harvest, index; no HTTP or queue)"
          f"   end to end / in-process = {end_to_end / in_process:.2f}")
    assert counts.get("failed", 0) == 0

