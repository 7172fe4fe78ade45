"""One defect class's mask from a PNG file: any pixel above zero belongs to the class (pure Pillow and numpy)."""
import io
import zlib

import numpy as np
from PIL import Image, UnidentifiedImageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What Pillow raises on a damaged PNG: bad chunks, a truncated stream, bad zlib data, unknown modes.
_UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, zlib.error)


class MaskImageError(ValueError):
    """A mask file that is not a readable PNG of the expected size; the message says which."""


def _mask_of(image: Image.Image) -> np.ndarray:
    """Bool H x W: alpha > 0 for images with an alpha channel (LA, RGBA, PA or a palette with
    transparency), otherwise any channel > 0 (1, L, I;16, RGB; a palette image by its colours, so the
    order of its palette does not matter)."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if "A" in image.getbands():
        return np.asarray(image.getchannel("A")) > 0
    if image.mode == "P":
        image = image.convert("RGB")
    pixels = np.asarray(image)
    return pixels.any(axis=2) if pixels.ndim == 3 else pixels > 0


def mask_from_png(data: bytes, *, width: int, height: int) -> np.ndarray:
    """The bool height x width mask of a PNG; MaskImageError when it is not a PNG, is another size
    (checked from the header, before any pixel is decoded), trips Pillow's decompression-bomb guard
    or does not decode."""
    if not data.startswith(PNG_SIGNATURE):
        raise MaskImageError("is not a PNG image")
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
    except Image.DecompressionBombError as exc:
        raise MaskImageError(f"is refused as a decompression bomb ({exc})") from None
    except _UNREADABLE as exc:
        raise MaskImageError(f"cannot be read as a PNG ({exc})") from None
    with image:
        if image.size != (width, height):
            raise MaskImageError(f"is {image.width}x{image.height} but the photo is {width}x{height}")
        try:
            image.load()
            return _mask_of(image)
        except _UNREADABLE as exc:
            raise MaskImageError(f"cannot be read as a PNG ({exc})") from None
