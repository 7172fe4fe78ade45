"""The public job page's defect close-ups: cut from a job's gold, with the demo's sample job as the fallback."""
import io

from django.conf import settings
from PIL import Image, ImageOps

from annotations.defects import DEFECT_BY_KEY
from annotations.selectors.gold_examples import GoldExample, gold_example, gold_exists
from demo.sample_job import example_crop

SIZE = 320  # px, the longer side of a close-up
JPEG_QUALITY = 85


def _close_up(example: GoldExample) -> bytes:
    """A JPEG square around the gold mask's box, with some clean glass around it for context."""
    top, left, bottom, right = example.box
    with Image.open(example.photo) as photo:
        side = max(right - left, bottom - top, 64) * 1.6
        cx, cy = (left + right) / 2, (top + bottom) / 2
        box = (max(0, round(cx - side / 2)), max(0, round(cy - side / 2)),
               min(photo.width, round(cx + side / 2)), min(photo.height, round(cy + side / 2)))
        crop = photo.crop(box).convert("RGB")
    # Small defects are enlarged too: a 15 px pit is shown at the same size as a long crack.
    crop = ImageOps.contain(crop, (SIZE, SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def defect_close_up(class_key: str) -> bytes | None:
    """A JPEG close-up of one of the page's classes from a job's gold, else from the sample job; None when neither
    has one (or the class is not one the page lists)."""
    if class_key not in DEFECT_BY_KEY:
        return None
    example = gold_example(class_key=class_key)
    if example is not None:
        return _close_up(example)
    return example_crop(sample_dir=settings.SAMPLE_JOB_DIR, class_key=class_key, size=SIZE, quality=JPEG_QUALITY)


def has_examples() -> bool:
    """Whether the job page can show close-ups: a job has gold, or the sample job is there."""
    return (settings.SAMPLE_JOB_DIR / "manifest.json").is_file() or gold_exists()
