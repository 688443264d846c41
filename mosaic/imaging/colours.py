"""Dominant colours: k-means in CIELAB on a small copy of the image.

The original platform ran MiniBatchKMeans on a 200x200 point-sampled copy of the full-size
photo. Point-sampling the decoded working copy down to 48x48 keeps the same pixel population
(averaging would blend away the saturated pixels k-means ought to see), and a few k-means++
starts in float32 find the same colours in a fraction of the time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from mosaic.imaging.lab import lab_to_rgb, rgb_to_hex, rgb_to_lab
from mosaic.imaging.named_colours import nearest_name

WORKING_SIDE = 48
STARTS = 4
MAX_ITERATIONS = 10


@dataclass(frozen=True)
class Colour:
    hex: str
    rgb: tuple[int, int, int]
    lab: tuple[float, float, float]
    share: float  # fraction of the image's pixels, 0..1
    name: str  # nearest of the named colours


def dominant_colours(image: Image.Image, k: int = 4, seed: int = 0) -> list[Colour]:
    """The k colours covering most of `image`, largest share first; fewer if it has fewer."""
    small = image.convert("RGB").resize((WORKING_SIDE, WORKING_SIDE), Image.Resampling.NEAREST)
    pixels = rgb_to_lab(np.asarray(small).reshape(-1, 3)).astype(np.float32)
    centres, labels = _best_of_starts(pixels, k, np.random.default_rng(seed))
    counts = np.bincount(labels, minlength=len(centres))
    colours = []
    for index in np.argsort(-counts, kind="stable"):
        if counts[index] == 0:
            continue
        lab = centres[index].astype(np.float64)
        rgb = tuple(int(round(c)) for c in lab_to_rgb(lab))
        share = float(counts[index] / len(labels))
        colours.append(Colour(rgb_to_hex(rgb), rgb, tuple(round(float(c), 3) for c in lab), share, nearest_name(lab)))
    return colours


def _best_of_starts(points: np.ndarray, k: int, rng: np.random.Generator):
    """Lowest-inertia result of a few k-means runs: one unlucky start must not decide the palette."""
    squared = (points**2).sum(axis=1)
    best = None
    for _ in range(STARTS):
        centres = _kmeans_plus_plus(points, squared, k, rng)
        centres, labels, inertia = _kmeans(points, squared, centres)
        if best is None or inertia < best[2]:
            best = (centres, labels, inertia)
    return best[0], best[1]


def _distances(points: np.ndarray, squared: np.ndarray, centres: np.ndarray) -> np.ndarray:
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2: one matrix product instead of an (n, k, 3) array.
    return np.maximum(squared[:, None] - 2 * points @ centres.T + (centres**2).sum(axis=1)[None, :], 0)


def _kmeans(points: np.ndarray, squared: np.ndarray, centres: np.ndarray):
    labels = None
    for _ in range(MAX_ITERATIONS):
        new_labels = _distances(points, squared, centres).argmin(axis=1)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=len(centres))
        sums = np.stack([np.bincount(labels, weights=points[:, i], minlength=len(centres)) for i in range(3)], 1)
        filled = counts > 0
        centres[filled] = (sums[filled] / counts[filled, None]).astype(points.dtype)
    distances = _distances(points, squared, centres)
    labels = distances.argmin(axis=1)
    return centres, labels, float(distances[np.arange(len(points)), labels].sum())


def _kmeans_plus_plus(points: np.ndarray, squared: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    # Spread the starting centres out so a small accent colour is not swallowed by the background.
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        nearest = _distances(points, squared, np.array(centres)).min(axis=1)
        total = float(nearest.sum())
        if total <= 1e-6:  # fewer distinct colours than k
            break
        centres.append(points[rng.choice(len(points), p=nearest / total)])
    return np.array(centres, dtype=points.dtype)
