import numpy as np
import pytest
from PIL import Image

from mosaic.imaging.colours import dominant_colours
from mosaic.imaging.lab import ciede2000, hex_to_rgb, rgb_to_lab
from mosaic.imaging.named_colours import NAMED_COLOURS, name_lab, nearest_name


def test_ciede2000_matches_the_published_test_pairs():
    # Pairs and expected differences from Sharma, Wu and Dalal's CIEDE2000 test data.
    pairs = [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((50.0, -0.001, 2.49), (50.0, 0.0009, -2.49), 4.8045),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ]
    for first, second, expected in pairs:
        assert float(ciede2000(first, second)) == pytest.approx(expected, abs=1e-4)
    assert float(ciede2000((40, 10, 10), (40, 10, 10))) == 0


def test_every_name_is_its_own_nearest_colour_and_everyday_colours_get_their_names():
    for name, value in NAMED_COLOURS.items():
        assert nearest_name(rgb_to_lab(hex_to_rgb(value))) == name
    assert nearest_name(rgb_to_lab((255, 0, 0))) == "red"
    assert nearest_name(rgb_to_lab((0, 0, 0))) == "black"
    assert nearest_name(rgb_to_lab((0, 128, 128))) == "teal"
    assert nearest_name(rgb_to_lab((135, 206, 235))) in {"cyan", "blue"}  # sky blue


def test_names_are_looked_up_forgivingly():
    assert np.allclose(name_lab(" Gray "), name_lab("grey"))
    with pytest.raises(KeyError, match="known: black"):
        name_lab("chartreuse")


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
