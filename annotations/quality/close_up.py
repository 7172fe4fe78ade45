"""A close-up of one defect on its photo, as a JPEG: the job page shows one per class (no Django)."""
import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps


def close_up_jpeg(photo_path: Path | str, *, box: tuple[int, int, int, int], size: int = 320,
                  quality: int = 85) -> bytes:
    """A square around `box` (left, top, right, bottom in photo pixels) with some clean glass around it for
    context, fitted into `size` x `size`."""
    left, top, right, bottom = box
    with Image.open(photo_path) as photo:
        side = max(right - left, bottom - top, 64) * 1.6
        cx, cy = (left + right) / 2, (top + bottom) / 2
        square = (max(0, round(cx - side / 2)), max(0, round(cy - side / 2)),
                  min(photo.width, round(cx + side / 2)), min(photo.height, round(cy + side / 2)))
        crop = photo.crop(square).convert("RGB")
    # Small defects are enlarged too: a 15 px pit is shown at the same size as a long crack.
    crop = ImageOps.contain(crop, (size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=quality)
    return out.getvalue()


def largest_defect(mask: np.ndarray) -> tuple[int, tuple[int, int, int, int]] | None:
    """(area, (top, left, bottom, right)) of the largest 8-connected region of a boolean mask, None when empty.

    A class's mask paints every defect of the class on the photo; a close-up shows one of them."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return None
    x, y, w, h, area = (int(v) for v in stats[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))])
    return area, (y, x, y + h, x + w)
