"""Harvest step costs against a baseline measured in the same run (`make bench`).

The photo is generated (a 12 MP JPEG of smooth gradients and noise), labelled as such; the
baselines are the naive ways: a full decode, and k-means on a 200x200 copy.
"""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

from mosaic.imaging.colours import dominant_colours
from mosaic.imaging.decode import decode


def _twelve_megapixel_jpeg() -> bytes:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:3000, 0:4000]
    pixels = np.stack([x * 255 // 4000, y * 255 // 3000, (x + y) * 255 // 7000], axis=-1).astype(np.int16)
    pixels += rng.integers(-20, 20, pixels.shape, dtype=np.int16)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


def _best_of(repeats: int, function) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def test_decode_and_colours_against_naive_baselines():
    data = _twelve_megapixel_jpeg()

    def full_decode():
        with Image.open(io.BytesIO(data)) as image:
            image.convert("RGB").load()

    ours_decode = _best_of(5, lambda: decode(io.BytesIO(data), max_pixels=50_000_000))
    naive_decode = _best_of(5, full_decode)
    working = decode(io.BytesIO(data), max_pixels=50_000_000).image

    def naive_colours():
        small = np.asarray(working.resize((200, 200))).reshape(-1, 3).astype(np.float64)
        centres = small[np.random.default_rng(0).choice(len(small), 4, replace=False)]
        for _ in range(12):
            labels = ((small[:, None] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
            centres = np.array([small[labels == k].mean(axis=0) if (labels == k).any() else centres[k]
                                for k in range(4)])

    ours_colours = _best_of(5, lambda: dominant_colours(working))
    naive = _best_of(5, naive_colours)
    print(f"\ndecode 12 MP JPEG: {ours_decode * 1000:.1f} ms (draft) vs {naive_decode * 1000:.1f} ms full "
          f"-> {naive_decode / ours_decode:.1f}x")
    print(f"dominant colours: {ours_colours * 1000:.1f} ms (64x64 Lab) vs {naive * 1000:.1f} ms (200x200) "
          f"-> {naive / ours_colours:.1f}x")
    assert ours_decode < naive_decode
