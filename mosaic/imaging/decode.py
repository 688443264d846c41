"""Decode an image once, safely, to a working copy no bigger than the steps need.

Order matters for safety: the type comes from the magic bytes (only that Pillow plugin may parse the file),
sizes are judged from the header before any pixel is decoded, and truncated data is an error, never grey.

Memory is bounded too, so a worker stays small on any accepted file: JPEGs are decoded at a reduced DCT
scale, large PNGs a strip at a time (reduced as they go), and any other format whose full-size decode would
cost more than `MAX_DECODE_BYTES` is refused with that reason before a pixel is decoded.
"""

from __future__ import annotations

import io
import math
import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from PIL import Image, ImageChops, ImageCms, ImageFile, UnidentifiedImageError

from mosaic.imaging.sniff import SNIFF_BYTES, sniff_mime

WORKING_SIDE = 1024
DRAFT_SLACK = 0.9
# What a decode may hold at once. A harvest worker sits at ~360 MB with its models loaded and warm; this keeps
# it under 600 MB whatever it is given.
MAX_DECODE_BYTES = 224 * 1024 * 1024
# PNGs whose pixels would take more than this are decoded a strip at a time, and strips are about this big.
STREAM_PNG_ABOVE = 32 * 1024 * 1024
STRIP_BYTES = 4 * 1024 * 1024

# Sniffed type -> the one Pillow plugin allowed to read it.
_PLUGINS = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/tiff": "TIFF", "image/bmp": "BMP",
    "image/webp": "WEBP", "image/heic": "HEIF", "image/heif": "HEIF", "image/avif": "AVIF",
}

# Peak memory of a full decode over the size of Pillow's image, measured per plugin: libwebp's animation
# decoder keeps two canvases and hands over a copy; libheif and libavif decode into their own buffer first.
_DECODE_OVERHEAD = {"WEBP": 4.0, "AVIF": 2.25, "HEIF": 1.4}

# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose does).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# What Pillow and its plugins raise on malformed files; all of it means "this file is broken".
_BROKEN = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError, TypeError,
           ZeroDivisionError, RuntimeError, MemoryError, zlib.error)

_RESAMPLABLE = ("RGB", "RGBA", "L", "LA", "CMYK")

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
    max_decode_bytes: int = MAX_DECODE_BYTES,
) -> Decoded:
    """The whole of `stream` as an upright RGB working copy, or ImageRejected with a reason for the user."""
    # A truncated file must be refused, not padded with grey: this is global Pillow state, so insist on it.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on: truncated uploads would pass as images")
    stream = _seekable(stream, max_bytes)
    mime = _sniff(stream, max_bytes)
    layout = _jpeg_layout(stream) if mime == "image/jpeg" else None
    try:
        with warnings.catch_warnings():
            # Our max_pixels check replaces Pillow's warning (it fires at 89 MP, under our 120 MP default).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(_as_read(stream, layout), formats=[_PLUGINS[mime]])
            orientation = _orientation(image, stream)
            width, height = image.size  # of frame 0: a GIF or multi-page TIFF is judged and shown by it
            _check_size(width, height, max_pixels, min_side, min_long_side)
            if image.format in ("JPEG", "MPO"):  # MPO: a JPEG with more pictures after it
                # A structure we cannot follow is not checked for truncation here; Pillow still judges it.
                rgb = _jpeg_working_copy(image, stream, layout or _JpegLayout(), working_side, max_decode_bytes)
            elif image.format == "PNG" and _png_streams(image):
                rgb = _finished(_png_strips(image, stream, working_side), image.info.get("icc_profile"))
            else:
                _check_memory(image, max_decode_bytes)
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


def _orientation(image: Image.Image, stream: BinaryIO) -> int:
    try:
        if image.format == "PNG" and "exif" not in image.info:
            # Pillow's PNG getexif() decodes the whole picture to reach an eXIf chunk after the pixels.
            exif = Image.Exif()
            exif.load(_png_chunk(stream, b"eXIf") or b"")
        else:
            exif = image.getexif()
        return int(exif.get(0x0112, 1))
    except Exception:  # a broken EXIF block costs the orientation, not the image
        return 1


def _png_chunk(stream: BinaryIO, kind: bytes) -> bytes | None:
    """The data of the first `kind` chunk, found by reading chunk headers only."""
    position = 8
    while True:
        stream.seek(position)
        head = stream.read(8)
        if len(head) < 8 or head[4:] == b"IEND":
            return None
        length = struct.unpack(">I", head[:4])[0]
        if head[4:] == kind:
            return stream.read(length)
        position += 12 + length


def _check_size(width: int, height: int, max_pixels: int, min_side: int, min_long_side: int) -> None:
    if width * height > max_pixels:
        raise ImageRejected(f"too many pixels: {width}x{height} is over the limit of {max_pixels:,}")
    if min(width, height) < min_side:
        raise ImageRejected(f"too small: {width}x{height} is under the {min_side} px minimum")
    if max(width, height) < min_long_side:
        raise ImageRejected(f"too small: {width}x{height} is under the {min_long_side} px minimum for the long side")


def _pixel_bytes(mode: str) -> int:
    # What Pillow stores per pixel: 1, 8-bit grey and palette in one byte, 16-bit grey in two, the rest in four.
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _check_memory(image: Image.Image, max_decode_bytes: int) -> None:
    width, height = image.size
    needed = width * height * _pixel_bytes(image.mode) * _DECODE_OVERHEAD.get(image.format or "", 1.0)
    if needed > max_decode_bytes:
        mib = 1024 * 1024
        raise ImageRejected(
            f"too large to decode: a {width}x{height} {image.format} ({image.mode}) needs {needed / mib:,.0f} MiB "
            f"of memory to decode, over the limit of {max_decode_bytes / mib:,.0f} MiB "
            "(a JPEG or a non-interlaced PNG of this size would be accepted)")


def _draft_size(width: int, height: int, working_side: int) -> tuple[int, int]:
    # The box whose long side is a little under working_side, same shape as the image. libjpeg
    # scales by 1/2, 1/4 or 1/8 only: a 4000 px photo at 1/4 is 1000 px, and refusing that for a
    # 1024 px working copy would decode four times the pixels to gain 24.
    target = working_side * DRAFT_SLACK
    longest = max(width, height)
    return max(1, math.ceil(width * target / longest)), max(1, math.ceil(height * target / longest))


# --- the working copy ---

def _to_rgb(image: Image.Image, working_side: int) -> Image.Image:
    return _finished(_shrunk(image, working_side), image.info.get("icc_profile"))


def _finished(image: Image.Image, icc: bytes | None) -> Image.Image:
    if image.mode in ("RGBA", "LA"):
        # Transparent areas become white, as a viewer shows them, not black.
        if image.mode == "LA":
            icc = None  # a grey profile cannot describe the RGB composite
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGB"), mask=image.getchannel("A"))
        image = background
    return _managed(image, icc)


def _shrunk(image: Image.Image, working_side: int) -> Image.Image:
    """`image` (loaded) in a resamplable 8-bit mode, its longest side at most working_side."""
    if image.mode in _RESAMPLABLE:
        image.thumbnail((working_side, working_side), Image.Resampling.BILINEAR)
        return image
    # Widening a palette or 16-bit picture at full size costs two to four times its memory: a strip at a time.
    reducer = _Reducer(image.width, image.height, working_side)
    rows = reducer.rows(image.width * 4)
    for top in range(0, image.height, rows):
        reducer.add(top, _resamplable(image.crop((0, top, image.width, min(image.height, top + rows)))))
    return reducer.result()


def _resamplable(image: Image.Image) -> Image.Image:
    # Palette, 1-bit and 16/32-bit modes resample badly or not at all: widen them to 8-bit first.
    if image.mode in _RESAMPLABLE:
        return image
    if image.mode in ("P", "PA"):
        has_alpha = image.mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if image.mode.startswith("I;16") or image.mode == "I":
        return image.convert("I").point(lambda value: value / 256).convert("L")  # 16-bit range to 8
    if image.mode == "F":
        return image.convert("L")
    return image.convert("RGB")


def _fit(width: int, height: int, side: int) -> tuple[int, int]:
    """The size Image.thumbnail((side, side)) gives a width x height picture."""
    if width <= side and height <= side:
        return width, height
    aspect = width / height

    def round_aspect(number: float, key) -> int:
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    if aspect <= 1:
        return round_aspect(side * aspect, key=lambda n: abs(aspect - n / side)), side
    return side, round_aspect(side / aspect, key=lambda n: 0 if n == 0 else abs(aspect - side / n))


class _Reducer:
    """Assembles a picture given in horizontal strips into its working copy, holding only a reduced canvas.

    Box-reduces each strip by the factor Image.thumbnail would (its reducing_gap of 2), then resizes the
    canvas as thumbnail does: the same picture as a thumbnail of the whole, without the whole."""

    def __init__(self, width: int, height: int, side: int):
        self.width, self.height = width, height
        self.size = _fit(width, height, side)
        self.factor = (max(1, int(width / self.size[0] / 2)), max(1, int(height / self.size[1] / 2)))
        self.canvas: Image.Image | None = None

    def rows(self, row_bytes: int) -> int:
        """Rows per strip: about STRIP_BYTES, a multiple of the vertical factor so strips reduce as the whole."""
        step = self.factor[1]
        return max(step, STRIP_BYTES // max(1, row_bytes) // step * step)

    def add(self, top: int, strip: Image.Image, skip: int = 0) -> None:
        """The rows of `strip` below its first `skip` ones are the picture's rows from `top` on."""
        box = (0, skip, strip.width, strip.height)
        if self.factor != (1, 1):
            strip = strip.reduce(self.factor, box=box)
        elif skip:
            strip = strip.crop(box)
        if self.canvas is None:
            size = (-(-self.width // self.factor[0]), -(-self.height // self.factor[1]))
            self.canvas = Image.new(strip.mode, size)
        self.canvas.paste(strip, (0, top // self.factor[1]))

    def result(self) -> Image.Image:
        assert self.canvas is not None
        if self.canvas.size == self.size:
            return self.canvas
        box = (0, 0, self.width / self.factor[0], self.height / self.factor[1])
        return self.canvas.resize(self.size, Image.Resampling.BILINEAR, box=box)


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


# --- JPEG: truncation that libjpeg only warns about ---
#
# libjpeg pads a scan that runs out of data with zeros and carries on (a warning Pillow drops), so a JPEG cut
# short and closed with an end marker decodes as a photo with grey below the cut. Two ways to see it anyway:
# - one scan (baseline): the decoder reads the file without its end marker, followed by a few zero bytes for
#   its read-ahead. A complete scan never needs them; a cut one runs past them and Pillow says "truncated".
# - several scans (progressive): libjpeg needs the end marker before it draws anything, so the scans are
#   checked to cover every coefficient, and the picture is decoded a second time with other filler bytes
#   before the end marker. A complete last scan never reads them; a cut one reads them as data and the
#   two pictures differ.

_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # a marker: not stuffing, a restart or fill
_READ_AHEAD = b"\x00" * 32
_FILLER = bytes([0x5A, 0xA5, 0x3C, 0xC3]) * 64 + b"\xff\xd9"
_PROGRESSIVE = (0xC2, 0xC6, 0xCA, 0xCE)
_HUFFMAN = (0xC0, 0xC1, 0xC2)  # arithmetic-coded and lossless JPEGs are left to Pillow as they are


@dataclass
class _JpegLayout:
    frame: int = 0  # the SOF marker: baseline, extended, progressive...
    components: tuple[int, ...] = ()
    scans: list[tuple[tuple[int, ...], int, int]] = field(default_factory=list)  # (components, first, last coef)
    eoi: int | None = None  # offset of the first picture's end marker (more pictures may follow, as in MPO)

    @property
    def checkable(self) -> bool:
        return self.eoi is not None and self.frame in _HUFFMAN and bool(self.scans)

    def missing(self) -> str | None:
        """What the scans leave out (a file cut between two scans), or None."""
        if self.frame in _PROGRESSIVE:
            sent = {c: set() for c in self.components}
            for components, first, last in self.scans:
                for c in components:
                    sent.setdefault(c, set()).update(range(first, min(last, 63) + 1))
            if any(len(coefficients) < 64 for coefficients in sent.values()):
                return f"the progressive JPEG ends after {len(self.scans)} scans, before all of the picture is sent"
        elif not set(self.components) <= {c for components, _, _ in self.scans for c in components}:
            return f"the JPEG ends after {len(self.scans)} scans, before every colour component is sent"
        return None


def _jpeg_layout(stream: BinaryIO) -> _JpegLayout | None:
    """The marker structure of a JPEG, or None when it cannot be followed (Pillow then judges the file alone)."""
    data = stream.read()
    stream.seek(0)
    layout = _JpegLayout()
    pos = 2  # after SOI
    try:
        while pos < len(data):
            if data[pos] != 0xFF:
                return None
            while data[pos] == 0xFF:  # fill bytes may precede a marker
                pos += 1
            marker = data[pos]
            pos += 1
            if marker == 0xD9:
                layout.eoi = pos - 2
                return layout
            if marker == 0x01 or 0xD0 <= marker <= 0xD8:
                continue  # no length follows these
            length = int.from_bytes(data[pos:pos + 2], "big")
            if length < 2 or pos + length > len(data):
                return None
            segment = data[pos + 2:pos + length]
            pos += length
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                layout.frame = marker
                layout.components = tuple(segment[6 + 3 * i] for i in range(segment[5]))
            elif marker == 0xDA:
                count = segment[0]
                components = tuple(segment[1 + 2 * i] for i in range(count))
                layout.scans.append((components, segment[1 + 2 * count], segment[2 + 2 * count]))
                found = _JPEG_MARKER.search(data, pos)
                if found is None:
                    return layout  # the scan runs to the end of the file: no end marker
                pos = found.start()
    except IndexError:
        return None
    return layout


def _as_read(stream: BinaryIO, layout: _JpegLayout | None) -> BinaryIO:
    if layout is None or not layout.checkable or len(layout.scans) > 1:
        return stream
    return io.BufferedReader(_Spliced(stream, layout.eoi, _READ_AHEAD))


def _jpeg_working_copy(image: Image.Image, stream: BinaryIO, layout: _JpegLayout, working_side: int,
                       max_decode_bytes: int) -> Image.Image:
    if layout.checkable and (reason := layout.missing()):
        raise ImageRejected(f"corrupt or truncated image: {reason}")
    # libjpeg decodes at 1/2, 1/4 or 1/8 scale, still >= working_side: most of the cost is gone.
    request = _draft_size(image.width, image.height, working_side)
    several = layout.checkable and len(layout.scans) > 1
    if several:  # at a scale that shows the coefficients of the last scan, or its cut would not show
        shown = _shown_size(image.width, image.height, layout.scans[-1])
        request = (max(request[0], shown[0]), max(request[1], shown[1]))
    image.draft(None, request)
    _check_memory(image, max_decode_bytes)
    try:
        image.load()
    except OSError as exc:
        if layout.checkable and len(layout.scans) == 1 and "truncated" in str(exc):
            raise ImageRejected("corrupt or truncated image: the JPEG data stops before the end of the picture "
                                "(premature end of data)") from None
        raise
    if several:
        other = Image.open(io.BufferedReader(_Spliced(stream, layout.eoi, _FILLER)), formats=["JPEG"])
        other.draft(None, request)
        other.load()
        if other.size != image.size or ImageChops.difference(image, other).getbbox() is not None:
            raise ImageRejected("corrupt or truncated image: the last scan of the progressive JPEG stops before "
                                "the end of the picture (premature end of data)")
    return _to_rgb(image, working_side)


# Zigzag index -> position in the 8x8 block (row * 8 + column), as libjpeg's jpeg_natural_order.
_NATURAL_ORDER = (0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
                  13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52,
                  45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63)


def _shown_size(width: int, height: int, scan: tuple[tuple[int, ...], int, int]) -> tuple[int, int]:
    """The smallest size whose DCT scale uses a coefficient of `scan`: at 1/8 libjpeg keeps only the DC term,
    at 1/4 the 2x2 lowest, at 1/2 the 4x4 lowest."""
    _, first, last = scan
    corner = min(max(divmod(_NATURAL_ORDER[k], 8)) + 1 for k in range(first, min(last, 63) + 1))
    block = next(size for size in (1, 2, 4, 8) if size >= corner)
    return math.ceil(width * block / 8), math.ceil(height * block / 8)


class _Spliced(io.RawIOBase):
    """`stream` up to `end`, then `tail`: the file as the decoder should see it, without copying it."""

    def __init__(self, stream: BinaryIO, end: int, tail: bytes):
        self._stream, self._end, self._tail, self._pos = stream, end, tail, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._end + len(self._tail)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        if self._pos < self._end:
            self._stream.seek(self._pos)
            data = self._stream.read(min(len(view), self._end - self._pos))
            done = len(data)
            view[:done] = data
        if done < len(view) and self._pos + done >= self._end:
            start = self._pos + done - self._end
            piece = self._tail[start:start + len(view) - done]
            view[done:done + len(piece)] = piece
            done += len(piece)
        self._pos += done
        return done


# --- PNG: a strip at a time ---
#
# Pillow decodes a PNG whole, and our 16-bit and palette conversions widened it again: a 250 KB 16-bit grey
# PNG of 10900x10900 took 1.1 GB. Here the IDAT stream is inflated a strip of rows at a time and each strip is
# unfiltered by Pillow's own PNG decoder. PNG filters refer to the row above, so each strip is given the last
# row of the one before, unfiltered and exact, as its first row (filter "none"): that row is read back from
# the decoded strip in the PNG's own raw layout, for which every mode below has a lossless mode to decode into.

_PNG_BITS = {"L": 8, "I;16B": 16, "RGB": 24, "RGB;16B": 48, "P": 8, "LA": 16, "LA;16B": 32, "RGBA": 32,
             "RGBA;16B": 64}
# PNG raw mode -> the (mode, raw mode) decodings of a strip. The first gives the picture, and packed back
# (or, for 16-bit colour, interleaved high and low bytes) the exact raw row. Modes of under 8 bits are left
# out: the unused bits that end their rows are not kept by Pillow, and a whole decode of them is small anyway.
_PNG_DECODINGS = {
    "L": [("L", "L")], "I;16B": [("LA", "LA")],  # high byte as L (the 8-bit picture), low byte as A
    "RGB": [("RGB", "RGB")], "RGB;16B": [("RGB", "RGB;16B"), ("RGB", "RGB;16L")],  # high bytes, low bytes
    "P": [("P", "P")], "LA": [("LA", "LA")], "LA;16B": [("RGBA", "RGBA")],  # grey high, low, alpha high, low
    "RGBA": [("RGBA", "RGBA")], "RGBA;16B": [("RGBA", "RGBA;16B"), ("RGBA", "RGBA;16L")],
}


def _png_rawmode(image: Image.Image) -> str | None:
    if len(image.tile) != 1 or image.tile[0][0] != "zip":
        return None
    args = image.tile[0][3]
    return args if isinstance(args, str) else args[0]


def _png_streams(image: Image.Image) -> bool:
    """True for a PNG too large to decode whole that can be decoded a strip at a time."""
    if image.width * image.height * _pixel_bytes(image.mode) <= STREAM_PNG_ABOVE:
        return False
    return (_png_rawmode(image) in _PNG_DECODINGS and not image.info.get("interlace")
            and not getattr(image, "is_animated", False) and image.tile[0][1] == (0, 0, *image.size))


def _png_strips(image: Image.Image, stream: BinaryIO, working_side: int) -> Image.Image:
    rawmode = _png_rawmode(image)
    assert rawmode is not None
    decodings = _PNG_DECODINGS[rawmode]
    width, height = image.size
    row_bytes = (_PNG_BITS[rawmode] * width + 7) // 8
    reducer = _Reducer(width, height, working_side)
    rows = reducer.rows(max(row_bytes, width * 4))
    inflater = zlib.decompressobj()
    pieces = _idat_pieces(stream, image.tile[0][2])
    carry = b""
    for top in range(0, height, rows):
        count = min(rows, height - top)
        parts = _inflate(inflater, pieces, count * (row_bytes + 1))
        skip = 1 if carry else 0
        payload = _stored([b"\x00", carry, *parts] if skip else parts)
        strips = [_unfiltered(payload, mode, raw_mode, width, skip + count) for mode, raw_mode in decodings]
        last = skip + count - 1
        carry = _raw_row(rawmode, [strip.crop((0, last, width, last + 1)) for strip in strips])
        reducer.add(top, _png_picture(rawmode, strips[0], image), skip)
    return reducer.result()


def _idat_pieces(stream: BinaryIO, offset: int, size: int = 1024 * 1024) -> Iterator[bytes]:
    """The compressed picture: the data of the IDAT chunks from the one at `offset` on, in pieces."""
    position = offset - 8  # Pillow's tile starts after the first IDAT's length and type
    while True:
        stream.seek(position)
        head = stream.read(8)
        if len(head) < 8 or head[4:] != b"IDAT":
            return
        length = struct.unpack(">I", head[:4])[0]
        for start in range(0, length, size):
            piece = stream.read(min(size, length - start))
            if not piece:
                return
            yield piece
        position += 8 + length + 4  # and the CRC


def _inflate(inflater, pieces: Iterator[bytes], needed: int) -> list[bytes]:
    # max_length bounds what one call may inflate: a few bytes of a bomb cannot become more than a strip.
    parts: list[bytes] = []
    have = 0
    while have < needed:
        data = inflater.unconsumed_tail or next(pieces, b"")
        got = inflater.decompress(data, needed - have)
        if not got and not data:
            raise OSError("image file is truncated: the PNG data stops before the end of the picture")
        parts.append(got)
        have += len(got)
    return parts


def _stored(parts: list[bytes]) -> bytes:
    """`parts` as one zlib stream of stored (uncompressed) blocks: a copy, where compressing would cost a pass."""
    out = [b"\x78\x01"]
    checksum = 1
    for part in parts:
        view = memoryview(part)
        checksum = zlib.adler32(view, checksum)
        for start in range(0, len(view), 0xFFFF):
            block = view[start:start + 0xFFFF]
            out += (struct.pack("<BHH", 0, len(block), 0xFFFF ^ len(block)), block)
    out.append(struct.pack("<BHH", 1, 0, 0xFFFF))  # the final block, empty
    out.append(struct.pack(">I", checksum))
    return b"".join(out)


def _unfiltered(payload: bytes, mode: str, rawmode: str, width: int, rows: int) -> Image.Image:
    strip = Image.new(mode, (width, rows), None)  # every row is written by the decoder
    decoder = Image._getdecoder(mode, "zip", (rawmode, 0))
    decoder.setimage(strip.im, (0, 0, width, rows))
    try:
        done, error = decoder.decode(payload)
    finally:
        decoder.cleanup()
    if error < 0:
        raise OSError(f"broken PNG data: {Image.core.getcodecstatus(error)}")
    if done >= 0:
        raise OSError("image file is truncated: the PNG data stops before the end of the picture")
    return strip


def _raw_row(rawmode: str, rows: list[Image.Image]) -> bytes:
    """One decoded row back in the PNG's raw layout, byte for byte."""
    if len(rows) == 2:  # 16-bit colour: interleave the high and the low bytes of each sample
        high, low = (row.tobytes("raw", row.mode) for row in rows)
        out = bytearray(2 * len(high))
        out[0::2], out[1::2] = high, low
        return bytes(out)
    row = rows[0]
    return row.tobytes("raw", _PNG_DECODINGS[rawmode][0][1])


def _png_picture(rawmode: str, strip: Image.Image, image: Image.Image) -> Image.Image:
    if rawmode == "I;16B":
        return strip.getchannel("L")
    if rawmode == "LA;16B":
        red, _, blue, _ = strip.split()
        return Image.merge("LA", (red, blue))
    if strip.mode == "P":
        strip.palette = image.palette.copy()
        if "transparency" in image.info:
            strip.info["transparency"] = image.info["transparency"]
    return _resamplable(strip)
