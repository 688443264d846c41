"""Pure image functions, on real photos and on generated images (labelled as such)."""

import io

import numpy as np
import pytest
from PIL import Image

from mosaic.imaging.colours import dominant_colours
from mosaic.imaging.decode import ImageRejected, decode
from mosaic.imaging.exif import normalise_make, read_exif
from mosaic.imaging.lab import hex_to_rgb, lab_to_rgb, rgb_to_lab
from mosaic.imaging.sniff import sniff_mime


def _png(image: Image.Image) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, "PNG")
    out.seek(0)
    return out


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


@pytest.mark.parametrize("raw, expected", [
    ("NIKON CORPORATION", "Nikon"), ("Nikon", "Nikon"), ("PENTAX             ", "Pentax"),
    ("CASIO COMPUTER CO.,LTD", "Casio"), ("OLYMPUS IMAGING CORP.  ", "Olympus"), ("Apple", "Apple"),
    ("ACME CAMERAS", "Acme Cameras"), ("", None), (None, None),
])
def test_camera_makes_are_normalised_for_grouping(raw, expected):
    assert normalise_make(raw) == expected


def test_exif_of_real_photos(photos_dir):
    with (photos_dir / "darknet" / "dog.jpg").open("rb") as stream:
        dog = read_exif(stream)
    assert dog["make"] == "Canon" and dog["model"] == "Canon PowerShot S95"
    with (photos_dir / "exif" / "IMG_0001.JPG").open("rb") as stream:
        iphone = read_exif(stream)
    assert iphone["make"] == "Apple" and iphone["orientation"] == 6
    assert iphone["gps_latitude"] == pytest.approx(iphone["gps_latitude"]) and iphone["gps_altitude"] > 0
    with (photos_dir / "exif" / "starfish.jpg").open("rb") as stream:
        starfish = read_exif(stream)
    assert -90 <= starfish["gps_latitude"] <= 90 and -180 <= starfish["gps_longitude"] <= 180


def test_malformed_exif_never_raises(photos_dir):
    for path in sorted((photos_dir / "piexif").iterdir()):
        with path.open("rb") as stream:
            assert isinstance(read_exif(stream), dict)


def test_sniffing_uses_content_not_names(photos_dir):
    assert sniff_mime((photos_dir / "darknet" / "dog.jpg").read_bytes()[:32]) == "image/jpeg"
    assert sniff_mime((photos_dir / "piexif" / "01.tif").read_bytes()[:32]) == "image/tiff"
    assert sniff_mime(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_mime(b"%PDF-1.7 not an image") is None


def test_decode_applies_orientation_and_keeps_original_size(photos_dir):
    with (photos_dir / "exif" / "IMG_0001.JPG").open("rb") as stream:
        decoded = decode(stream, max_pixels=50_000_000, working_side=512)
    assert (decoded.width, decoded.height) == (2448, 2448)
    assert max(decoded.image.size) <= 512 and decoded.image.mode == "RGB"


def test_decode_converts_transparent_and_16_bit_images_to_rgb():
    # Generated images: one RGBA, one 16-bit grey.
    rgba = decode(_png(Image.new("RGBA", (20, 10), (0, 0, 0, 0))), max_pixels=10_000)
    assert rgba.image.mode == "RGB" and rgba.image.getpixel((0, 0)) == (255, 255, 255)
    grey16 = decode(_png(Image.new("I;16", (20, 10), 65535)), max_pixels=10_000)
    assert grey16.image.mode == "RGB" and grey16.image.getpixel((0, 0)) == (255, 255, 255)


def test_decode_refuses_bombs_before_decoding_and_corrupt_data(photos_dir):
    with pytest.raises(ImageRejected, match="too many pixels"):
        decode(_png(Image.new("L", (2000, 2000))), max_pixels=1_000_000)
    truncated = (photos_dir / "darknet" / "dog.jpg").read_bytes()[:5000]
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        decode(io.BytesIO(truncated), max_pixels=50_000_000)
    with pytest.raises(ImageRejected, match="not an image"):
        decode(io.BytesIO(b"hello world" * 10), max_pixels=50_000_000)
