"""Decode an image once, safely, to a working copy no bigger than the steps need.

Order matters for safety: the type comes from the magic bytes (only that Pillow plugin may parse the file),
sizes are judged from the header before any pixel is decoded, and truncated data is an error, never grey.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from mosaic.imaging.sniff import SNIFF_BYTES, sniff_mime

WORKING_SIDE = 1024
DRAFT_SLACK = 0.9

# Sniffed type -> the one Pillow plugin allowed to read it.
_PLUGINS = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/tiff": "TIFF", "image/bmp": "BMP",
    "image/webp": "WEBP", "image/heic": "HEIF", "image/heif": "HEIF", "image/avif": "AVIF",
}

# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose does).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# What Pillow and its plugins raise on malformed files; all of it means "this file is broken".
_BROKEN = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError, TypeError,
           ZeroDivisionError, RuntimeError, MemoryError)

_SRGB = ImageCms.createProfile("sRGB")
_heif_registered = False


class ImageRejected(ValueError):
    """The file is not an image we can use; the message is the reason shown to the user."""


@dataclass
class Decoded:
    image: Image.Image  # RGB, oriented, longest side <= working side
    width: int  # of the original, after orientation
    height: int
    format: str  # Pillow's name: JPEG, PNG, HEIF...
    mime: str = ""


def decode(
    stream: BinaryIO,
    max_pixels: int,
    working_side: int = WORKING_SIDE,
    min_side: int = 1,
    min_long_side: int = 1,
    max_bytes: int | None = None,
) -> Decoded:
    """The whole of `stream` as an upright RGB working copy, or ImageRejected with a reason for the user."""
    # A truncated file must be refused, not padded with grey: this is global Pillow state, so insist on it.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on: truncated uploads would pass as images")
    stream = _seekable(stream, max_bytes)
    mime = _sniff(stream, max_bytes)
    try:
        with warnings.catch_warnings():
            # Our max_pixels check replaces Pillow's warning (it fires at 89 MP, under our 120 MP default).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream, formats=[_PLUGINS[mime]])
            orientation = _orientation(image)
            width, height = image.size  # of frame 0: a GIF or multi-page TIFF is judged and shown by it
            _check_size(width, height, max_pixels, min_side, min_long_side)
            if image.format == "JPEG":
                # libjpeg decodes at 1/2, 1/4 or 1/8 scale, still >= working_side: most of the cost is gone.
                image.draft(None, _draft_size(width, height, working_side))
            image.load()
            rgb = _to_rgb(image, working_side)
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected(f"too many pixels: over Pillow's limit of {2 * Image.MAX_IMAGE_PIXELS:,}") from None
    except UnidentifiedImageError:
        raise ImageRejected(f"corrupt image: the file starts like {mime} but its header is unreadable") from None
    except _BROKEN as exc:
        raise ImageRejected(f"corrupt or truncated image: {exc}") from None
    if orientation in _TRANSPOSE:
        rgb = rgb.transpose(_TRANSPOSE[orientation])  # on the small copy: cheaper than on the original
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return Decoded(rgb, width, height, image.format or _PLUGINS[mime], mime)


def _seekable(stream: BinaryIO, max_bytes: int | None) -> BinaryIO:
    if stream.seekable():
        return stream
    limit = -1 if max_bytes is None else max_bytes + 1  # one byte more is enough to know it is too large
    return io.BytesIO(stream.read(limit))


def _sniff(stream: BinaryIO, max_bytes: int | None) -> str:
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size == 0:
        raise ImageRejected("not an image: the file is empty")
    if max_bytes is not None and size > max_bytes:
        raise ImageRejected(f"too large: {size:,} bytes is over the limit of {max_bytes:,}")
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    mime = sniff_mime(head)
    if mime is None:
        raise ImageRejected(f"not an image Mosaic can read: {_describe(head)}")
    if _PLUGINS[mime] == "HEIF":
        _register_heif()
    Image.init()
    if _PLUGINS[mime] not in Image.ID:
        raise ImageRejected(f"{mime} images are not supported by this installation")
    return mime


def _describe(head: bytes) -> str:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "the content is not JPEG, PNG, WebP, GIF, TIFF, BMP, HEIC or AVIF"
    return "the content is text"


def _register_heif() -> None:
    # Lazily: importing libheif costs ~50 ms and memory that JPEG-only installs never need.
    global _heif_registered
    if _heif_registered:
        return
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        raise ImageRejected("HEIC/HEIF images need the pillow-heif package, which is not installed") from None
    register_heif_opener()
    _heif_registered = True


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block costs the orientation, not the image
        return 1


def _check_size(width: int, height: int, max_pixels: int, min_side: int, min_long_side: int) -> None:
    if width * height > max_pixels:
        raise ImageRejected(f"too many pixels: {width}x{height} is over the limit of {max_pixels:,}")
    if min(width, height) < min_side:
        raise ImageRejected(f"too small: {width}x{height} is under the {min_side} px minimum")
    if max(width, height) < min_long_side:
        raise ImageRejected(f"too small: {width}x{height} is under the {min_long_side} px minimum for the long side")


def _draft_size(width: int, height: int, working_side: int) -> tuple[int, int]:
    # The box whose long side is a little under working_side, same shape as the image. libjpeg
    # scales by 1/2, 1/4 or 1/8 only: a 4000 px photo at 1/4 is 1000 px, and refusing that for a
    # 1024 px working copy would decode four times the pixels to gain 24.
    target = working_side * DRAFT_SLACK
    longest = max(width, height)
    return max(1, math.ceil(width * target / longest)), max(1, math.ceil(height * target / longest))


def _to_rgb(image: Image.Image, working_side: int) -> Image.Image:
    icc = image.info.get("icc_profile")
    image = _resamplable(image)
    image.thumbnail((working_side, working_side), Image.Resampling.BILINEAR)
    if image.mode in ("RGBA", "LA"):
        # Transparent areas become white, as a viewer shows them, not black.
        if image.mode == "LA":
            icc = None  # a grey profile cannot describe the RGB composite
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGB"), mask=image.getchannel("A"))
        image = background
    return _managed(image, icc)


def _resamplable(image: Image.Image) -> Image.Image:
    # Palette, 1-bit and 16/32-bit modes resample badly or not at all: widen them to 8-bit first.
    if image.mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return image
    if image.mode in ("P", "PA"):
        has_alpha = image.mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if image.mode.startswith("I;16") or image.mode == "I":
        return image.convert("I").point(lambda value: value / 256).convert("L")  # 16-bit range to 8
    if image.mode == "F":
        return image.convert("L")
    return image.convert("RGB")


def _managed(image: Image.Image, icc: bytes | None) -> Image.Image:
    # Colours in sRGB: an iPhone's Display P3 or a print CMYK profile would otherwise skew the palette.
    if icc and image.mode in ("RGB", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if image.mode != "RGB" or "srgb" not in ImageCms.getProfileDescription(source).lower():
                return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken or mismatched profile: plain conversion below is still a fine picture
    return image if image.mode == "RGB" else image.convert("RGB")
