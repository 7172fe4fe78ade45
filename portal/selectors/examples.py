"""The public job page's defect close-ups: cut from a job's gold, with the demo's sample job as the fallback."""
from django.conf import settings

from annotations.defects import DEFECT_BY_KEY
from annotations.quality.close_up import close_up_jpeg
from annotations.selectors.gold_examples import gold_example, gold_exists
from demo.sample_job import example_crop

SIZE = 320  # px, the longer side of a close-up
JPEG_QUALITY = 85


def defect_close_up(class_key: str) -> bytes | None:
    """A JPEG close-up of one of the page's classes from a job's gold, else from the sample job; None when neither
    has one (or the class is not one the page lists)."""
    if class_key not in DEFECT_BY_KEY:
        return None
    example = gold_example(class_key=class_key)
    if example is not None:
        top, left, bottom, right = example.box
        return close_up_jpeg(example.photo, box=(left, top, right, bottom), size=SIZE, quality=JPEG_QUALITY)
    return example_crop(sample_dir=settings.SAMPLE_JOB_DIR, class_key=class_key, size=SIZE, quality=JPEG_QUALITY)


def has_examples() -> bool:
    """Whether the job page can show close-ups: a job has gold, or the sample job is there."""
    return (settings.SAMPLE_JOB_DIR / "manifest.json").is_file() or gold_exists()
