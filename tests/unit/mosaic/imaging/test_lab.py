"""CIELAB conversions and hex parsing."""

import numpy as np
import pytest

from mosaic.imaging.lab import hex_to_rgb, lab_to_rgb, rgb_to_lab


def test_lab_round_trip_and_reference_values():
    assert rgb_to_lab([255, 255, 255]) == pytest.approx([100, 0, 0], abs=0.01)
    assert rgb_to_lab([255, 0, 0]) == pytest.approx([53.24, 80.09, 67.20], abs=0.05)
    colours = np.random.default_rng(1).integers(0, 256, (50, 3))
    assert lab_to_rgb(rgb_to_lab(colours)) == pytest.approx(colours, abs=0.01)


def test_hex_parsing_refuses_what_is_not_a_colour():
    assert hex_to_rgb("#b14343") == (0xB1, 0x43, 0x43)
    assert hex_to_rgb("fff") == (255, 255, 255)
    with pytest.raises(ValueError, match="not a colour"):
        hex_to_rgb("#12345g")
