"""How images are laid out as vectors: the collections (dimensions, metric, index) and the style vector.

The processor writes these and recommend queries them, so both build them here. The style vector places an
image by its main colour (CIELAB), its colour mix and its shape, scaled so each part weighs about the same.
"""

from __future__ import annotations

import math

from mosaic.backends.vectors import Collection

# With the image's orientation and normalised camera make, so a profile that filters on them (settings
# orientation_preference / make_preference = filter) narrows the vector search itself instead of its results.
STYLE = Collection("style_v2", dim=8, metric="L2", attributes=("orientation", "make"))
# phash and dhash side by side as one 128-bit binary vector: a Hamming range search of radius
# NEAR_DUPLICATE_BITS is the near-duplicate rule itself (a 64-bit phash radius wide enough for real copies
# held ~3 % of 1M random codes, so the nearest 128 could miss a copy; 128 bits within 40: 1.3e-5).
FINGERPRINT = Collection("fingerprint_v1", dim=128, metric="HAMMING", binary=True)
# MobileNetV2 features, L2-normalised: "more like this". Searched through an IVF index: an exact scan of 100k
# 1280-d vectors took 70-150 ms a query on 2 cores, the index ~6 ms, with the same top hits on clustered vectors
# (tests/bench/test_discovery_bench.py measures both).
VISUAL = Collection("visual_v1", dim=1280, metric="COSINE", clusters=1024, probes=32)


def style_vector(colours_lab: list[tuple[float, float, float]], shares: list[float], width: int, height: int):
    """colours_lab/shares: dominant colours, largest first. Returns 8 floats."""
    main = colours_lab[0] if colours_lab else (50.0, 0.0, 0.0)
    total = sum(shares) or 1.0
    mean = [sum(lab[i] * share for lab, share in zip(colours_lab, shares, strict=True)) / total for i in range(3)]
    if not colours_lab:
        mean = list(main)
    return [
        main[0] / 100, main[1] / 128, main[2] / 128,
        mean[0] / 100, mean[1] / 128, mean[2] / 128,
        _log_aspect(width, height),
        _log_megapixels(width, height),
    ]


def style_attributes(width: int, height: int, make: str | None) -> dict[str, str]:
    return {"orientation": orientation_of(width, height), "make": make or ""}


def orientation_of(width: int, height: int) -> str:
    if not width or not height:
        return "any"
    ratio = width / height
    if ratio > 1.05:
        return "landscape"
    if ratio < 1 / 1.05:
        return "portrait"
    return "square"


def _log_aspect(width: int, height: int) -> float:
    # log2 of width/height: 0 for square, about +-0.58 for 3:2, clipped at +-2.
    if not width or not height:
        return 0.0
    return max(-2.0, min(2.0, math.log2(width / height))) / 2


def _log_megapixels(width: int, height: int) -> float:
    if not width or not height:
        return 0.0
    return max(-4.0, min(4.0, math.log2(width * height / 4_000_000))) / 8
