"""One defect class's mask from a PNG file: any pixel above zero belongs to the class (pure Pillow and numpy)."""
import io
import struct
import zlib

import numpy as np
from PIL import Image, UnidentifiedImageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The signature, then the IHDR chunk: length 13, type, width, height, bit depth, colour type, 3 more bytes, CRC.
PNG_HEAD_BYTES = 33
_IHDR = struct.Struct(">I4sIIBB")
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type: grey, RGB, palette, grey + alpha, RGBA
# Beside the pixel data a PNG holds chunks (palette, text, ICC profile...): this much is allowed for them.
PNG_SIDE_CHUNKS_BYTES = 2**20
# What Pillow raises on a damaged PNG: bad chunks, a truncated stream, bad zlib data, unknown modes.
_UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, zlib.error)


class MaskImageError(ValueError):
    """A mask file that is not a readable PNG of the expected size; the message says which."""


def png_head_check(head: bytes, *, width: int, height: int, file_bytes: int) -> None:
    """MaskImageError unless `head` (a file's first PNG_HEAD_BYTES) starts a PNG of width x height whose file of
    `file_bytes` is no larger than its pixels stored without compression can take (plus PNG_SIDE_CHUNKS_BYTES):
    checked from a ZIP entry's first bytes, before the entry is unpacked."""
    if not head.startswith(PNG_SIGNATURE):
        raise MaskImageError("is not a PNG image")
    if len(head) < PNG_HEAD_BYTES:
        raise MaskImageError("is a PNG cut short before its header ends")
    length, kind, png_width, png_height, depth, colour = _IHDR.unpack_from(head, len(PNG_SIGNATURE))
    if length != 13 or kind != b"IHDR" or colour not in _CHANNELS or depth not in (1, 2, 4, 8, 16):
        raise MaskImageError("cannot be read as a PNG (its header is not a valid IHDR)")
    if (png_width, png_height) != (width, height):
        raise MaskImageError(f"is {png_width}x{png_height} but the photo is {width}x{height}")
    # Filtered rows (a filter byte each; Adam7 interlacing adds at most 7 rows' worth), stored uncompressed in
    # zlib blocks of at most 65,535 bytes with 5 bytes of framing, in IDAT chunks of 12 bytes of framing each.
    raw = height * (1 + (width * _CHANNELS[colour] * depth + 7) // 8) + 7 * (height + 1)
    most = raw + 5 * (raw // 65_535 + 1) + raw // 100 + PNG_SIDE_CHUNKS_BYTES
    if file_bytes > most:
        raise MaskImageError(f"is {file_bytes:,} bytes, more than any {width}x{height} PNG needs ({most:,})")


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
