"""The sRGB cells colour search narrows palettes by: every colour within the distance is in a listed cell, and the
catalog's index expression numbers cells as the Python side does."""

from __future__ import annotations

import numpy as np
from sqlalchemy import create_engine, insert, select

from mosaic.catalog.schema import colour_cell, colours
from mosaic.imaging.colour_cells import LEVELS, STEP, cells_within
from mosaic.imaging.lab import ciede2000, rgb_to_lab


def cell_of(red: int, green: int, blue: int) -> int:
    """The cell numbering as arithmetic: what the catalog's index expression must compute."""
    return (red // STEP) * LEVELS * LEVELS + (green // STEP) * LEVELS + blue // STEP


def test_every_colour_within_the_distance_lies_in_a_listed_cell():
    rng = np.random.default_rng(7)
    for wanted_rgb in rng.integers(0, 256, (25, 3)):
        wanted = tuple(float(v) for v in rgb_to_lab(wanted_rgb))
        # Colours around the wanted one, so many fall inside the distance.
        palette = np.clip(wanted_rgb + rng.integers(-40, 41, (400, 3)), 0, 255)
        delta = ciede2000(np.array(wanted)[None, :], rgb_to_lab(palette))
        near, far = cells_within(wanted, 20.0, 10.0)
        assert not set(near) & set(far)
        for rgb, distance in zip(palette, delta, strict=True):
            cell = cell_of(*(int(v) for v in rgb))
            if distance <= 10.0:
                assert cell in near, (wanted_rgb, rgb, distance)
            elif distance <= 20.0:
                assert cell in near or cell in far, (wanted_rgb, rgb, distance)


def test_the_catalog_expression_numbers_cells_as_cell_of():
    engine = create_engine("sqlite://")
    colours.create(engine)
    rgb = np.random.default_rng(3).integers(0, 256, (200, 3))
    with engine.begin() as connection:
        connection.execute(insert(colours), [
            {"image_id": f"i{n}", "rank": 0, "hex": "#000000", "red": int(r), "green": int(g), "blue": int(b),
             "lab_l": 0.0, "lab_a": 0.0, "lab_b": 0.0, "share": 1.0} for n, (r, g, b) in enumerate(rgb)])
        stored = connection.execute(select(colours.c.red, colours.c.green, colours.c.blue, colour_cell)).all()
    assert len(stored) == 200
    assert all(cell == cell_of(red, green, blue) for red, green, blue, cell in stored)
