"""The gold store: versioned gold answers per task, from the sample job, a reviewer's promotion or an import
(a Label Studio JSON export here, PNG masks in gold_masks)."""
import logging
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Max

from annotations.models import Annotation, GoldSource, GoldVersion, Job, QualityScore, Task
from annotations.quality.labelstudio_json import ScoringInputError, masks_from_results, packed_masks_from_results
from annotations.quality.packed import PackedMask
from annotations.services.job_progress import job_progress_touch
from annotations.services.publishing import REF_FIELD
from annotations.services.scoring_queue import scoring_enqueue
from common.errors import DomainError
from common.json_input import json_loads_bounded
from workforce.models import User

logger = logging.getLogger(__name__)


def masks_of_task(result: Any, task: Task) -> dict[str, np.ndarray]:
    """The brush masks of a result list, checked against the task's photo size.

    A list without any brush result is a photo with no defect (empty masks); anything that does
    not decode raises ScoringInputError saying what and where.
    """
    return _masks_of_task(result, task, masks_from_results)


def packed_masks_of_task(result: Any, task: Task) -> dict[str, PackedMask]:
    """masks_of_task, each mask bit-packed as soon as it is decoded (what a scoring worker holds)."""
    return _masks_of_task(result, task, packed_masks_from_results)


def _masks_of_task(result: Any, task: Task, decode: Callable[[list], tuple[dict, int, int]]) -> dict:
    if isinstance(result, list) and not any(isinstance(r, dict) and r.get("type") == "brushlabels"
                                            for r in result):
        return {}
    masks, height, width = decode(result)
    if (height, width) != (task.height, task.width):
        raise ScoringInputError(f"the masks are {width}x{height} but the photo is {task.width}x{task.height}")
    return masks


def gold_current(task: Task) -> GoldVersion | None:
    """The task's current gold (its highest version), or None when it has none.

    Tasks made before the gold store (or by job_create, which writes Task.gold_result) get their
    gold_result recorded as version 1 from the sample job, the first time anyone asks.
    """
    current = GoldVersion.objects.filter(task=task).order_by("-version").first()
    if current is not None or task.gold_result is None:
        return current
    try:
        with transaction.atomic():
            return GoldVersion.objects.create(task=task, version=1, result=task.gold_result, source=GoldSource.SAMPLE)
    except IntegrityError:  # another process recorded it first
        return GoldVersion.objects.filter(task=task).order_by("-version").first()


def _same_masks(current: Any, masks: dict[str, np.ndarray], task: Task) -> bool:
    """Whether the current gold paints exactly these masks, however its JSON differs (result ids, RLE
    of another encoder, an empty class written out or left out)."""
    try:
        painted = {label: m for label, m in masks_of_task(current, task).items() if m.any()}
    except ScoringInputError:
        return False
    masks = {label: m for label, m in masks.items() if m.any()}
    return painted.keys() == masks.keys() and all(np.array_equal(painted[k], masks[k]) for k in masks)


def gold_set(*, task: Task, result: Any, source: str, actor: User | None = None,
             annotation: Annotation | None = None) -> GoldVersion:
    """Make `result` the task's gold as its next version; a result painting the same masks as the current
    gold is not a new one.

    Once committed, every annotation scored against an older version of this task's gold is scored again.
    """
    return _gold_set(task=task, result=result, source=source, actor=actor, annotation=annotation)[0]


@transaction.atomic
def _gold_set(*, task: Task, result: Any, source: str, actor: User | None,
              annotation: Annotation | None) -> tuple[GoldVersion, bool]:
    """(the current gold, whether it is a new version)."""
    if source not in GoldSource.values:
        raise DomainError(f"source: one of {', '.join(GoldSource.values)}.", field="source")
    try:
        masks = masks_of_task(result, task)
    except ScoringInputError as exc:
        raise DomainError(f"result: the gold masks cannot be read: {exc}", field="result") from None
    # The task row lock orders versions and keeps a scorer from writing against a gold being replaced.
    task = Task.objects.select_for_update().get(pk=task.pk)
    current = gold_current(task)
    if current is not None and (current.result == result or _same_masks(current.result, masks, task)):
        return current, False
    version = (GoldVersion.objects.filter(task=task).aggregate(v=Max("version"))["v"] or 0) + 1
    gold = GoldVersion.objects.create(task=task, version=version, result=result, source=source,
                                      source_annotation=annotation, created_by=actor)
    task.gold_result = result
    task.save(update_fields=["gold_result"])
    job_progress_touch(job_ids=[task.job_id])  # its gold count, and the scores to write again
    stale = list(QualityScore.objects.filter(gold__task=task, gold__version__lt=version)
                 .order_by("annotation_id").values_list("annotation_id", flat=True).distinct())
    scoring_enqueue(annotation_ids=stale)  # after commit
    logger.info("task %s: gold v%s (%s), %s annotations to score again", task.pk, version, source, len(stale))
    return gold, True


# --- import of a Label Studio JSON export ------------------------------------------------------

def _image_path(data: dict) -> str | None:
    """The VAR_DIR-relative path a task's image URL points at (LabelCrew publishes /data/local-files/?d=...)."""
    url = data.get("image")
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    local = parse_qs(parts.query).get("d")
    return local[0] if local else unquote(parts.path)


def _gold_answer(item: dict, where: str) -> list | None:
    """The result to import from a task of the export: its ground-truth annotation, else its first
    non-cancelled one; None when it has no answer (predictions are the model's, never gold)."""
    annotations = item.get("annotations") or []
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise DomainError(f"document: {where}: 'annotations' must be a list of objects.", field="document")
    answers = [a for a in annotations if not a.get("was_cancelled")]
    answers.sort(key=lambda a: not a.get("ground_truth"))  # stable: ground truth first, else export order
    if not answers:
        return None
    result = answers[0].get("result")
    if not isinstance(result, list):
        raise DomainError(f"document: {where}: the annotation's 'result' must be a list.", field="document")
    return result


class TaskFinder:
    """Tasks of one job by the LabelCrew reference LabelCrew put in Label Studio, by image path or file name,
    or by task key."""

    def __init__(self, job: Job) -> None:
        self.job = job
        # Not the masks: a 20 MP job's predictions and gold weigh hundreds of MB.
        self.tasks = {t.pk: t for t in job.tasks.defer("prediction", "gold_result")}
        self.by_path = {t.image_path: t for t in self.tasks.values()}
        self.by_key = {t.key: t for t in self.tasks.values()}
        self.by_name: dict[str, list[Task]] = {}
        for task in self.tasks.values():
            self.by_name.setdefault(PurePosixPath(task.image_path).name, []).append(task)
        self.by_ref = dict(job.tasks.filter(batch_tasks__isnull=False).values_list("batch_tasks__pk", "pk"))

    def find(self, data: dict, where: str) -> Task:
        ref = data.get(REF_FIELD)
        if ref is not None:
            if str(ref).isdigit() and int(ref) in self.by_ref:
                return self.tasks[self.by_ref[int(ref)]]
            raise DomainError(f"document: {where}: {REF_FIELD} {ref!r} is not a task of the job {self.job}.",
                              field="document")
        path = _image_path(data)
        if path is None:
            raise DomainError(f"document: {where}: its data has neither {REF_FIELD} nor an image.", field="document")
        if path in self.by_path:
            return self.by_path[path]
        named = self.by_name.get(PurePosixPath(path).name, [])
        if len(named) == 1:
            return named[0]
        problem = "several photos of the job are" if named else "no photo of the job is"
        raise DomainError(f"document: {where}: {problem} named {PurePosixPath(path).name!r}.", field="document")


@transaction.atomic
def gold_import(*, job: Job, document: str | bytes | list, actor: User | None = None) -> int:
    """Gold from a Label Studio JSON export (a list of tasks); returns how many tasks got a new gold version.

    All or nothing: a task that matches no photo of the job, or whose answer does not decode,
    refuses the document. Tasks without a (non-skipped) annotation are passed over.
    """
    if isinstance(document, str | bytes):
        # Bounded nesting: a deep document is a 400 naming it, not a RecursionError (the size is the caller's).
        document = json_loads_bounded(document, max_bytes=len(document), field="document")
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise DomainError("document: a Label Studio JSON export is a list of tasks.", field="document")
    finder = TaskFinder(job)
    answers: dict[int, tuple[Task, list, str]] = {}
    for index, item in enumerate(document):
        where = f"task #{index}" + (f" (id {item['id']})" if "id" in item else "")
        data = item.get("data")
        if not isinstance(data, dict):
            raise DomainError(f"document: {where} has no 'data' object.", field="document")
        task = finder.find(data, where)
        result = _gold_answer(item, where)
        if result is None:
            continue
        if task.pk in answers:
            raise DomainError(f"document: {where} is the photo {task.key} again.", field="document")
        answers[task.pk] = (task, result, where)
    return gold_set_many(answers=list(answers.values()), source=GoldSource.IMPORT, actor=actor, field="document")


@transaction.atomic
def gold_set_many(*, answers: Sequence[tuple[Task, Any, str]], source: str, actor: User | None,
                  field: str) -> int:
    """Each (task, result, where the result came from) as the task's next gold, all or nothing; returns how
    many tasks got a new version. A result that does not decode refuses them all, naming where it was."""
    updated = 0
    for task, result, where in answers:
        try:
            _, new = _gold_set(task=task, result=result, source=source, actor=actor, annotation=None)
        except DomainError as exc:  # rolls back the tasks already imported: all or nothing
            raise DomainError(f"{field}: {where} ({task.key}): {exc.message}", field=field) from None
        updated += new
    return updated
