"""Colour cells: the sRGB cube cut into 16 x 16 x 16 cubes, so an index finds palette colours near a wanted one.

A B-tree cannot range-search three dimensions, and ΔE00 is far from a box in Lab (at high chroma |Δa| up to
~6.4 × ΔE). A palette colour's cell is plain integer arithmetic on its stored red/green/blue, so the catalog
indexes the expression itself (`colour_cell` in mosaic/catalog/schema.py) and nothing extra is stored. A search
lists the cells that may hold a colour within T of the wanted one: those whose centre is within T plus the
cell's own radius (the largest ΔE00 from its centre to its corners, edge midpoints and face centres, plus a
margin for the points between them and for ΔE00 not being a true metric). Measured: a random sRGB colour is
at most 2.7 ΔE00 from the nearest of those 27 points of its cell.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from mosaic.imaging.lab import ciede2000, rgb_to_lab

STEP = 16  # sRGB levels per cell side
LEVELS = 256 // STEP
MARGIN = 3.0  # ΔE00


@cache
def _geometry() -> tuple[np.ndarray, np.ndarray]:
    """Every cell's centre (Lab) and radius (ΔE00), indexed by cell number."""
    corners = np.stack(np.meshgrid(*[np.arange(LEVELS)] * 3, indexing="ij"), axis=-1).reshape(-1, 3) * STEP
    offsets = np.array([0.0, (STEP - 1) / 2, STEP - 1])
    points = np.stack(np.meshgrid(offsets, offsets, offsets, indexing="ij"), axis=-1).reshape(-1, 3)
    centres = rgb_to_lab(corners + (STEP - 1) / 2)
    samples = rgb_to_lab((corners[:, None, :] + points[None, :, :]).reshape(-1, 3)).reshape(len(corners), -1, 3)
    radii = ciede2000(centres[:, None, :], samples).max(axis=1) + MARGIN
    return centres, radii


def cells_within(lab: tuple[float, float, float], delta_e: float, near: float | None = None
                 ) -> tuple[list[int], list[int]]:
    """The cells that may hold a colour within `delta_e` ΔE00 of `lab` (a superset: candidates are re-checked),
    split in two: those that may hold one within `near` (default: all of them), and the rest."""
    centres, radii = _geometry()
    distance = ciede2000(np.asarray(lab, dtype=np.float64)[None, :], centres)
    inside = distance <= delta_e + radii
    close = inside & (distance <= (delta_e if near is None else near) + radii)
    return ([int(cell) for cell in np.nonzero(close)[0]], [int(cell) for cell in np.nonzero(inside & ~close)[0]])
