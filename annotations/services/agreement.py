"""Agreement between the annotators of one photo, on jobs whose photos go to several of them.

Queued by the sync when a submission on such a photo is new or changed; computed by the scoring workers over each
annotator's latest live submission on the photo (its hidden-gold answers elsewhere are not part of it).
"""
import hashlib
import json

from django.db import transaction
from django.db.models import F

from annotations.models import Annotation, PhotoAgreement, Task
from annotations.quality.agreement import photo_agreement
from annotations.quality.labelstudio_json import ScoringInputError
from annotations.services import dispatch
from annotations.services.gold import masks_of_task


def photo_agreement_enqueue(*, task_id: int) -> None:
    """Queue the agreement of one photo, after commit."""
    dispatch.task_send("score_agreement", task_id)


def _latest_per_annotator(task: Task) -> list[Annotation]:
    latest: dict[int, Annotation] = {}
    for annotation in (Annotation.objects.filter(batch_task__task=task, batch_task__is_gold=False, deleted=False,
                                                 was_cancelled=False, contractor__isnull=False)
                       .order_by(F("ls_created_at").asc(nulls_first=True), "id")):
        latest[annotation.contractor_id] = annotation
    return sorted(latest.values(), key=lambda a: a.pk)


def photo_agreement_record(*, task_id: int) -> PhotoAgreement | None:
    """The photo's agreement, computed once per content of the submissions compared; None (and any earlier
    record removed) while fewer than two annotators have submitted, or when their masks do not decode."""
    task = Task.objects.select_related("job").get(pk=task_id)
    work = _latest_per_annotator(task)
    if len(work) < 2:
        PhotoAgreement.objects.filter(task=task).delete()
        return None
    digest = hashlib.sha256(json.dumps([[a.pk, a.result] for a in work], sort_keys=True).encode()).hexdigest()
    existing = PhotoAgreement.objects.filter(task=task).first()
    if existing is not None and existing.digest == digest:
        return existing
    key_of = {c["label"]: c["key"] for c in task.job.label_classes}
    try:
        masks = [{key_of.get(label, label): m for label, m in masks_of_task(a.result, task).items()} for a in work]
    except ScoringInputError:
        return None
    found = photo_agreement(masks, list(key_of.values()))
    per_class = {key: {"iou": c.iou, "dice": c.dice, "instance_f1": c.instance_f1, "pairs": c.pairs}
                 for key, c in found.classes.items() if c.pairs}
    with transaction.atomic():
        record, _ = PhotoAgreement.objects.update_or_create(task=task, defaults={
            "annotation_ids": [a.pk for a in work], "per_class": per_class, "iou": found.iou, "dice": found.dice,
            "instance_f1": found.instance_f1, "digest": digest})
    return record
