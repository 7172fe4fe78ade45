"""Agreement between the annotators of one photo, on jobs whose photos go to several of them, and their merged mask.

Queued by the sync when a submission on such a photo is new or changed; computed by the scoring workers over each
annotator's latest live submission on the photo (its hidden-gold answers elsewhere are not part of it). The merged
mask is the per-pixel majority; a tie (an even number of annotators) goes to the one with the best rolling quality
score on gold (no score yet counts as the lowest; then the earliest submission). A reviewer may accept it for the
photo: every annotator's submission is accepted and the delivery carries the merged mask.
"""
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations.models import Annotation, PhotoAgreement, ReviewState, Task
from annotations.quality.agreement import merge_masks, photo_agreement
from annotations.quality.labelstudio_json import ScoringInputError, brush_result
from annotations.selectors.quality import quality_rollups
from annotations.services import dispatch
from annotations.services.gold import masks_of_task
from annotations.services.review import annotation_accept
from annotations.services.scoring import result_digest
from common.errors import Conflict
from workforce.models import User


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
    digest = result_digest([[a.pk, a.result] for a in work])
    existing = PhotoAgreement.objects.filter(task=task).first()
    if existing is not None and existing.digest == digest:
        return existing
    key_of = {c["label"]: c["key"] for c in task.job.label_classes}
    try:
        masks = [{key_of.get(label, label): m for label, m in masks_of_task(a.result, task).items()} for a in work]
    except ScoringInputError:
        return None
    keys = list(key_of.values())
    found = photo_agreement(masks, keys)
    per_class = {key: {"iou": c.iou, "dice": c.dice, "instance_f1": c.instance_f1, "pairs": c.pairs}
                 for key, c in found.classes.items() if c.pairs}
    scores = quality_rollups(a.contractor_id for a in work)
    ranking = sorted(range(len(work)), key=lambda i: (scores[work[i].contractor_id].score is None,
                                                      -(scores[work[i].contractor_id].score or 0), i))
    merged = merge_masks(masks, keys, ranking=ranking, shape=(task.height, task.width))
    label_of = {key: label for label, key in key_of.items()}
    merged_result = [brush_result(mask, label=label_of[key], rid=f"merged-{key}")
                     for key, mask in merged.items() if mask.any()]
    with transaction.atomic():
        record, _ = PhotoAgreement.objects.update_or_create(task=task, defaults={
            "annotation_ids": [a.pk for a in work], "per_class": per_class, "iou": found.iou, "dice": found.dice,
            "instance_f1": found.instance_f1, "digest": digest, "merged_result": merged_result,
            "merged_ranking": [work[i].contractor_id for i in ranking],
            # A merged mask accepted before the submissions changed is not the one computed now.
            "merged_accepted_at": None, "merged_accepted_by": None})
    return record


@transaction.atomic
def photo_merged_accept(*, task: Task, reviewer: User) -> PhotoAgreement:
    """Accept the photo's merged mask: every annotator's compared submission is accepted (each batch follows as on
    any accept) and the delivery carries the merged mask. Refused, changing nothing, when the photo has no merged
    mask or a submission cannot be accepted yet (its batch not handed in)."""
    record = PhotoAgreement.objects.select_for_update().filter(task=task).first()
    if record is None:
        raise Conflict(f"Photo {task.key} has no merged mask: fewer than two annotators have submitted it.",
                       field="decision")
    for annotation in Annotation.objects.filter(pk__in=record.annotation_ids).order_by("pk"):
        if annotation.review_state != ReviewState.ACCEPTED:
            annotation_accept(annotation=annotation, reviewer=reviewer, comment="merged mask accepted")
    record.merged_accepted_at, record.merged_accepted_by = timezone.now(), reviewer
    record.save(update_fields=["merged_accepted_at", "merged_accepted_by"])
    return record
