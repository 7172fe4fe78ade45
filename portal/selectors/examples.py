"""A listed job's defect close-ups: cut from its public example photos' gold, kept on disk under MEDIA_ROOT.

Only photos staff made public examples are cut (annotations.services.listings): they are never hidden gold, so a
close-up cannot tell a contractor which photo of a batch is the gold one. The URL names the job and the class only,
and the JPEG carries no metadata."""
import uuid
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Max

from annotations.models import Job
from annotations.quality.close_up import close_up_jpeg
from annotations.selectors.gold_examples import gold_example

SIZE = 320  # px, the longer side of a close-up
JPEG_QUALITY = 85
NONE = b""  # a kept empty file: the class has no close-up at this stamp


def _stamp(job: Job) -> str:
    """Changes whenever the job's public examples or their gold do: names the kept files, so none is stale."""
    found = job.tasks.filter(public_example=True).aggregate(
        n=Count("id", distinct=True), last=Max("id"), gold=Max("gold_versions__id"))
    return f"{found['n']}-{found['last'] or 0}-{found['gold'] or 0}"


def _kept(job: Job, class_key: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "listing-examples" / f"job-{job.pk}" / class_key / f"{_stamp(job)}.jpg"


def job_close_up(*, job: Job, class_key: str) -> bytes | None:
    """A JPEG close-up of one of the job's classes from its public examples, None when none paints it."""
    path = _kept(job, class_key)
    if path.is_file():
        return path.read_bytes() or None
    example = gold_example(job=job, class_key=class_key)
    jpeg = NONE
    if example is not None:
        top, left, bottom, right = example.box
        jpeg = close_up_jpeg(example.photo, box=(left, top, right, bottom), size=SIZE, quality=JPEG_QUALITY)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob("*.jpg"):  # an older stamp's
        old.unlink(missing_ok=True)
    partial = path.with_suffix(f".{uuid.uuid4().hex}.part")  # each writer its own
    partial.write_bytes(jpeg)
    partial.replace(path)  # whole or not at all, for a reader at the same moment
    return jpeg or None
