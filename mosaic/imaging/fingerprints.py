"""64-bit perceptual fingerprints for near-duplicate detection: phash (DCT) and dhash (gradients).

Both hashes are taken from one 32x32 grey thumbnail of the full frame. Hashing a centred crop (80-95 %)
was measured against the full frame on the test photos and did not separate better: a copy cropped on
one side is shifted and rescaled inside any centred window too, so the border gains nothing.

Measured on 12 real photos (darknet/*, exif/*, piexif L01/large/02), against their 50 % resize, JPEG q60,
5 %-each-side crop, 10 %-one-side crops (left, top) and +20 % brightness:
  phash  same photo <= 22 bits, different photos >= 22 bits
  dhash  same photo <= 22 bits, different photos >= 21 bits
  sum    same photo <= 38 bits, different photos >= 48 bits on those 12   <- the rule, threshold 40
(eagle.jpg and the iPhone photo, a pair outside that set, are 43 bits apart: the threshold sits just
above the worst same-photo distance rather than mid-gap.)
Resize and recompression alone stay <= 6 bits per hash, brightness <= 8 (phash) / 16 (dhash, clipped
highlights); the crops use up the rest. Neither hash separates on its own, so the vector search compares
both at once: `fingerprint_vector` puts them side by side in one 128-bit code, searched within
NEAR_DUPLICATE_BITS.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

VERSION = "1"
HASH_BITS = 64
# Just above the worst measured same-photo distance (38) on phash + dhash bits; two different real
# photos were seen 43 bits apart.
NEAR_DUPLICATE_BITS = 40

_SIDE = 32
_REDUCE_TO = 128


def _dct_matrix(n: int) -> np.ndarray:
    # Orthonormal DCT-II, so no scipy is needed; only its first 8 rows are ever used.
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT8 = _dct_matrix(_SIDE)[:8].astype(np.float32)


def _thumbnail(image: Image.Image) -> Image.Image:
    """32x32 grey box average of the whole frame."""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    # reduce() is an integer box average, ~2x cheaper than a BOX resize of ~1 Mpx straight to 32x32;
    # stopping at >= 128 px keeps its uneven edge blocks from moving bits (reducing to 32-64 px cost
    # 4-5 bits of margin). Converting to grey afterwards touches 1000 pixels, not a million.
    factor = max(1, min(image.width, image.height) // _REDUCE_TO)
    if factor > 1:
        image = image.reduce(factor)
    image = image.resize((_SIDE, _SIDE), Image.Resampling.BOX)
    return image.convert("L") if image.mode != "L" else image


def _hex(bits: np.ndarray) -> str:
    return np.packbits(bits.ravel()).tobytes().hex()


def _phash(grey: Image.Image) -> str:
    pixels = np.asarray(grey, dtype=np.float32)
    low = _DCT8 @ pixels @ _DCT8.T
    # DC is the mean brightness: it would drag the median and carries no structure.
    median = np.median(low.ravel()[1:])
    return _hex(low > median)


def _dhash(grey: Image.Image) -> str:
    small = grey.resize((9, 8), Image.Resampling.BOX)
    pixels = np.asarray(small, dtype=np.int16)
    return _hex(pixels[:, 1:] > pixels[:, :-1])


def phash(image: Image.Image) -> str:
    return _phash(_thumbnail(image))


def dhash(image: Image.Image) -> str:
    return _dhash(_thumbnail(image))


def fingerprints(image: Image.Image) -> dict[str, str]:
    """{"phash", "dhash"} as 16-char lowercase hex, from one shared thumbnail."""
    grey = _thumbnail(image)
    return {"phash": _phash(grey), "dhash": _dhash(grey)}


def fingerprint_vector(phash: int, dhash: int) -> bytes:
    """phash then dhash, 16 bytes: the 128-bit binary vector the near-duplicate search compares."""
    return phash.to_bytes(8, "big") + dhash.to_bytes(8, "big")


def fingerprint_bytes(phash: str, dhash: str) -> bytes:
    """`fingerprint_vector` of two stored hex hashes, each checked as `to_bytes` checks it."""
    return fingerprint_vector(*(int.from_bytes(to_bytes(value), "big") for value in (phash, dhash)))


def to_bytes(hex_hash: str) -> bytes:
    """The 8 bytes of a hash, big-endian (half of a `fingerprint_vector`)."""
    if len(hex_hash) != HASH_BITS // 4:
        raise ValueError(f"expected {HASH_BITS // 4} hex characters, got {hex_hash!r}")
    return bytes.fromhex(hex_hash)


# A fingerprint as stored ({"phash", "dhash"}: 16-char hex each) or read for comparing ((phash, dhash) as ints).
Fingerprint = dict[str, str] | tuple[int, int]


def _as_ints(fingerprint: Fingerprint) -> tuple[int, int]:
    if isinstance(fingerprint, dict):
        return (int.from_bytes(to_bytes(fingerprint["phash"]), "big"),
                int.from_bytes(to_bytes(fingerprint["dhash"]), "big"))
    return fingerprint


def distance(a: Fingerprint, b: Fingerprint) -> int:
    """Bits differing over both hashes (0..128)."""
    (phash_a, dhash_a), (phash_b, dhash_b) = _as_ints(a), _as_ints(b)
    return (phash_a ^ phash_b).bit_count() + (dhash_a ^ dhash_b).bit_count()


def is_near_duplicate(a: Fingerprint, b: Fingerprint, max_bits: int = NEAR_DUPLICATE_BITS) -> bool:
    """The near-duplicate rule on fingerprints: phash + dhash differ in at most `max_bits` bits."""
    return distance(a, b) <= max_bits


def near_duplicate_pairs(fingerprints: list[tuple[int, int]],
                         max_bits: int = NEAR_DUPLICATE_BITS) -> list[tuple[int, int]]:
    """`is_near_duplicate` over every pair of a list at once (numpy, for hundreds to thousands of images):
    the index pairs (i < j) it holds for."""
    if len(fingerprints) < 2:
        return []
    codes = np.array(fingerprints, dtype=np.uint64)
    bits = (np.bitwise_count(codes[:, None, 0] ^ codes[None, :, 0]).astype(np.int16)
            + np.bitwise_count(codes[:, None, 1] ^ codes[None, :, 1]))
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(bits <= max_bits, 1)), strict=True)]
