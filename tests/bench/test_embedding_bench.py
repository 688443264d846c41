"""Milliseconds per image for scene labels and similarity vectors on the real photos (`make bench`).

Printed, not asserted: the numbers depend on the machine. Photos go through the harvest decode first, so
the models see the same 1024 px working copies as in production.
"""

from __future__ import annotations

import time

import torch

from harvest_worker.scenes import SceneClassifier
from mosaic.imaging.decode import decode
from processor.embedding import open_embedder

PHOTOS = ["darknet/dog.jpg", "darknet/eagle.jpg", "darknet/giraffe.jpg", "darknet/horses.jpg", "darknet/kite.jpg",
          "darknet/person.jpg", "darknet/scream.jpg", "exif/starfish.jpg", "exif/IMG_0001.JPG"]


def _ms_per_image(images, function, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function(images)
        best = min(best, time.perf_counter() - start)
    return best * 1000 / len(images)


def test_scene_and_embedding_cost_per_image(photos_dir):
    images = []
    for name in PHOTOS:
        with open(photos_dir / name, "rb") as stream:
            images.append(decode(stream, max_pixels=50_000_000).image)

    classifier = SceneClassifier()
    start = time.perf_counter()
    classifier.classify(images[0])
    scene_load = time.perf_counter() - start
    scenes = _ms_per_image(images, lambda batch: [classifier.classify(image) for image in batch])

    start = time.perf_counter()
    embedder = open_embedder()
    embed_load = time.perf_counter() - start
    threads = torch.get_num_threads()
    timings = {}
    try:
        for count in sorted({1, threads}):
            torch.set_num_threads(count)
            embedder.embed(images[0])  # warm-up: the first forward pass allocates
            timings[count] = (_ms_per_image(images, lambda batch: [embedder.embed(image) for image in batch]),
                              _ms_per_image(images, embedder.embed_many))
    finally:
        torch.set_num_threads(threads)

    print(f"\nscenes (EfficientNet-Lite3 uint8, LiteRT, 1 thread): {scenes:.1f} ms/image; "
          f"first call incl. model load {scene_load * 1000:.0f} ms")
    print(f"embedding (MobileNetV2 1280-d, torch): load {embed_load * 1000:.0f} ms")
    for count, (single, batched) in timings.items():
        print(f"  {count} torch thread(s): {single:.1f} ms/image one by one, {batched:.1f} ms/image in one batch")
