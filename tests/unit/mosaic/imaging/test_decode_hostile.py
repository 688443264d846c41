"""Decoding hostile and giant files: truncated JPEGs closed with an end marker, PNG giants in bounded memory,
refusals from the header before any pixel is decoded. Every test here failed before issue 12's fixes."""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops

import mosaic.imaging.decode as decoding
from mosaic.imaging.decode import ImageRejected, decode

LIMIT = 120_000_000
ROOT = Path(__file__).resolve().parents[4]
EOI = b"\xff\xd9"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes, *, interlace: int = 0,
         extra: bytes = b"", after: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", idat) + after
            + _chunk(b"IEND", b""))


def _decodes(data: bytes, working_side: int = 1024) -> Image.Image:
    return decode(io.BytesIO(data), max_pixels=LIMIT, working_side=working_side).image


def _progressive(data: bytes, **options) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, "JPEG", progressive=True, **options)
    return out.getvalue()


# --- truncated JPEGs closed with an end marker (libjpeg pads the rest with grey and only warns) ---

PHOTOS = ["darknet/dog.jpg", "darknet/kite.jpg", "darknet/person.jpg", "exif/IMG_0001.JPG", "exif/starfish.jpg"]


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("percent", [20, 50, 90])
def test_jpeg_cut_and_closed_with_an_end_marker_is_refused(photos_dir, name, percent):
    data = (photos_dir / name).read_bytes()
    cut = data[: len(data) * percent // 100] + EOI
    for working_side in (1024, 128):  # 128: the DCT draft path at 1/4 or 1/8 scale
        with pytest.raises(ImageRejected, match="truncated.*premature end"):
            _decodes(cut, working_side)


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("percent", [20, 50, 90, 97])
def test_progressive_jpeg_cut_and_closed_is_refused(photos_dir, name, percent):
    data = _progressive((photos_dir / name).read_bytes(), quality=88)
    cut = data[: len(data) * percent // 100] + EOI
    for working_side in (1024, 128, 64):  # at 1/8 scale libjpeg reads only DC terms: the cut must still show
        with pytest.raises(ImageRejected, match="truncated"):
            _decodes(cut, working_side)


def test_progressive_jpeg_cut_between_two_scans_is_refused(photos_dir):
    data = _progressive((photos_dir / "darknet" / "dog.jpg").read_bytes(), quality=90)
    scans = [i for i in range(len(data) - 1) if data[i:i + 2] == b"\xff\xda"]
    assert len(scans) > 4
    with pytest.raises(ImageRejected, match="ends after 3 scans"):
        _decodes(data[: scans[3]] + EOI)  # no scan is cut: libjpeg would not even warn


@pytest.mark.parametrize("name", PHOTOS)
def test_good_baseline_and_progressive_jpegs_decode_as_before(photos_dir, monkeypatch, name):
    data = (photos_dir / name).read_bytes()
    variants = (data, _progressive(data, quality=90), _progressive(data, quality=60, subsampling=0))
    ours = {(v, side): _decodes(variant, side) for v, variant in enumerate(variants) for side in (1024, 256, 64)}
    # What the checks decode (without the end marker, or a second time) changes nothing in the picture.
    monkeypatch.setattr(decoding, "_as_read", lambda stream, layout: stream)
    for (v, side), image in ours.items():
        assert image.mode == "RGB" and max(image.size) <= side
        before = _decodes(variants[v], side)
        if v == 0 or side == 1024:  # progressive at a small side: now decoded at a larger DCT scale, then shrunk
            assert ImageChops.difference(before, image).getbbox() is None, (v, side)


def test_jpeg_with_restart_markers_and_trailing_bytes(photos_dir):
    data = (photos_dir / "darknet" / "eagle.jpg").read_bytes()
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, "JPEG", quality=90, restart_marker_blocks=4)
    with_restarts = out.getvalue()
    assert _decodes(with_restarts + b"trailing junk after the end").size
    with pytest.raises(ImageRejected, match="truncated"):
        _decodes(with_restarts[: len(with_restarts) // 2] + EOI)


def test_mpo_decodes_its_first_picture_and_a_cut_one_is_refused(photos_dir):
    first, second = (Image.open(photos_dir / "darknet" / name) for name in ("dog.jpg", "kite.jpg"))
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second])
    mpo = out.getvalue()
    decoded = decode(io.BytesIO(mpo), max_pixels=LIMIT, working_side=512)
    assert (decoded.width, decoded.height) == first.size and decoded.format == "MPO"
    with pytest.raises(ImageRejected, match="truncated"):
        _decodes(mpo[: len(mpo) // 5] + EOI)


# --- PNGs decoded a strip at a time: exactly what a whole decode gives ---

def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _filtered_png(width: int, height: int, bit_depth: int, colour_type: int, bits: int, *, extra: bytes = b"",
                  seed: int = 7) -> bytes:
    """A PNG whose rows use all five filters in turn (None, Sub, Up, Average, Paeth) on noisy content."""
    rng = random.Random(seed)
    row_bytes, bpp = (bits * width + 7) // 8, max(1, bits // 8)
    rows = [bytes(rng.randrange(256) if rng.random() < 0.3 else (x * 7 + y * 3) % 256 for x in range(row_bytes))
            for y in range(height)]
    out, previous = bytearray(), bytes(row_bytes)
    for y, row in enumerate(rows):
        kind, filtered = y % 5, bytearray(row_bytes)
        for i in range(row_bytes):
            a = row[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            filtered[i] = (row[i] - (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]) & 0xFF
        out += bytes([kind]) + filtered
        previous = row
    return _png(width, height, bit_depth, colour_type, zlib.compress(bytes(out)), extra=extra)


STREAMED = {  # name: bit depth, colour type, bits per pixel, extra chunks
    "grey8": (8, 0, 8, b""), "grey16": (16, 0, 16, b""), "rgb8": (8, 2, 24, b""), "rgb16": (16, 2, 48, b""),
    "palette": (8, 3, 8, _chunk(b"PLTE", bytes(range(256)) * 3) + _chunk(b"tRNS", bytes([0, 128, 255]))),
    "grey-alpha8": (8, 4, 16, b""), "grey-alpha16": (16, 4, 32, b""), "rgba8": (8, 6, 32, b""),
    "rgba16": (16, 6, 64, b""),
}


@pytest.mark.parametrize("name", sorted(STREAMED))
@pytest.mark.parametrize("working_side", [1024, 20])
def test_png_decoded_in_strips_equals_the_whole_decode(monkeypatch, name, working_side):
    depth, colour_type, bits, extra = STREAMED[name]
    data = _filtered_png(61, 37, depth, colour_type, bits, extra=extra)
    whole = _decodes(data, working_side)
    monkeypatch.setattr(decoding, "STREAM_PNG_ABOVE", 0)
    monkeypatch.setattr(decoding, "STRIP_BYTES", 300)  # strips of a few rows: each starts from the one before
    streamed = _decodes(data, working_side)
    assert streamed.size == whole.size
    assert ImageChops.difference(whole, streamed).getbbox() is None


def test_a_png_cut_short_in_strips_is_refused(monkeypatch):
    data = _filtered_png(61, 37, 8, 2, 24)
    monkeypatch.setattr(decoding, "STREAM_PNG_ABOVE", 0)
    monkeypatch.setattr(decoding, "STRIP_BYTES", 300)
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4:idat])[0]
    short = data[: idat + 4 + length // 2]  # half the pixel data, then nothing
    with pytest.raises(ImageRejected, match="truncated"):
        _decodes(short)


def test_png_orientation_is_read_without_decoding_the_picture(monkeypatch):
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _png(40, 20, 8, 2, zlib.compress((b"\x00" + b"\x80" * 120) * 20),
                after=_chunk(b"eXIf", exif.tobytes()))  # after the pixels: Pillow's getexif() would decode them
    decoded = decode(io.BytesIO(data), max_pixels=LIMIT)
    assert (decoded.width, decoded.height) == (20, 40)


# --- giants and bombs, measured in a fresh process ---

_PROBE = """
import io, json, sys, time
from mosaic.imaging.decode import ImageRejected, decode

def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024

data = sys.stdin.buffer.read()
before = peak_mb()
start = time.perf_counter()
try:
    image = decode(io.BytesIO(data), max_pixels=120_000_000).image
    result = {"size": image.size, "pixel": image.getpixel((image.width // 2, image.height // 2))}
except ImageRejected as exc:
    result = {"reason": str(exc)}
print(json.dumps({**result, "seconds": time.perf_counter() - start, "peak_mb": peak_mb() - before}))
"""


def _probe(data: bytes) -> dict:
    run = subprocess.run([sys.executable, "-c", _PROBE], input=data, capture_output=True, timeout=120, check=True,
                         cwd=ROOT)
    return json.loads(run.stdout)


def _giant(width: int, height: int, bit_depth: int, colour_type: int, sample: bytes, extra: bytes = b"") -> bytes:
    """A PNG of identical rows of `sample` (one pixel): a few hundred KB on disk, gigabytes once widened."""
    row = b"\x00" + sample * width
    compressor = zlib.compressobj(6)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return _png(width, height, bit_depth, colour_type, body, extra=extra)


GIANTS = {  # the 10900x10900 PNGs: 1.1 GB, 0.5 GB, 0.5 GB and 0.6 GB of decode before the fix
    "16-bit grey": (16, 0, struct.pack(">H", 0x8080), b"", (128, 128, 128)),
    "8-bit RGB": (8, 2, bytes([200, 100, 50]), b"", (200, 100, 50)),
    "16-bit RGB": (16, 2, struct.pack(">HHH", 0xC8FF, 0x6400, 0x3200), b"", (200, 100, 50)),
    "palette": (8, 3, b"\x01", _chunk(b"PLTE", bytes([0, 0, 0, 30, 160, 90])), (30, 160, 90)),
}


@pytest.mark.parametrize("name", sorted(GIANTS))
def test_png_giants_decode_in_bounded_memory(name):
    depth, colour_type, sample, extra, colour = GIANTS[name]
    probe = _probe(_giant(10_900, 10_900, depth, colour_type, sample, extra))
    print(f"{name} PNG 10900x10900: peak +{probe['peak_mb']:.0f} MB in {probe['seconds']:.1f} s")
    assert probe.get("size") == [1024, 1024], probe
    assert tuple(probe["pixel"]) == colour
    assert probe["peak_mb"] < 128, probe


def test_what_cannot_be_decoded_in_strips_is_refused_from_the_header_when_too_big():
    # Interlaced: every pass spans the whole picture, so it is decoded whole: 9000x9000 RGB would take 309 MiB.
    interlaced = _png(9000, 9000, 8, 2, zlib.compress(b"\x00" * 64), interlace=1)
    probe = _probe(interlaced)
    assert probe["reason"].startswith("too large to decode: a 9000x9000 PNG (RGB) needs 309 MiB"), probe
    assert probe["peak_mb"] < 20 and probe["seconds"] < 0.5, probe
    with pytest.raises(ImageRejected, match="too large to decode"):
        decode(io.BytesIO(interlaced), max_pixels=LIMIT)
    # The same picture, not interlaced, is decoded in strips: no such limit.
    assert decoding._png_streams(Image.open(io.BytesIO(_png(9000, 9000, 8, 2, b"", interlace=0))))


def test_the_decode_budget_counts_what_each_decoder_holds():
    webp = io.BytesIO()
    Image.new("RGB", (4000, 4000), (10, 20, 30)).save(webp, "WEBP", quality=10, method=0)
    with pytest.raises(ImageRejected, match="4000x4000 WEBP .* needs 244 MiB"):  # libwebp holds 4 copies
        decode(io.BytesIO(webp.getvalue()), max_pixels=LIMIT)
    assert decode(io.BytesIO(webp.getvalue()), max_pixels=LIMIT, max_decode_bytes=300 * 2**20).width == 4000


def test_png_text_and_profile_bombs_are_refused_not_inflated():
    bomb = zlib.compress(b"\x00" * (64 * 1024 * 1024), 9)  # 64 MB of text in 64 kB
    pixels = zlib.compress((b"\x00" + b"\x80" * 96) * 32)
    for extra in (_chunk(b"zTXt", b"comment\x00\x00" + bomb), _chunk(b"iCCP", b"profile\x00\x00" + bomb)):
        probe = _probe(_png(32, 32, 8, 2, pixels, extra=extra))
        assert "too large" in probe.get("reason", "").lower() or probe.get("size") == [32, 32], probe
        assert probe["peak_mb"] < 40, probe
