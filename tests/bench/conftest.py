"""Bench fixtures: generated 12 MP JPEGs standing in for phone photos (the real test photos are all < 6 MP)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

GENERATED_SIZE = (4000, 3000)
GENERATED_QUALITY = 90


def generated_photo(seed: int, size: tuple[int, int] = GENERATED_SIZE) -> Image.Image:
    """Photo-like pixels: a few smooth colour fields (a bicubic blow-up of a tiny random image), a vignette
    and moderate sensor-like noise, so the JPEG costs what a camera's does (flat colour would be too cheap)."""
    rng = np.random.default_rng(seed)
    width, height = size
    tiny = Image.fromarray(rng.integers(20, 236, (3, 4, 3), dtype=np.uint8))
    fields = np.asarray(tiny.resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    y, x = np.ogrid[0:height, 0:width]
    vignette = (((x - width / 2) / width) ** 2 + ((y - height / 2) / height) ** 2) * -60
    noise = rng.integers(-12, 13, (height, width, 3), dtype=np.int16)
    pixels = fields + vignette.astype(np.int16)[..., None] + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@pytest.fixture(scope="session")
def generated_jpegs(tmp_path_factory) -> list[Path]:
    """Three generated 12 MP JPEGs (quality 90, with a small EXIF block), written once per session."""
    folder = tmp_path_factory.mktemp("generated")
    paths = []
    for seed in range(3):
        exif = Image.Exif()
        exif[0x010F], exif[0x0110], exif[0x0132] = "Mosaic", "Generated 12MP", "2024:06:01 12:00:00"
        path = folder / f"generated-12mp-{seed}.jpg"
        generated_photo(seed).save(path, "JPEG", quality=GENERATED_QUALITY, exif=exif)
        paths.append(path)
    return paths
