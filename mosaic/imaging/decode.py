"""Decode an image once, safely, to a working copy no bigger than the steps need."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

WORKING_SIDE = 1024


class ImageRejected(ValueError):
    """The file is not an image we can use; the message is the reason shown to the user."""


@dataclass
class Decoded:
    image: Image.Image  # RGB, oriented, longest side <= working side
    width: int  # of the original, after orientation
    height: int
    format: str


def decode(stream: BinaryIO, max_pixels: int, working_side: int = WORKING_SIDE) -> Decoded:
    """Header first (refuse bombs before decoding), then a DCT-scaled decode of JPEGs."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream)
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRejected(f"too many pixels: {width}x{height} is over the limit of {max_pixels:,}")
            fmt = image.format or "unknown"
            if fmt == "JPEG":
                # Let libjpeg decode at 1/2..1/8 scale: most of the cost of a 12 MP photo disappears.
                image.draft("RGB", (working_side, working_side))
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"refused as a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejected("not an image Mosaic can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"corrupt or truncated image: {exc}") from None
    transposed = ImageOps.exif_transpose(image)
    if transposed.size != image.size:  # rotated by 90 or 270 degrees
        width, height = height, width
    rgb = _to_rgb(transposed)
    rgb.thumbnail((working_side, working_side), Image.Resampling.BILINEAR)
    return Decoded(rgb, width, height, fmt)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white, as a viewer shows them, not black.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.point(lambda value: value / 256).convert("L").convert("RGB")
    return image.convert("RGB")
