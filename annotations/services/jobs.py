"""Creating a job (announced by job_created) from a manifest or a folder of photos, and cutting it into batches."""
import hashlib
import json
import math
import random
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.dispatch import Signal
from PIL import Image, UnidentifiedImageError

from annotations.defects import DEFECT_CLASSES, DefectClass, labeling_config
from annotations.models import Batch, BatchTask, Job, Task, guideline_languages_default
from annotations.services.job_progress import job_progress_touch
from annotations.services.listings import guideline_languages_checked
from common.errors import DomainError
from workforce.models import User

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp")
MAX_IMAGE_PIXELS = 60_000_000  # well above 20 MP; refuses decompression bombs

# Sent inside job_create's transaction when a job is made, with job, hourly_rate and weekly_cap_hours (None:
# the configured defaults); payroll, which owns pay terms, writes the job's opening terms from them.
job_created = Signal()


@dataclass(frozen=True)
class ImageSpec:
    key: str
    path: Path
    prediction: dict | None = None
    gold_result: list | None = None
    width: int | None = None  # as the manifest claims; checked against the file
    height: int | None = None


def _var_relative(path: Path) -> str:
    # Label Studio serves local files from VAR_DIR (scripts/labelstudio), so photos must live there.
    try:
        return str(path.resolve().relative_to(settings.VAR_DIR.resolve()))
    except ValueError:
        raise DomainError(f"image_source: {path} is outside {settings.VAR_DIR}; put the photos under var/ "
                          "(for example var/media/<job>/).", field="image_source") from None


def specs_from_manifest(manifest_path: Path) -> list[ImageSpec]:
    """The photos of a sample job (python manage.py make_sample_job) with their predictions and gold."""
    try:
        manifest = json.loads(manifest_path.read_text())
        root = manifest_path.parent
        return [
            ImageSpec(
                key=t["key"], path=root / t["image"], width=t["width"], height=t["height"],
                prediction=json.loads((root / t["prediction"]).read_text()) if t.get("prediction") else None,
                gold_result=json.loads((root / t["gold_result"]).read_text()) if t.get("gold_result") else None,
            )
            for t in manifest["tasks"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DomainError(f"image_source: {manifest_path} is not a readable sample-job manifest ({exc}).",
                          field="image_source") from None


def specs_from_folder(folder: Path) -> list[ImageSpec]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    if not files:
        raise DomainError(f"image_source: {folder} holds no photos ({', '.join(IMAGE_SUFFIXES)}).",
                          field="image_source")
    return [ImageSpec(key=p.stem, path=p) for p in files]


def _inspect(spec: ImageSpec) -> tuple[str, int, int]:
    """sha256 and size of a photo, or a DomainError naming the file and the problem."""
    try:
        digest = hashlib.sha256(spec.path.read_bytes()).hexdigest()
        with Image.open(spec.path) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise DomainError(f"images: {spec.path.name} is {width}x{height}, larger than allowed.",
                                  field="images")
            image.verify()
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        raise DomainError(f"images: {spec.path.name} is not a readable image ({exc.__class__.__name__}).",
                          field="images") from None
    if spec.width is not None and (spec.width, spec.height) != (width, height):
        raise DomainError(f"images: {spec.path.name} is {width}x{height}, the manifest says "
                          f"{spec.width}x{spec.height}.", field="images")
    return digest, width, height


@transaction.atomic
def job_create(
    *, name: str, client: str, instructions: str, specs: list[ImageSpec], image_source: str, actor: User | None,
    batch_size: int = 10, gold_rate: Decimal = Decimal("0.1"), hourly_rate: Decimal | None = None,
    weekly_cap_hours: Decimal | None = None, quality_threshold: Decimal = Decimal("0.5"),
    classes: tuple[DefectClass, ...] = DEFECT_CLASSES, annotators_per_photo: int = 1, listed: bool = False,
    guideline_languages: list[str] | None = None,
) -> tuple[Job, int]:
    """Create the job (or find it by name and client) and add the photos it does not hold yet.

    Returns the job and the number of tasks added: running it again with the same photos adds none.
    hourly_rate and weekly_cap_hours go with job_created to payroll, for a new job only; listed and
    guideline_languages (English unless given) make its public listing.
    Every photo is checked first; one bad photo refuses the lot and nothing is written.
    """
    if not 1 <= batch_size <= 500:
        raise DomainError("batch_size: between 1 and 500.", field="batch_size")
    if not Decimal(0) <= gold_rate <= Decimal(1):
        raise DomainError("gold_rate: between 0 and 1.", field="gold_rate")
    if not 1 <= annotators_per_photo <= 5:
        raise DomainError("annotators_per_photo: between 1 and 5.", field="annotators_per_photo")
    languages = guideline_languages_checked(guideline_languages_default() if guideline_languages is None
                                            else guideline_languages)
    seen: dict[str, str] = {}
    checked = []
    for spec in specs:
        digest, width, height = _inspect(spec)
        if digest in seen:
            raise DomainError(f"images: {spec.path.name} is the same photo as {seen[digest]}.", field="images")
        seen[digest] = spec.path.name
        checked.append((spec, digest, width, height))
    job, created = Job.objects.select_for_update().get_or_create(
        name=name, client=client,
        defaults={
            "instructions": instructions, "created_by": actor, "image_source": image_source,
            "label_classes": [{"key": c.key, "label": c.label, "colour": c.colour} for c in classes],
            "labeling_config": labeling_config(classes), "batch_size": batch_size, "gold_rate": gold_rate,
            "quality_threshold": quality_threshold, "annotators_per_photo": annotators_per_photo,
            "listed": listed, "guideline_languages": languages,
        },
    )
    if created:
        job_created.send(sender=Job, job=job, hourly_rate=hourly_rate, weekly_cap_hours=weekly_cap_hours)
    known = set(job.tasks.values_list("image_sha256", flat=True))
    new = [
        Task(job=job, key=spec.key, image_path=_var_relative(spec.path), image_sha256=digest, width=width,
             height=height, prediction=spec.prediction, gold_result=spec.gold_result)
        for spec, digest, width, height in checked if digest not in known
    ]
    clash = set(job.tasks.filter(key__in=[t.key for t in new]).values_list("key", flat=True))
    if clash:
        raise DomainError(f"images: the job already has other photos named {', '.join(sorted(clash))}.",
                          field="images")
    Task.objects.bulk_create(new)
    job_progress_touch(job_ids=[job.pk])
    return job, len(new)


@transaction.atomic
def batches_cut(*, job: Job) -> list[Batch]:
    """Cut the tasks that are in fewer batches than the job's annotators per photo into batches of the job's size,
    each with hidden gold; a photo's copies go to different batches (one pass per copy).

    Gold is drawn at the job's gold rate from tasks with a gold answer, never a task the batch
    already holds; the draw is seeded by the batch, so cutting is repeatable.
    """
    job = Job.objects.select_for_update().get(pk=job.pk)
    copies = Counter(BatchTask.objects.filter(batch__job=job, is_gold=False).values_list("task_id", flat=True))
    tasks = list(job.tasks.order_by("id"))
    # A public example is gold everyone has seen: never hidden in a batch.
    gold_pool = list(job.tasks.filter(gold_result__isnull=False, public_example=False).order_by("id")
                     .values_list("pk", flat=True))
    number = (job.batches.aggregate(n=Max("number"))["n"] or 0) + 1
    made = []
    for copy in range(job.annotators_per_photo):
        pending = [task for task in tasks if copies[task.pk] <= copy]
        for start in range(0, len(pending), job.batch_size):
            chunk = pending[start:start + job.batch_size]
            batch = Batch.objects.create(job=job, number=number)
            rows = [BatchTask(batch=batch, task=task) for task in chunk]
            in_batch = {task.pk for task in chunk}
            candidates = [pk for pk in gold_pool if pk not in in_batch]
            wanted = min(len(candidates), math.ceil(len(chunk) * job.gold_rate))
            rng = random.Random(f"{job.pk}:{number}")  # noqa: S311 - a repeatable draw, not a secret
            rows += [BatchTask(batch=batch, task_id=pk, is_gold=True) for pk in rng.sample(candidates, wanted)]
            BatchTask.objects.bulk_create(rows)
            made.append(batch)
            number += 1
    job_progress_touch(job_ids=[job.pk])
    return made
