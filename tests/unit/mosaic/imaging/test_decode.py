"""Safe decoding: real photos, generated images (labelled as such) and hand-built hostile files."""

import io
import json
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile, JpegImagePlugin

from mosaic.imaging.decode import ImageRejected, decode
from mosaic.imaging.sniff import EXTENSIONS, sniff_mime

LIMIT = 120_000_000


def _saved(image: Image.Image, fmt: str, **options) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    out.seek(0)
    return out


def _png_bytes(width: int, height: int, bit_depth: int, colour_type: int, raw: bytes) -> bytes:
    """A PNG written chunk by chunk, so the header can claim anything."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# --- sniffing ---

def test_sniffing_uses_content_not_names(photos_dir):
    assert sniff_mime((photos_dir / "darknet" / "dog.jpg").read_bytes()[:32]) == "image/jpeg"
    assert sniff_mime((photos_dir / "piexif" / "01.tif").read_bytes()[:32]) == "image/tiff"
    assert sniff_mime(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_mime(b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heicmiaf") == "image/heic"
    assert sniff_mime(b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicmiaf") == "image/heic"
    assert sniff_mime(b"\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1miafMA1B") == "image/avif"
    assert sniff_mime(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom") is None  # a video
    assert sniff_mime(b"%PDF-1.7 not an image") is None
    assert sniff_mime(b"") is None
    assert all(sniff and sniff.startswith(".") for sniff in EXTENSIONS.values())


# --- real photos ---

def test_real_photo_with_orientation_6(photos_dir):
    with (photos_dir / "exif" / "IMG_0001.JPG").open("rb") as stream:
        decoded = decode(stream, max_pixels=LIMIT, working_side=512)
    assert (decoded.width, decoded.height) == (2448, 2448)  # square, so the swap cannot show here
    assert decoded.image.size == (512, 512) and decoded.image.mode == "RGB"
    assert (decoded.format, decoded.mime) == ("JPEG", "image/jpeg")


def test_tiff_with_alpha(photos_dir):
    with (photos_dir / "piexif" / "01.tif").open("rb") as stream:
        decoded = decode(stream, max_pixels=LIMIT)
    assert (decoded.width, decoded.height, decoded.format, decoded.mime) == (300, 400, "TIFF", "image/tiff")
    assert decoded.image.mode == "RGB" and decoded.image.size == (300, 400)


def test_every_real_photo_decodes_or_is_refused_with_a_reason(photos_dir):
    for path in sorted(photos_dir.glob("*/*")):
        try:
            with path.open("rb") as stream:
                decoded = decode(stream, max_pixels=LIMIT, working_side=256)
        except ImageRejected as exc:
            assert path.name in ("notjpeg.jpg",), (path, exc)
            continue
        assert decoded.image.mode == "RGB" and max(decoded.image.size) <= 256


# --- orientation (generated JPEGs, one per EXIF orientation) ---

# EXIF 2.3, tag 0x0112: where the stored first row and first column go. So the stored top-left pixel ends
# in this corner of the upright picture.
_CORNER_OF_STORED_ORIGIN = {
    1: "top-left", 2: "top-right", 3: "bottom-right", 4: "bottom-left",
    5: "top-left", 6: "top-right", 7: "bottom-right", 8: "bottom-left",
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("working_side", [1024, 100])
def test_every_exif_orientation_is_applied(orientation, working_side):
    stored = Image.new("RGB", (400, 200), (255, 255, 255))
    stored.paste((220, 0, 0), (0, 0, 60, 60))  # red marker at the stored origin
    exif = Image.Exif()
    exif[0x0112] = orientation
    decoded = decode(_saved(stored, "JPEG", quality=95, exif=exif), max_pixels=LIMIT, working_side=working_side)
    upright = (200, 400) if orientation >= 5 else (400, 200)
    assert (decoded.width, decoded.height) == upright
    scale = min(1.0, working_side / 400)
    assert decoded.image.size == (round(upright[0] * scale), round(upright[1] * scale))
    w, h = decoded.image.size
    inset = max(2, round(10 * scale))
    corners = {"top-left": (inset, inset), "top-right": (w - 1 - inset, inset),
               "bottom-left": (inset, h - 1 - inset), "bottom-right": (w - 1 - inset, h - 1 - inset)}
    for corner, xy in corners.items():
        red, green, _ = decoded.image.getpixel(xy)
        is_marker = red > 180 and green < 70
        assert is_marker == (corner == _CORNER_OF_STORED_ORIGIN[orientation]), (corner, decoded.image.getpixel(xy))


# --- colour modes (generated) ---

def test_transparent_images_are_composited_on_white():
    rgba = decode(_saved(Image.new("RGBA", (20, 10), (0, 0, 0, 0)), "PNG"), max_pixels=10_000)
    assert rgba.image.mode == "RGB" and rgba.image.getpixel((0, 0)) == (255, 255, 255)
    la = decode(_saved(Image.new("LA", (20, 10), (0, 128)), "PNG"), max_pixels=10_000)
    assert la.image.getpixel((0, 0)) == pytest.approx((127, 127, 127), abs=2)


def test_palette_images_with_and_without_transparency():
    palette = Image.new("P", (20, 10), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    opaque = decode(_saved(palette, "PNG"), max_pixels=10_000)
    assert opaque.image.getpixel((5, 5)) == (10, 200, 30)
    see_through = decode(_saved(palette, "PNG", transparency=1), max_pixels=10_000)
    assert see_through.image.getpixel((5, 5)) == (255, 255, 255)


def test_16_bit_grey_and_rgb_pngs():
    grey16 = decode(_saved(Image.new("I;16", (20, 10), 65535), "PNG"), max_pixels=10_000)
    assert grey16.image.mode == "RGB" and grey16.image.getpixel((0, 0)) == (255, 255, 255)
    mid16 = decode(_saved(Image.new("I;16", (20, 10), 32768), "PNG"), max_pixels=10_000)
    assert mid16.image.getpixel((0, 0)) == (128, 128, 128)  # scaled, not clipped to white
    # 16-bit RGB (48 bits a pixel), which Pillow cannot write: built by hand. 0xFF00 red, 0x8000 green, 0 blue.
    row = b"\x00" + struct.pack(">HHH", 0xFF00, 0x8000, 0) * 20
    rgb16 = decode(io.BytesIO(_png_bytes(20, 10, 16, 2, row * 10)), max_pixels=10_000)
    assert rgb16.image.getpixel((3, 3)) == (255, 128, 0)


def test_cmyk_jpeg_comes_out_in_rgb():
    # Pillow writes (and reads) CMYK JPEGs with Adobe's inverted convention.
    cmyk = _saved(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG", quality=95)
    assert Image.open(cmyk).info.get("adobe") and cmyk.seek(0) == 0
    decoded = decode(cmyk, max_pixels=10_000)
    red, green, blue = decoded.image.getpixel((10, 10))
    assert red > 230 and green < 30 and blue < 30 and decoded.image.mode == "RGB"


def test_gif_first_frame():
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((230, 20, 20), (20, 20, 230))]
    gif = _saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    decoded = decode(gif, max_pixels=10_000)
    assert (decoded.format, decoded.mime) == ("GIF", "image/gif")
    red, _, blue = decoded.image.getpixel((5, 5))
    assert red > 200 and blue < 50


def test_webp_lossy_and_with_alpha():
    lossy = decode(_saved(Image.new("RGB", (64, 32), (20, 160, 60)), "WEBP", quality=90), max_pixels=10_000)
    assert (lossy.width, lossy.height, lossy.mime) == (64, 32, "image/webp")
    assert lossy.image.getpixel((8, 8)) == pytest.approx((20, 160, 60), abs=6)
    alpha = decode(_saved(Image.new("RGBA", (64, 32), (0, 0, 0, 0)), "WEBP", lossless=True), max_pixels=10_000)
    assert alpha.image.getpixel((8, 8)) == (255, 255, 255)


def test_heic_encoded_with_pillow_heif():
    pillow_heif = pytest.importorskip("pillow_heif")
    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (96, 64), (200, 30, 30))).save(out, format="HEIF", quality=90)
    out.seek(0)
    decoded = decode(out, max_pixels=10_000, working_side=48)
    assert (decoded.width, decoded.height, decoded.mime, decoded.format) == (96, 64, "image/heic", "HEIF")
    assert decoded.image.size == (48, 32)
    assert decoded.image.getpixel((10, 10)) == pytest.approx((200, 30, 30), abs=8)


# --- JPEG DCT scaling (generated) ---

# A scale up to 10% under the working side is taken: 1000 px serves a 1024 px working copy.
@pytest.mark.parametrize("working_side, decoded_at", [
    (1024, (1000, 750)), (1200, (2000, 1500)), (512, (500, 375)), (256, (250, 188))])
def test_jpeg_is_decoded_once_at_the_smallest_scale_that_serves(monkeypatch, working_side, decoded_at):
    sizes = []
    original_load = JpegImagePlugin.JpegImageFile.load

    def spying_load(self):
        sizes.append(self.size)
        return original_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spying_load)
    photo = _saved(Image.linear_gradient("L").resize((2000, 1500)).convert("RGB"), "JPEG", quality=90)
    decoded = decode(photo, max_pixels=LIMIT, working_side=working_side)
    assert set(sizes) == {decoded_at}  # draft picked 1/1, 1/2, 1/4 or 1/8: never far below working_side
    assert (decoded.width, decoded.height) == (2000, 1500)
    assert max(decoded.image.size) == min(working_side, decoded_at[0])


# --- refusals ---

def test_empty_file_is_refused(photos_dir):
    with (photos_dir / "piexif" / "notjpeg.jpg").open("rb") as stream:
        with pytest.raises(ImageRejected, match="the file is empty"):
            decode(stream, max_pixels=LIMIT)


def test_text_named_jpg_is_refused(tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_text("Dear all, the photos are attached.\n")
    with path.open("rb") as stream, pytest.raises(ImageRejected, match="not an image Mosaic can read: .*text"):
        decode(stream, max_pixels=LIMIT)
    with pytest.raises(ImageRejected, match="not an image"):
        decode(io.BytesIO(b"\x00\x01\x02\xfe\xff" * 20), max_pixels=LIMIT)


@pytest.mark.parametrize("name", ["darknet/dog.jpg", "exif/IMG_0001.JPG"])
@pytest.mark.parametrize("working_side", [1024, 128])
def test_jpeg_cut_in_half_is_refused_not_grey_filled(photos_dir, name, working_side):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    data = (photos_dir / name).read_bytes()
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        decode(io.BytesIO(data[: len(data) // 2]), max_pixels=LIMIT, working_side=working_side)


def test_truncated_png_and_broken_header_are_refused():
    png = _saved(Image.effect_noise((64, 64), 40).convert("RGB"), "PNG").getvalue()
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        decode(io.BytesIO(png[: len(png) // 2]), max_pixels=LIMIT)
    with pytest.raises(ImageRejected, match="corrupt"):
        decode(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), max_pixels=LIMIT)


def test_loading_truncated_images_must_stay_off(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode(_saved(Image.new("RGB", (20, 20)), "PNG"), max_pixels=LIMIT)


def test_too_small_images_are_refused(photos_dir):
    with (photos_dir / "piexif" / "01.jpg").open("rb") as stream:
        with pytest.raises(ImageRejected, match="^too small: 8x8 is under the 16 px minimum$"):
            decode(stream, max_pixels=LIMIT, min_side=16)
    banner = _saved(Image.new("RGB", (100, 20)), "PNG")
    with pytest.raises(ImageRejected, match="too small: 100x20 is under the 200 px minimum for the long side"):
        decode(banner, max_pixels=LIMIT, min_side=16, min_long_side=200)
    assert decode(_saved(Image.new("RGB", (100, 20)), "PNG"), max_pixels=LIMIT, min_side=16).width == 100


def test_too_many_bytes_is_refused_when_the_length_is_known(photos_dir):
    with (photos_dir / "darknet" / "dog.jpg").open("rb") as stream:
        with pytest.raises(ImageRejected, match="too large: .* bytes is over the limit of 1,000"):
            decode(stream, max_pixels=LIMIT, max_bytes=1000)


def test_too_many_pixels_is_refused_from_the_header():
    with pytest.raises(ImageRejected, match="too many pixels: 2000x2000 is over the limit of 1,000,000"):
        decode(_saved(Image.new("L", (2000, 2000)), "PNG"), max_pixels=1_000_000)
    # 100 MP is over Pillow's own warning threshold (89 MP) but under our 120 MP default: our limit rules.
    with pytest.raises(ImageRejected, match="too many pixels: 10000x10000 is over the limit of 50,000,000"):
        decode(io.BytesIO(_png_bytes(10_000, 10_000, 8, 0, b"\x00" * 11)), max_pixels=50_000_000)


_BOMB_PROBE = """
import io, json, sys, time
from mosaic.imaging.decode import ImageRejected, decode

def peak_kb():
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over fork and exec from the pytest parent.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

data = sys.stdin.buffer.read()
before = peak_kb()
start = time.perf_counter()
try:
    decode(io.BytesIO(data), max_pixels=int(sys.argv[1]))
    reason = None
except ImageRejected as exc:
    reason = str(exc)
print(json.dumps({"reason": reason, "seconds": time.perf_counter() - start, "peak_kb": peak_kb() - before}))
"""


@pytest.mark.parametrize("max_pixels, reason", [
    (120_000_000, "too many pixels: over Pillow's limit"),  # Pillow's own guard fires at open
    (3_000_000_000, "too many pixels"),
])
def test_png_decompression_bomb_is_refused_quickly_with_flat_memory(max_pixels, reason):
    # A 50000x50000 RGB PNG (7.5 GB decoded) whose file is under 100 bytes; measured in a fresh process so
    # that the peak RSS is not hidden by what earlier tests allocated.
    bomb = _png_bytes(50_000, 50_000, 8, 2, b"\x00" * 16)
    assert len(bomb) < 100
    root = Path(__file__).resolve().parents[4]
    run = subprocess.run([sys.executable, "-c", _BOMB_PROBE, str(max_pixels)], input=bomb, capture_output=True,
                         timeout=60, check=True, cwd=root)
    probe = json.loads(run.stdout)
    assert probe["reason"] and probe["reason"].startswith(reason)
    assert probe["seconds"] < 0.5
    assert probe["peak_kb"] < 50 * 1024


def test_the_memory_probe_does_see_a_real_decode():
    # Control for the test above: a real 6000x6000 grey RGB PNG (144 MB in Pillow, 100 kB on disk) shows up.
    row = b"\x00" + b"\x7f" * (6000 * 3)
    png = _png_bytes(6000, 6000, 8, 2, row * 6000)
    root = Path(__file__).resolve().parents[4]
    run = subprocess.run([sys.executable, "-c", _BOMB_PROBE, str(LIMIT)], input=png, capture_output=True,
                         timeout=60, check=True, cwd=root)
    probe = json.loads(run.stdout)
    assert probe["reason"] is None and probe["peak_kb"] > 50 * 1024, probe


def test_bomb_within_pillows_limit_is_refused_by_ours_before_decoding():
    started = time.perf_counter()
    with pytest.raises(ImageRejected, match="too many pixels: 13000x13000"):
        decode(io.BytesIO(_png_bytes(13_000, 13_000, 8, 2, b"\x00" * 16)), max_pixels=LIMIT)
    assert time.perf_counter() - started < 0.1
