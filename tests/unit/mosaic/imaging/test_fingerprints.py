"""Perceptual fingerprints on the real darknet photos and their edited copies."""

import io
import itertools
import re

import pytest
from PIL import Image, ImageEnhance

from mosaic.imaging.fingerprints import (
    NEAR_DUPLICATE_BITS,
    VERSION,
    distance,
    fingerprints,
    is_near_duplicate,
    to_bytes,
)

_HEX = re.compile(r"[0-9a-f]{16}")


def _darknet(photos_dir) -> dict[str, Image.Image]:
    photos = {}
    for path in sorted((photos_dir / "darknet").glob("*.jpg")):
        with Image.open(path) as photo:
            photos[path.stem] = photo.convert("RGB")
    assert len(photos) >= 5
    return photos


def _copies(image: Image.Image) -> dict[str, Image.Image]:
    w, h = image.size
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=60)
    jpeg.seek(0)
    return {
        "resized 50%": image.resize((w // 2, h // 2), Image.Resampling.LANCZOS),
        "jpeg q60": Image.open(jpeg).convert("RGB"),
        "5% off each side": image.crop((round(w * 0.05), round(h * 0.05), round(w * 0.95), round(h * 0.95))),
        "10% off the left": image.crop((round(w * 0.10), 0, w, h)),
        "10% off the top": image.crop((0, round(h * 0.10), w, h)),
        "brightened 20%": ImageEnhance.Brightness(image).enhance(1.2),
    }


@pytest.fixture(scope="module")
def darknet(photos_dir):
    return _darknet(photos_dir)


def test_edited_copies_are_near_duplicates(darknet):
    for name, photo in darknet.items():
        original = fingerprints(photo)
        for edit, copy in _copies(photo).items():
            edited = fingerprints(copy)
            assert is_near_duplicate(original, edited), (name, edit, distance(original, edited))
            # Resizing and recompressing barely move either hash; crops and clipping use the margin.
            if edit in ("resized 50%", "jpeg q60"):
                assert hamming(original["phash"], edited["phash"]) <= 10, (name, edit)
                assert hamming(original["dhash"], edited["dhash"]) <= 10, (name, edit)


def test_different_photos_are_not(darknet):
    prints = {name: fingerprints(photo) for name, photo in darknet.items()}
    for a, b in itertools.combinations(prints, 2):
        assert not is_near_duplicate(prints[a], prints[b]), (a, b, distance(prints[a], prints[b]))
        assert distance(prints[a], prints[b]) > NEAR_DUPLICATE_BITS


def test_format_and_determinism(darknet, photos_dir):
    photo = darknet["dog"]
    first = fingerprints(photo)
    assert set(first) == {"phash", "dhash"}
    assert all(_HEX.fullmatch(value) for value in first.values())
    assert fingerprints(photo.copy()) == first
    assert len(to_bytes(first["phash"])) == 8
    assert to_bytes(first["phash"]).hex() == first["phash"]
    assert VERSION == "1"
    # Tiny, grey and paletted images hash too.
    for name in ("01.jpg", "02.jpg"):
        with Image.open(photos_dir / "piexif" / name) as odd:
            assert all(_HEX.fullmatch(value) for value in fingerprints(odd).values())
    assert all(_HEX.fullmatch(value) for value in fingerprints(photo.convert("P")).values())


def hamming(a_hex: str, b_hex: str) -> int:
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()
    assert hamming("0000000000000001", "0000000000000003") == 1
    with pytest.raises(ValueError):
        to_bytes("abc")
