"""Evidence image: the photo, downscaled, with the candidate's masks tinted by agreement with gold, as JPEG.

What each colour means (decided per pixel at full resolution, per class)
-----------------------------------------------------------------------
* correct (green): the candidate marks the pixel with a label gold also gives it;
* wrong class (yellow): candidate and gold both mark the pixel but share no label there;
* false positive (red): only the candidate marks the pixel;
* missed (blue): only gold marks the pixel.

Downscaling
-----------
The output is the photo shrunk so its longest side is at most ``max_side`` (never enlarged). Each
output pixel stands for a block of 1..ceil(scale) x 1..ceil(scale) full-size pixels (an exact
partition of the image). A block is tinted when any of its pixels is marked, so a 1 px scratch
survives any downscale, in the colour of the category with the most pixels in the block; ties go
to the errors (missed, then false positive, then wrong class) before correct, so a block that is
half wrong is not shown as right. Tints are blended at alpha 0.45 so the photo shows through.

Speed
-----
Defects cover a small part of a 20 MP mask, so masks are read in strips of rows: a strip where no
mask has a pixel costs one ``any()`` per mask, and only the columns between a strip's first and
last marked pixel are classified. The four per-category counts of a block are summed in one pass,
packed as bit fields of one unsigned integer per pixel. The photo is shrunk by OpenCV/Pillow
before any colouring, so no full-size colour array is ever allocated besides the input.
"""

import io
from collections.abc import Mapping

import cv2
import numpy as np
from PIL import Image

from annotations.quality.packed import PackedMask

ALPHA = 0.45

# Category index = position here; the order is the tie-break of np.argmax (first wins), so errors
# come before "correct". Index + 1 is the code in the category image, 0 there meaning untouched.
_MISSED, _FALSE_POSITIVE, _WRONG_CLASS, _CORRECT = range(4)
_COLOURS: tuple[tuple[int, int, int], ...] = (
    (0, 90, 255),  # missed: azure rather than pure blue, which is invisible on a dark screen
    (255, 0, 0),  # false positive
    (255, 215, 0),  # wrong class
    (0, 230, 0),  # correct
)
_LEGEND_TEXT = (
    (_CORRECT, "Correct: drawn with the gold label"),
    (_FALSE_POSITIVE, "False positive: drawn, not in gold"),
    (_MISSED, "Missed: in gold, not drawn"),
    (_WRONG_CLASS, "Wrong class: drawn, but gold has another label there"),
)

# Full-size rows per strip: ~1.5 MB of bool per mask strip keeps the temporaries in cache.
_STRIP_ROWS = 256


def overlay_legend() -> list[tuple[str, tuple[int, int, int]]]:
    """(caption, RGB colour) of each tint of render_overlay, in the order a legend shows them."""
    return [(text, _COLOURS[index]) for index, text in _LEGEND_TEXT]


def output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) of the overlay of a width x height image: longest side <= max_side, same aspect."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    if width >= height:
        return max_side, max(1, round(height * max_side / width))
    return max(1, round(width * max_side / height)), max_side


# --- photo --------------------------------------------------------------------------------------


def _photo_size(photo: Image.Image | np.ndarray) -> tuple[int, int]:
    if isinstance(photo, Image.Image):
        return photo.size
    if not isinstance(photo, np.ndarray) or photo.dtype != np.uint8 or photo.ndim not in (2, 3) or (
        photo.ndim == 3 and photo.shape[2] not in (1, 3, 4)
    ):
        raise ValueError("photo must be a PIL image or a uint8 H x W, H x W x 3 (RGB) or H x W x 4 (RGBA) array, "
                         f"got {getattr(photo, 'dtype', type(photo).__name__)} {getattr(photo, 'shape', '')}")
    return photo.shape[1], photo.shape[0]


def _shrink_array(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """The RGB uint8 array resized to width x height by area averaging, as a new writable array."""
    if photo.ndim == 3 and photo.shape[2] == 4:
        photo = photo[:, :, :3]
    elif photo.ndim == 3 and photo.shape[2] == 1:
        photo = photo[:, :, 0]
    h, w = photo.shape[:2]
    if (w, h) != (width, height):
        factor = min(w // width, h // height)
        if factor >= 2:
            # OpenCV's INTER_AREA is ~6x faster for an integer factor; the rest is then under 2x. The
            # cropped edge (< factor px) shifts the result by under one output pixel.
            photo = cv2.resize(photo[: h // factor * factor, : w // factor * factor],
                               (w // factor, h // factor), interpolation=cv2.INTER_AREA)
        photo = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    if photo.ndim == 2:
        return cv2.cvtColor(photo, cv2.COLOR_GRAY2RGB)
    return np.array(photo, order="C")  # a copy: the caller's photo is never painted on


def _shrink_image(photo: Image.Image, width: int, height: int) -> np.ndarray:
    # Pillow shrinks its own buffer; turning a 20 MP image into numpy first would cost a 60 MB copy.
    if photo.mode not in ("RGB", "RGBA", "RGBX", "L"):
        photo = photo.convert("RGB")  # palette, CMYK, 16-bit...: resizing those directly is wrong or slow
    if photo.size != (width, height):
        # A JPEG not yet loaded decodes straight at 1/2, 1/4 or 1/8 scale (DCT scaling), never below the
        # output size: a 20 MP photo for a 2048 px overlay is decoded at 2736 x 1824, a quarter of the pixels.
        photo.draft(photo.mode, (width, height))
        photo = photo.resize((width, height), Image.Resampling.BOX)
    return np.array(photo.convert("RGB"))


# --- masks --------------------------------------------------------------------------------------


def _checked_masks(masks: Mapping[str, np.ndarray | PackedMask], side: str, shape: tuple[int, int],
                   ) -> dict[str, np.ndarray | PackedMask]:
    checked = {}
    for label, mask in masks.items():
        if not isinstance(mask, PackedMask):  # read strip by strip below, never unpacked whole
            mask = np.asarray(mask)
        if mask.shape != shape:
            raise ValueError(f"{side} mask {label!r} has shape {mask.shape}, the photo is {shape[1]}x{shape[0]}")
        checked[label] = mask
    return checked


def _rows(mask: np.ndarray | PackedMask | None, y0: int, y1: int) -> np.ndarray | None:
    """Bool rows y0:y1 of a mask (a view when it is a bool array), None when it has no pixel there."""
    if mask is None:
        return None
    if isinstance(mask, PackedMask):
        if not mask.any_rows(y0, y1):
            return None
        part = mask.rows(y0, y1)
        return part if part.any() else None
    part = mask[y0:y1]
    if part.dtype != bool:
        part = part != 0
    return part if part.any() else None


def _cell_edges(full: int, out: int) -> np.ndarray:
    """out + 1 block edges partitioning 0..full into blocks of floor or ceil(full / out) pixels."""
    return np.arange(out + 1, dtype=np.int64) * full // out


def _packing(max_block: int) -> tuple[int, type[np.unsignedinteger]]:
    """(bits per field, dtype) to hold four per-block counts of up to max_block pixels."""
    bits = max_block.bit_length()
    for dtype in (np.uint16, np.uint32, np.uint64):
        if 4 * bits <= 8 * np.dtype(dtype).itemsize:
            return bits, dtype
    raise ValueError(f"downscale too strong: a block of {max_block} px; max_side must be at least 1/255 of the image")


def _classify_strip(pairs: list[tuple[np.ndarray | None, np.ndarray | None]], x0: int, x1: int, bits: int,
                    dtype: type[np.unsignedinteger]) -> np.ndarray:
    """Packed per-pixel indicators (gold, candidate, both, correct) of columns x0:x1 of a strip.

    `pairs` holds (gold rows, candidate rows) per label. The result has one extra zero row and
    column, which block sums use as the target of out-of-block indices.
    """
    n = next(m for pair in pairs for m in pair if m is not None).shape[0]
    w = x1 - x0
    gold_any = np.zeros((n, w), bool)
    cand_any = np.zeros((n, w), bool)
    correct = np.zeros((n, w), bool)
    scratch = np.empty((n, w), bool)
    for gold, cand in pairs:
        if gold is not None:
            gold_any |= gold[:, x0:x1]
        if cand is not None:
            cand_any |= cand[:, x0:x1]
        if gold is not None and cand is not None:
            correct |= np.logical_and(gold[:, x0:x1], cand[:, x0:x1], out=scratch)
    packed = np.zeros((n + 1, w + 1), dtype)
    view = packed[:n, :w]
    view[...] = gold_any
    view <<= bits
    view |= cand_any
    view <<= bits
    view |= np.logical_and(gold_any, cand_any, out=scratch)
    view <<= bits
    view |= correct
    return packed


def _block_sums(packed: np.ndarray, row_starts: np.ndarray, row_sizes: np.ndarray, col_starts: np.ndarray,
                col_sizes: np.ndarray) -> np.ndarray:
    """Sum of `packed` over each block; the last row and column of `packed` are zero padding.

    Blocks are 1..k px high and wide, so a block sum is k gathers of rows then k of columns, each a
    fast contiguous copy, where np.add.reduceat along rows is ~40x slower.
    """
    pad_row, pad_col = packed.shape[0] - 1, packed.shape[1] - 1
    rows = packed[row_starts]
    for j in range(1, int(row_sizes.max())):
        rows += packed[np.where(j < row_sizes, row_starts + j, pad_row)]
    sums = np.take(rows, col_starts, axis=1)
    for j in range(1, int(col_sizes.max())):
        sums += np.take(rows, np.where(j < col_sizes, col_starts + j, pad_col), axis=1)
    return sums


def _categories(gold: dict[str, np.ndarray], candidate: dict[str, np.ndarray], shape: tuple[int, int],
                size: tuple[int, int]) -> np.ndarray:
    """uint8 out_h x out_w image: 0 untouched, else 1 + the category shown for that block."""
    (height, width), (out_w, out_h) = shape, size
    ys, xs = _cell_edges(height, out_h), _cell_edges(width, out_w)
    row_sizes, col_sizes = np.diff(ys), np.diff(xs)
    bits, dtype = _packing(int(row_sizes.max()) * int(col_sizes.max()))
    field = (1 << bits) - 1
    labels = list(dict.fromkeys([*gold, *candidate]))
    result = np.zeros((out_h, out_w), np.uint8)
    step = max(1, _STRIP_ROWS // int(row_sizes.max()))
    for o0 in range(0, out_h, step):
        o1 = min(out_h, o0 + step)
        y0, y1 = int(ys[o0]), int(ys[o1])
        pairs = [(_rows(gold.get(label), y0, y1), _rows(candidate.get(label), y0, y1)) for label in labels]
        pairs = [(g, c) for g, c in pairs if g is not None or c is not None]
        if not pairs:
            continue
        columns = np.logical_or.reduce([m.any(axis=0) for pair in pairs for m in pair if m is not None])
        marked = np.flatnonzero(columns)
        # The blocks holding the first and last marked column: only they need classifying.
        c0 = int(np.searchsorted(xs, marked[0], side="right")) - 1
        c1 = int(np.searchsorted(xs, marked[-1], side="right"))
        x0, x1 = int(xs[c0]), int(xs[c1])
        packed = _classify_strip(pairs, x0, x1, bits, dtype)
        sums = _block_sums(packed, ys[o0:o1] - y0, row_sizes[o0:o1], xs[c0:c1] - x0, col_sizes[c0:c1])
        fields = [(sums >> (bits * k)) & field for k in range(4)]  # correct, both, candidate, gold
        correct, both, cand, gold_n = (f.astype(np.int32) for f in fields)
        counts = np.stack([gold_n - both, cand - both, both - correct, correct])  # in _MISSED.. order
        shown = counts.argmax(axis=0).astype(np.uint8) + 1
        shown[(cand | gold_n) == 0] = 0
        result[o0:o1, c0:c1] = shown
    return result


# --- assembly -----------------------------------------------------------------------------------


def _tint(image: np.ndarray, categories: np.ndarray) -> None:
    """Blend each category's colour into the image in place, at ALPHA, where categories > 0."""
    where = categories > 0
    if not where.any():
        return
    palette = np.array([(0, 0, 0), *_COLOURS], np.uint16)
    alpha = round(ALPHA * 256)
    # 8.8 fixed point on the tinted pixels only: no float copy of the whole image.
    pixels = image[where].astype(np.uint16)
    image[where] = ((pixels * (256 - alpha) + palette[categories[where]] * alpha + 128) >> 8).astype(np.uint8)


def render_overlay(*, photo: Image.Image | np.ndarray, gold: Mapping[str, np.ndarray],
                   candidate: Mapping[str, np.ndarray], max_side: int = 2048, quality: int = 85) -> bytes:
    """JPEG bytes of the photo, longest side <= max_side, tinted by the candidate's agreement with gold.

    `photo` is a PIL image or a uint8 array (H x W grey, H x W x 3 RGB, H x W x 4 RGBA); masks are
    label -> H x W arrays of the photo's size (bool, or nonzero = set) or PackedMasks of that shape, which
    are unpacked a strip of rows at a time; a missing label is empty.
    See the module docstring for the colours (overlay_legend() lists them).
    """
    if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1:
        raise ValueError(f"max_side must be a positive integer, got {max_side!r}")
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 95:
        raise ValueError(f"quality must be an integer in 1..95, got {quality!r}")
    width, height = _photo_size(photo)
    size = output_size(width, height, max_side)
    gold_masks = _checked_masks(gold, "gold", (height, width))
    cand_masks = _checked_masks(candidate, "candidate", (height, width))
    categories = _categories(gold_masks, cand_masks, (height, width), size)
    image = _shrink_image(photo, *size) if isinstance(photo, Image.Image) else _shrink_array(photo, *size)
    _tint(image, categories)
    out = io.BytesIO()
    # 4:4:4: the default 4:2:0 halves the colour resolution, washing out the tint of 1 px lines.
    Image.fromarray(image).save(out, "JPEG", quality=quality, subsampling=0)
    return out.getvalue()
