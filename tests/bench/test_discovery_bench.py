"""Discovery latencies and near-duplicate quality (`make bench`; issue 5, "Benchmarks"). Prints; asserts no timing.

(a) GENERATED catalog rows and vectors (not photos): 10k, then grown to 100k images, each with 4 palette colours
    (random sRGB, Dirichlet shares, named bucket), random phash/dhash (1 % planted near-duplicates: 3 + 4 bits
    flipped), 2 labels of 20, a unit 1280-d VISUAL vector drawn around one of VISUAL_CLUSTERS random centres (real
    embeddings cluster by subject; uniform random vectors would be the worst case for the IVF index) (duplicates:
    a slightly perturbed copy). The IVF search's recall@20 against an exact numpy scan is printed with it.
    Rows go in bulk through SQLAlchemy, vectors through VectorStore.upsert in batches; embedded backends
    (SQLite catalog, Milvus Lite). Latency p50/p95/p99 through the Flask test client (HTTP layer included) of
    GET /similar/<id>, GET /colours (one hex, two hexes, a name) and GET /duplicates/<id>; and the time of
    GET /duplicates (every group) at 10k, estimated at 100k from a sample of its range-search batches.
(b) REAL photos (darknet, exif, piexif >= 200 px): each against its 50 % resize, JPEG q50, 5 %-each-side crop,
    10 % left crop, 10 % top crop, +10 % and -10 % brightness; precision and recall of the near-duplicate rule
    over all pairs, with and without the phash radius prefilter the Milvus search applies.
(c) Near-duplicate lookup (FINGERPRINT range search, 128-bit phash‖dhash, radius NEAR_DUPLICATE_BITS,
    LOOKUP_CANDIDATES nearest) among 1M GENERATED random fingerprints plus the real photos' versions of (b):
    p50/p95/p99, and whether each original's copies within the rule are still among the hits.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from mosaic.backends.vectors import VectorStore
from mosaic.catalog.schema import colours, hashes, images, tags
from mosaic.imaging.decode import decode
from mosaic.imaging.fingerprints import NEAR_DUPLICATE_BITS, fingerprint_bytes, fingerprint_vector, fingerprints
from mosaic.imaging.lab import ciede2000, rgb_to_hex, rgb_to_lab
from mosaic.imaging.named_colours import _LABS, _NAMES, NAMED_COLOURS
from mosaic.vector_layouts import FINGERPRINT, VISUAL
from recommend import create_app
from recommend.duplicates import LIST_BATCH, LIST_CANDIDATES, LOOKUP_CANDIDATES, VISUAL_MIN_COSINE, fingerprints_of

SIZES = (10_000, 100_000)
QUERIES = {10_000: 200, 100_000: 100}
VISUAL_BATCH = 200  # Milvus Lite inserts 1280-d vectors fastest in small batches
FINGERPRINT_BATCH = 2_000
SQL_BATCH = 20_000
DUPLICATE_SHARE = 0.01
VISUAL_CLUSTERS = 500
VISUAL_SPREAD = 0.8  # per-dimension noise around a centre of unit-variance dimensions
LABELS = ["dog", "cat", "person", "car", "bicycle", "seashore", "mountain", "tree", "sky", "building", "horse",
          "bird", "kite", "boat", "beach", "forest", "street", "flower", "food", "snow"]
FINGERPRINTS = 1_000_000
MIN_REAL_SIDE = 200


def _pcts(samples_ms: list[float]) -> str:
    p50, p95, p99 = np.percentile(samples_ms, [50, 95, 99])
    return f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms  ({len(samples_ms)} requests)"


def _timed(client, urls: list[str]) -> list[float]:
    samples = []
    for url in urls:
        start = time.perf_counter()
        answer = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (url, answer.get_json())
    return samples


# -- (a) generated catalog -----------------------------------------------------------------------------------------


def _generate(backends, start: int, stop: int, rng: np.random.Generator,
              centres: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Images start..stop-1: catalog rows in bulk, then vectors. Returns the planted duplicates' ids and the
    VISUAL vectors."""
    count = stop - start
    ids = [f"gen{index:010d}" for index in range(start, stop)]
    created = datetime.now(UTC)
    sizes = rng.choice(np.array([[4000, 3000], [3000, 4000], [1920, 1080], [1024, 1024], [6000, 4000]]), count)
    rgb = rng.integers(0, 256, (count, 4, 3))
    lab = rgb_to_lab(rgb)
    names = np.array(_NAMES)[np.argmin(ciede2000(lab[:, :, None, :], _LABS[None, None, :, :]), axis=2)]
    shares = -np.sort(-rng.dirichlet(np.ones(4) * 1.5, count), axis=1)
    phash = rng.integers(0, 2**63, count, dtype=np.uint64) * 2 + rng.integers(0, 2, count, dtype=np.uint64)
    dhash = rng.integers(0, 2**63, count, dtype=np.uint64) * 2 + rng.integers(0, 2, count, dtype=np.uint64)
    visual = (centres[rng.integers(0, len(centres), count)]
              + VISUAL_SPREAD * rng.standard_normal((count, 1280))).astype(np.float32)
    planted = []
    for copy in rng.choice(np.arange(1, count), int(count * DUPLICATE_SHARE), replace=False):
        original = int(rng.integers(0, copy))
        phash[copy] = phash[original] ^ np.uint64(sum(1 << int(b) for b in rng.choice(64, 3, replace=False)))
        dhash[copy] = dhash[original] ^ np.uint64(sum(1 << int(b) for b in rng.choice(64, 4, replace=False)))
        visual[copy] = visual[original] + 0.005 * rng.standard_normal(1280).astype(np.float32)
        planted.append(ids[copy])
    visual /= np.linalg.norm(visual, axis=1, keepdims=True)
    with backends.catalog.begin() as connection:
        for part in range(0, count, SQL_BATCH):
            rows = range(part, min(count, part + SQL_BATCH))
            connection.execute(images.insert(), [
                {"id": ids[i], "sha256": hashlib.sha256(ids[i].encode()).hexdigest(), "object_key": f"gen/{ids[i]}",
                 "source": "sample", "original_name": f"generated-{ids[i]}", "bytes": 3_000_000, "mime": "image/jpeg",
                 "width": int(sizes[i][0]), "height": int(sizes[i][1]), "state": "indexed", "pipeline_version": 1,
                 "created_at": created, "updated_at": created} for i in rows])
            connection.execute(colours.insert(), [
                {"image_id": ids[i], "rank": k, "hex": rgb_to_hex(rgb[i, k]), "red": int(rgb[i, k, 0]),
                 "green": int(rgb[i, k, 1]), "blue": int(rgb[i, k, 2]), "lab_l": float(lab[i, k, 0]),
                 "lab_a": float(lab[i, k, 1]), "lab_b": float(lab[i, k, 2]), "share": float(shares[i, k]),
                 "name": str(names[i, k])} for i in rows for k in range(4)])
            connection.execute(hashes.insert(), [
                {"image_id": ids[i], "kind": kind, "value": f"{int(value[i]):016x}"}
                for i in rows for kind, value in (("phash", phash), ("dhash", dhash))])
            connection.execute(tags.insert(), [
                {"image_id": ids[i], "label": label, "source": "detector", "score": 0.8}
                for i in rows for label in rng.choice(LABELS, 2, replace=False)])
    for part in range(0, count, FINGERPRINT_BATCH):
        backends.vectors.upsert(FINGERPRINT, [(ids[i], fingerprint_vector(int(phash[i]), int(dhash[i])))
                                              for i in range(part, min(count, part + FINGERPRINT_BATCH))])
    for part in range(0, count, VISUAL_BATCH):
        backends.vectors.upsert(VISUAL, [(ids[i], visual[i]) for i in range(part, min(count, part + VISUAL_BATCH))])
    return planted, visual


def _visual_recall(backends, vectors: np.ndarray, picks: list[str], k: int = 20) -> float:
    found = 0
    for image_id in picks:
        query = vectors[int(image_id[3:])]
        exact = {f"gen{i:010d}" for i in np.argsort(-(vectors @ query))[:k]}
        found += len(exact & {hit.id for hit in backends.vectors.search(VISUAL, query, limit=k)})
    return found / (k * len(picks))


def _bits_apart(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def _estimate_full_listing(backends, ids: list[str], batches: int = 10) -> float:
    """Seconds for the range searches of a full GET /duplicates, from `batches` sample batches."""
    sample = ids[:batches * LIST_BATCH]
    with backends.catalog.connect() as connection:
        prints = fingerprints_of(connection, sample)
    vectors = [fingerprint_vector(*prints[i]) for i in sample if i in prints]
    start = time.perf_counter()
    for part in range(0, len(vectors), LIST_BATCH):
        backends.vectors.range_search(FINGERPRINT, vectors[part:part + LIST_BATCH], NEAR_DUPLICATE_BITS + 1,
                                      limit=LIST_CANDIDATES)
    per_batch = (time.perf_counter() - start) / batches
    return per_batch * len(ids) / LIST_BATCH


def test_discovery_latency_on_generated_catalogs(backends):
    from recommend import caches

    rng = np.random.default_rng(5)
    client = create_app(backends.settings, backends).test_client()
    print("\n== discovery latency, GENERATED catalog rows and vectors, embedded backends (SQLite, Milvus Lite) ==")
    made, planted, vectors = 0, [], []
    centres = rng.standard_normal((VISUAL_CLUSTERS, 1280))
    for size in SIZES:
        start = time.perf_counter()
        more, visual = _generate(backends, made, size, rng, centres)
        planted += more
        vectors.append(visual)
        made = size
        print(f"-- {size:,} generated images (built in {time.perf_counter() - start:.0f} s, "
              f"{len(planted):,} planted near-duplicates)")
        ids = [f"gen{i:010d}" for i in range(size)]
        queries = QUERIES[size]
        picks = [ids[i] for i in rng.choice(size, queries, replace=False)]
        print(f"similar            {_pcts(_timed(client, [f'/similar/{i}?limit=20' for i in picks]))}")
        print(f"visual search      recall@20 of the IVF index vs an exact scan: "
              f"{_visual_recall(backends, np.concatenate(vectors), picks[:50]):.3f}")
        hexes = [rgb_to_hex(c) for c in rng.integers(0, 256, (queries * 2, 3))]
        one = [f"/colours?hex=%23{h[1:]}&min_share=0.1&limit=20" for h in hexes[:queries]]
        print(f"colours, one hex   {_pcts(_timed(client, one))}")
        two = [f"/colours?hex=%23{a[1:]}&hex=%23{b[1:]}&max_delta_e=20&limit=20"
               for a, b in zip(hexes[:queries], hexes[queries:], strict=True)]
        print(f"colours, two hexes {_pcts(_timed(client, two))}")
        named = [f"/colours?name={n}&min_share=0.1&limit=20" for n in rng.choice(list(NAMED_COLOURS), queries)]
        print(f"colours, by name   {_pcts(_timed(client, named))}")
        lookups = [f"/duplicates/{i}" for i in picks[: queries // 2] + planted[: queries // 2]]
        print(f"duplicate lookup   {_pcts(_timed(client, lookups))}")
        if size <= 10_000:
            caches.duplicate_listing(client.application).clear()
            start = time.perf_counter()
            groups = client.get("/duplicates?limit=1000").get_json()
            full = time.perf_counter() - start
            start = time.perf_counter()
            client.get("/duplicates?limit=1000")
            again = time.perf_counter() - start
            print(f"all groups         full {full:.2f} s, {groups['total']:,} groups; "
                  f"again (cached, nothing new) {again:.2f} s")
        else:
            # The incremental listing after +90k took 125 s in a full run: too long for `make bench`; estimated.
            estimate = _estimate_full_listing(backends, ids)
            print(f"all groups         full recompute estimated at {estimate:.0f} s "
                  f"(range searches only, from 10 sampled batches of {LIST_BATCH})")


# -- (b) near-duplicate quality on real photos -------------------------------------------------------------------


def _versions(image: Image.Image) -> dict[str, Image.Image]:
    width, height = image.size

    def jpeg(picture: Image.Image, quality: int) -> Image.Image:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")

    return {
        "original": image,
        "resize50": jpeg(image.resize((width // 2, height // 2), Image.Resampling.LANCZOS), 90),
        "jpeg50": jpeg(image, 50),
        "crop5each": jpeg(image.crop((width // 20, height // 20, width - width // 20, height - height // 20)), 90),
        "crop10left": jpeg(image.crop((width // 10, 0, width, height)), 90),
        "crop10top": jpeg(image.crop((0, height // 10, width, height)), 90),
        "bright+10": jpeg(ImageEnhance.Brightness(image).enhance(1.1), 90),
        "bright-10": jpeg(ImageEnhance.Brightness(image).enhance(0.9), 90),
    }


def _real_photo_versions(photos_dir: Path) -> list[tuple[str, str, dict[str, str], np.ndarray]]:
    """(photo, version, fingerprints, visual embedding) for every real photo and its transformed copies, decoded as
    the pipeline does."""
    from processor.embedding import open_embedder

    found, pictures = [], []
    for path in sorted(p for p in photos_dir.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        try:
            picture = decode(io.BytesIO(path.read_bytes()), max_pixels=100_000_000).image
        except Exception:  # the piexif set holds deliberately malformed files
            continue
        if min(picture.size) < MIN_REAL_SIDE:
            continue
        for version, image in _versions(picture.convert("RGB")).items():
            if version != "original":  # a stored copy is decoded again by the pipeline
                buffer = io.BytesIO()
                image.save(buffer, "PNG")
                image = decode(io.BytesIO(buffer.getvalue()), max_pixels=100_000_000).image
            found.append((str(path.relative_to(photos_dir)), version, fingerprints(image)))
            pictures.append(image)
    vectors = open_embedder().embed_many(pictures)
    return [(*item, vector) for item, vector in zip(found, vectors, strict=True)]


@pytest.fixture(scope="module")
def real_versions(photos_dir):
    return _real_photo_versions(photos_dir)


def test_near_duplicate_precision_and_recall_on_real_photos(real_versions):
    photos = np.array([photo for photo, _, _, _ in real_versions])
    phash = np.array([int(f["phash"], 16) for _, _, f, _ in real_versions], dtype=np.uint64)
    dhash = np.array([int(f["dhash"], 16) for _, _, f, _ in real_versions], dtype=np.uint64)
    vectors = np.array([vector for _, _, _, vector in real_versions], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = vectors @ vectors.T
    phash_bits = np.bitwise_count(phash[:, None] ^ phash[None, :])
    total_bits = phash_bits.astype(np.int32) + np.bitwise_count(dhash[:, None] ^ dhash[None, :])
    upper = np.triu(np.ones_like(total_bits, dtype=bool), 1)
    same = (photos[:, None] == photos[None, :]) & upper
    different = (photos[:, None] != photos[None, :]) & upper
    print(f"\n== near-duplicates, REAL photos: {len(set(photos))} photos × {len(real_versions) // len(set(photos))} "
          f"versions, {int(same.sum())} same-photo pairs, {int(different.sum())} different-photo pairs ==")
    rule = total_bits <= NEAR_DUPLICATE_BITS
    product = rule & (cosine >= VISUAL_MIN_COSINE)
    for title, predicted in ((f"fingerprints alone (phash+dhash <= {NEAR_DUPLICATE_BITS})", rule),
                             (f"the product: + visual cosine >= {VISUAL_MIN_COSINE}", product)):
        true_positive = int((predicted & same).sum())
        false_positive = int((predicted & different).sum())
        precision = true_positive / max(1, true_positive + false_positive)
        recall = true_positive / max(1, int(same.sum()))
        verdict = "PASS" if precision >= 0.99 and recall >= 0.95 else "MISS"
        print(f"{title:45s} precision {precision:.4f}  recall {recall:.4f}  (targets 0.99 / 0.95: {verdict})")
    print(f"same photo: max {int(total_bits[same].max())} bits (phash max {int(phash_bits[same].max())}), "
          f"min cosine {float(cosine[same].min()):.3f}; different photos: min {int(total_bits[different].min())} bits, "
          f"max cosine {float(cosine[different].max()):.3f}")
    versions = np.array([version for _, version, _, _ in real_versions])
    for version in dict.fromkeys(versions):
        if version == "original":
            continue
        pairs = same & (((versions[:, None] == "original") & (versions[None, :] == version))
                        | ((versions[None, :] == "original") & (versions[:, None] == version)))
        print(f"  original vs {version:11s} max {int(total_bits[pairs].max()):2d} bits, "
              f"min cosine {float(cosine[pairs].min()):.3f}, recall {float(product[pairs].mean()):.3f}")


# -- (c) near-duplicate lookup at 1M fingerprints ------------------------------------------------------------------


def test_near_duplicate_lookup_at_a_million_fingerprints(tmp_path, real_versions):
    rng = np.random.default_rng(11)
    store = VectorStore(str(tmp_path / "fingerprints.db"))
    budget_seconds = float(os.environ.get("MOSAIC_BENCH_FINGERPRINT_SECONDS", "120"))
    start = time.perf_counter()
    inserted = 0
    while inserted < FINGERPRINTS and time.perf_counter() - start < budget_seconds:
        codes = rng.integers(0, 2**64, (FINGERPRINT_BATCH * 10, 2), dtype=np.uint64)
        for part in range(0, len(codes), FINGERPRINT_BATCH):
            store.upsert(FINGERPRINT, [(f"r{inserted + part + i}", fingerprint_vector(int(p), int(d)))
                                       for i, (p, d) in enumerate(codes[part:part + FINGERPRINT_BATCH])])
        inserted += len(codes)
    built = time.perf_counter() - start
    real = [(f"{photo}|{version}", fingerprint_bytes(f["phash"], f["dhash"]))
            for photo, version, f, _ in real_versions]
    store.upsert(FINGERPRINT, [(name.replace("/", "_").replace("|", "-")[:60], code) for name, code in real])
    label = "1M" if inserted >= FINGERPRINTS else f"{inserted:,} (what fit the {budget_seconds:.0f} s budget)"
    print(f"\n== near-duplicate lookup among {label} GENERATED random fingerprints + {len(real)} real ones "
          f"(built in {built:.0f} s) ==")
    originals = [(name, code) for name, code in real if name.endswith("|original")]
    samples, found_copies, wanted_copies, candidates = [], 0, 0, []
    queries = [code for _, code in originals] + [fingerprint_vector(int(p), int(d)) for p, d
                                                 in rng.integers(0, 2**64, (200, 2), dtype=np.uint64)]
    for code in queries:
        begin = time.perf_counter()
        hits = store.range_search(FINGERPRINT, [code], NEAR_DUPLICATE_BITS + 1, limit=LOOKUP_CANDIDATES)[0]
        samples.append((time.perf_counter() - begin) * 1000)
        candidates.append(len(hits))
    for name, code in originals:
        photo = name.split("|")[0]
        hits = {hit.id for hit in store.range_search(FINGERPRINT, [code], NEAR_DUPLICATE_BITS + 1,
                                                     limit=LOOKUP_CANDIDATES)[0]}
        copies = [n.replace("/", "_").replace("|", "-")[:60] for n, c in real
                  if n.startswith(photo + "|") and not n.endswith("|original")
                  and _bits_apart(c, code) <= NEAR_DUPLICATE_BITS]
        wanted_copies += len(copies)
        found_copies += sum(copy in hits for copy in copies)
    p95 = float(np.percentile(samples, 95))
    print(f"FINGERPRINT range search (radius {NEAR_DUPLICATE_BITS}, {LOOKUP_CANDIDATES} nearest)  {_pcts(samples)}  "
          f"target p95 <= 10 ms: {'PASS' if p95 <= 10 else 'MISS'}")
    print(f"hits per lookup: median {int(np.median(candidates))}, max {max(candidates)}; the real copies within the "
          f"rule still among the hits: {found_copies}/{wanted_copies}")
    store.close()
