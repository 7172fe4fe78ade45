"""A class mask from a PNG of any mode: a pixel above zero (alpha where there is one) paints the class."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from annotations.quality.png_masks import MaskImageError, mask_from_png

H, W = 23, 37  # odd sizes: a 1-bit PNG pads its rows


def _mask() -> np.ndarray:
    mask = np.random.default_rng(5).random((H, W)) < 0.3
    mask[0, 0], mask[-1, -1] = True, False
    return mask


def _png(image: Image.Image, **save: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", **save)
    return buf.getvalue()


def _in_mode(mask: np.ndarray, mode: str) -> bytes:
    """The mask written as `mode`, with values a mask exporter might use (not only 0 and 255)."""
    grey = np.where(mask, 7, 0).astype(np.uint8)
    if mode == "1":
        return _png(Image.fromarray(mask))
    if mode == "L":
        return _png(Image.fromarray(grey))
    if mode == "I;16":
        return _png(Image.fromarray(np.where(mask, 300, 0).astype(np.uint16)))
    if mode == "RGB":  # only the blue channel is set: any channel counts
        return _png(Image.fromarray(np.dstack([np.zeros_like(grey), np.zeros_like(grey), grey])))
    if mode == "LA":  # the grey value is everywhere; only alpha says where the class is
        return _png(Image.fromarray(np.dstack([np.full_like(grey, 200), grey]), mode="LA"))
    if mode == "RGBA":
        full = np.full_like(grey, 255)
        return _png(Image.fromarray(np.dstack([full, full, full, np.where(mask, 255, 0).astype(np.uint8)])))
    if mode == "P":  # a palette whose index 0 is black, as segmentation tools write it
        image = Image.fromarray(np.where(mask, 3, 0).astype(np.uint8), mode="P")
        image.putpalette([0, 0, 0, 10, 10, 10, 20, 20, 20, 255, 0, 0] + [0] * 756)
        return _png(image)
    if mode == "P+transparency":  # white everywhere, the background transparent
        image = Image.fromarray(np.where(mask, 1, 0).astype(np.uint8), mode="P")
        image.putpalette([255, 255, 255, 255, 255, 255] + [0] * 762)
        return _png(image, transparency=0)
    raise AssertionError(mode)


@pytest.mark.parametrize("mode", ["1", "L", "I;16", "RGB", "LA", "RGBA", "P", "P+transparency"])
def test_every_png_mode_gives_the_same_mask(mode: str) -> None:
    mask = _mask()
    data = _in_mode(mask, mode)
    assert Image.open(io.BytesIO(data)).mode == mode.split("+")[0]
    got = mask_from_png(data, width=W, height=H)
    assert got.dtype == bool
    assert got.shape == (H, W)
    assert np.array_equal(got, mask)


def test_a_png_of_another_size_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(MaskImageError, match=f"is {W}x{H} but the photo is {W + 1}x{H}"):
        mask_from_png(_in_mode(_mask(), "L"), width=W + 1, height=H)


def _bomb_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height 8-bit grey pixels (the pixel data is never reached)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("data", "expected"), [
    (b"GIF89a not a png", "is not a PNG image"),
    (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "cannot be read as a PNG"),
    (_in_mode(_mask(), "L")[:60], "cannot be read as a PNG"),
    (_bomb_header(20_000, 10_000), "decompression bomb"),
])
def test_a_file_that_is_not_a_readable_png_is_refused_saying_why(data: bytes, expected: str) -> None:
    with pytest.raises(MaskImageError, match=expected):
        mask_from_png(data, width=W, height=H)
