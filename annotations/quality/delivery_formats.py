"""What a client receives of a photo's masks: a 1-bit PNG per class, COCO RLE per defect, a thumbnail (no Django).

PNG: 1 bit per pixel (colour type 0, bit depth 1: what Pillow calls mode "1"); a pixel is in the class when it is
not 0, and every PNG reader opens it. On the sample's 5472x3648 masks an 8-bit 0/255 PNG is ~1.5x larger and, with
Pillow, ~2-5x slower to write than a 1-bit one (bench/delivery.py measures both in each run). The 1-bit PNG is
written here from numpy's packbits and zlib (rows unfiltered): Pillow's encoder of the same image took
~2.5x as long for a file ~20 % larger, and the PNG container is three chunks. Pillow reads them back in the tests.

COCO: one instance per 8-connected component of a class mask, its RLE in pycocotools' compressed form
(column-major runs, counts as a str) so that ``pycocotools.mask.decode`` gives back exactly that component.
Components never cross an empty row, so each band of non-empty rows is labelled on its own crop: a 20 MP
mask costs one ``any`` per row instead of labelling 20 MP.
"""
import functools
import io
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask

from annotations.quality.overlay import output_size

THUMBNAIL_ALPHA = 0.5


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_ZLIB_LEVEL = 6


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_1bit(mask: np.ndarray) -> bytes:
    height, width = mask.shape
    rows = np.zeros((height, (width + 7) // 8 + 1), np.uint8)  # each row: filter type 0 (none), then its bits
    rows[:, 1:] = np.packbits(mask, axis=1)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale, no interlace
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.data, PNG_ZLIB_LEVEL))
            + _chunk(b"IEND", b""))


def rows_with_pixels(mask: np.ndarray) -> np.ndarray:
    """Bool per row of a bool mask: does it hold a pixel? Read 8 pixels at a time when the rows allow it."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    if mask.shape[1] % 8 == 0:
        return mask.view(np.uint64).any(axis=1)
    return mask.any(axis=1)


def mask_png(mask: np.ndarray) -> bytes:
    """A bool H x W mask as a 1-bit PNG; an empty mask of a size is encoded once per process."""
    if not rows_with_pixels(mask).any():
        return empty_png(mask.shape[1], mask.shape[0])
    return _png_1bit(np.asarray(mask, dtype=bool))


@functools.lru_cache(maxsize=4)
def empty_png(width: int, height: int) -> bytes:
    """The 1-bit PNG of a width x height mask with no pixel (the same bytes for every empty class)."""
    return _png_1bit(np.zeros((height, width), bool))


@dataclass(frozen=True)
class Instance:
    """One defect: a connected component of a class mask, in COCO terms."""

    rle: dict  # {"size": [height, width], "counts": str}
    area: int
    bbox: tuple[int, int, int, int]  # x, y, width, height


def _row_bands(rows: np.ndarray) -> Iterator[tuple[int, int]]:
    """(start, stop) of each maximal run of True in a 1-D bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate(([False], rows, [False])).view(np.int8)))
    yield from zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True)


def _column_major_counts(crop: np.ndarray, top: int, left: int, height: int, width: int) -> list[int]:
    """COCO's uncompressed counts (runs of 0, 1, 0, ... in column-major order over the whole height x width
    image) of a bool crop whose top-left pixel is at (top, left)."""
    columns = np.zeros((crop.shape[1], crop.shape[0] + 2), np.int8)
    columns[:, 1:-1] = crop.T
    changes = np.diff(columns, axis=1)
    col_start, y_start = np.nonzero(changes == 1)
    _, y_stop = np.nonzero(changes == -1)
    base = (left + col_start.astype(np.int64)) * height + top
    starts, stops = base + y_start, base + y_stop
    # A run reaching the bottom of a column goes on at the top of the next one when the photo's edge is in the crop.
    joined = np.flatnonzero(starts[1:] == stops[:-1])
    if joined.size:
        starts, stops = np.delete(starts, joined + 1), np.delete(stops, joined)
    bounds = np.empty(starts.size * 2 + 2, np.int64)
    bounds[0], bounds[-1] = 0, height * width
    bounds[1:-1:2], bounds[2:-1:2] = starts, stops
    counts = np.diff(bounds).tolist()
    return counts[:-1] if counts[-1] == 0 else counts  # COCO ends on the last run, never on an empty one


def coco_instances(mask: np.ndarray) -> list[Instance]:
    """The 8-connected components of a bool H x W mask, in raster order of their first row band."""
    height, width = mask.shape
    found = []
    for r0, r1 in _row_bands(rows_with_pixels(mask)):
        band = mask[r0:r1]
        cols = np.flatnonzero(band.any(axis=0))
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        crop = np.ascontiguousarray(band[:, c0:c1]).view(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(crop, connectivity=8)
        for label in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[label])
            piece = labels[y:y + h, x:x + w] == label
            counts = _column_major_counts(piece, r0 + y, c0 + x, height, width)
            rle = coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
            found.append(Instance(rle={"size": [height, width], "counts": rle["counts"].decode("ascii")},
                                  area=area, bbox=(c0 + x, r0 + y, w, h)))
    return found


def coco_document(*, images: Sequence[dict], categories: Sequence[dict], annotations: Sequence[dict]) -> dict:
    """A COCO instance-segmentation document (images, categories, annotations with RLE segmentation)."""
    return {"info": {"description": "LabelCrew delivery", "version": "1.0"}, "licenses": [],
            "images": list(images), "categories": list(categories), "annotations": list(annotations)}


def _any_per_block(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bool mask of `size` (width, height): True where the block of `mask` under a pixel holds a True."""
    height, width = mask.shape
    factor = max(1, min(width // size[0], height // size[1]))
    pooled = np.zeros((height // factor, width // factor), bool)
    # Max-pooling by an integer factor, over the blocks of rows that hold a pixel only (defects are sparse).
    rows = np.flatnonzero(rows_with_pixels(mask)[:pooled.shape[0] * factor])
    if rows.size:
        blocks = np.unique(rows // factor)
        picked = mask[(blocks[:, None] * factor + np.arange(factor)).ravel(), :pooled.shape[1] * factor]
        if factor * factor <= 255:  # OpenCV's exact integer-block mean: a lone pixel of 255 stays above 0
            pooled[blocks] = cv2.resize(picked.view(np.uint8) * np.uint8(255), (pooled.shape[1], blocks.size),
                                        interpolation=cv2.INTER_AREA) > 0
        else:
            pooled[blocks] = picked.reshape(blocks.size, factor, pooled.shape[1], factor).any(axis=(1, 3))
    # What is left is under 2x: a pooled pixel falls at least a quarter into some thumbnail pixel.
    return cv2.resize(pooled.view(np.uint8) * np.uint8(255), size, interpolation=cv2.INTER_AREA) > 0


def thumbnail_jpeg(*, photo: Image.Image, masks: Mapping[str, np.ndarray], colours: Mapping[str, str],
                   max_side: int = 480, quality: int = 80) -> bytes:
    """A small JPEG of the photo with each class's mask tinted in its colour (a 1 px scratch stays visible:
    a thumbnail pixel is tinted when any photo pixel under it is in the class)."""
    size = output_size(*photo.size, max_side)
    photo.draft("RGB", size)  # a JPEG decodes at 1/2, 1/4 or 1/8 scale, never below the thumbnail's size
    image = np.array(photo.convert("RGB").resize(size, Image.Resampling.BOX))
    alpha = round(THUMBNAIL_ALPHA * 256)
    for label, mask in masks.items():
        where = _any_per_block(mask, size)
        colour = np.array([int(colours.get(label, "#ff0000")[i:i + 2], 16) for i in (1, 3, 5)], np.uint16)
        pixels = image[where].astype(np.uint16)
        image[where] = ((pixels * (256 - alpha) + colour * alpha + 128) >> 8).astype(np.uint8)
    out = io.BytesIO()
    # 4:4:4: the default 4:2:0 halves the colour resolution and washes out the tint of a 1 px scratch.
    Image.fromarray(image).save(out, "JPEG", quality=quality, subsampling=0)
    return out.getvalue()
