"""Pure image functions, on real photos and on generated images (labelled as such)."""

import numpy as np
import pytest
from PIL import Image

from mosaic.imaging.colours import dominant_colours
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


def test_dominant_colours_of_a_generated_three_colour_image():
    # Generated: 50% red, 30% blue, 20% green, so the shares and order are known exactly.
    pixels = np.zeros((100, 100, 3), dtype=np.uint8)
    pixels[:50] = (220, 20, 20)
    pixels[50:80] = (20, 20, 220)
    pixels[80:] = (20, 200, 20)
    found = dominant_colours(Image.fromarray(pixels), k=4)
    # Downscaling blends the rows where two colours meet, so allow a just-noticeable difference.
    expected = rgb_to_lab([(220, 20, 20), (20, 20, 220), (20, 200, 20)])
    assert np.linalg.norm(np.array([c.lab for c in found[:3]]) - expected, axis=1).max() < 3
    assert [c.share for c in found[:3]] == pytest.approx([0.5, 0.3, 0.2], abs=0.03)
    assert sum(c.share for c in found) == pytest.approx(1.0)


def test_dominant_colours_of_a_flat_image_is_that_one_colour():
    found = dominant_colours(Image.new("RGB", (40, 30), (10, 120, 200)))
    assert len(found) == 1 and found[0].hex == "#0a78c8" and found[0].share == 1.0


def test_dominant_colours_of_a_real_photo_are_stable(photos_dir):
    with Image.open(photos_dir / "darknet" / "dog.jpg") as photo:
        first = dominant_colours(photo)
        assert first == dominant_colours(photo)
    assert len(first) == 4 and first[0].share >= first[-1].share
