"""Dominant colours: k-means in CIELAB on a small copy of the image.

A 64x64 copy and a few numpy k-means iterations agree with the original platform's
MiniBatchKMeans-on-200x200 recipe at a twentieth of the cost (ARCHITECTURE.md, known costs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from mosaic.imaging.lab import lab_to_rgb, rgb_to_hex, rgb_to_lab
from mosaic.imaging.named_colours import nearest_name

WORKING_SIDE = 64
VERSION = "1"


@dataclass(frozen=True)
class Colour:
    hex: str
    rgb: tuple[int, int, int]
    lab: tuple[float, float, float]
    share: float  # fraction of the image's pixels, 0..1
    name: str  # nearest of the named colours


def dominant_colours(image: Image.Image, k: int = 4, seed: int = 0, iterations: int = 12) -> list[Colour]:
    """The k colours covering most of `image` (RGB), largest share first; fewer if it has fewer."""
    small = image.convert("RGB").resize((WORKING_SIDE, WORKING_SIDE), Image.Resampling.BILINEAR)
    pixels = rgb_to_lab(np.asarray(small).reshape(-1, 3))
    centres, labels = _kmeans(pixels, k, np.random.default_rng(seed), iterations)
    counts = np.bincount(labels, minlength=len(centres))
    order = [index for index in np.argsort(-counts, kind="stable") if counts[index] > 0]
    colours = []
    for index in order:
        rgb = tuple(int(round(c)) for c in lab_to_rgb(centres[index]))
        lab = tuple(float(round(c, 3)) for c in centres[index])
        share = float(counts[index] / len(labels))
        colours.append(Colour(rgb_to_hex(rgb), rgb, lab, share, nearest_name(centres[index])))
    return colours


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, iterations: int):
    centres = _kmeans_plus_plus(points, k, rng)
    labels = np.zeros(len(points), dtype=np.int64)
    for _ in range(iterations):
        distances = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new_labels = distances.argmin(axis=1)
        if _ > 0 and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for index in range(len(centres)):
            members = points[labels == index]
            if len(members):
                centres[index] = members.mean(axis=0)
    return centres, labels


def _kmeans_plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    # Spread the starting centres out so a small accent colour is not swallowed by the background.
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        distances = ((points[:, None, :] - np.array(centres)[None]) ** 2).sum(axis=2).min(axis=1)
        total = distances.sum()
        if total <= 1e-9:  # fewer distinct colours than k
            break
        centres.append(points[rng.choice(len(points), p=distances / total)])
    return np.array(centres, dtype=np.float64)
