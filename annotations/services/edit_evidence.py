"""Edit evidence on every photo: what a submitted annotation changed against the photo's pre-annotation.

Hidden gold scores a contractor on about one photo in ten; an unchanged pre-annotation can be seen on all of them.
Queued by the sync for new or changed work on any photo with a pre-annotation; computed by the scoring workers.
"""
from django.db import transaction

from annotations.models import Annotation, AnnotationEdits
from annotations.quality.agreement import edit_evidence
from annotations.quality.labelstudio_json import ScoringInputError
from annotations.services import dispatch
from annotations.services.gold import masks_of_task
from annotations.services.scoring import result_digest


def annotation_edits_enqueue(*, annotation_id: int) -> None:
    """Queue the edit evidence of one annotation, after commit."""
    dispatch.task_send("score_edits", annotation_id)


def _digest(annotation: Annotation) -> str:
    return result_digest([annotation.result, annotation.batch_task.task.prediction.get("result", [])])


def annotation_edits_record(*, annotation_id: int) -> AnnotationEdits | None:
    """The annotation's edits against its photo's pre-annotation, computed once per content of both; None when
    there is nothing to compare (no such live annotation, no pre-annotation, or masks that do not decode: the
    gold scoring reports those)."""
    annotation = (Annotation.objects.select_related("batch_task__task__job").filter(pk=annotation_id).first())
    if annotation is None or annotation.deleted or annotation.was_cancelled:
        return None
    task = annotation.batch_task.task
    if not (task.prediction or {}).get("result"):
        return None
    digest = _digest(annotation)
    existing = AnnotationEdits.objects.filter(annotation=annotation).first()
    if existing is not None and existing.digest == digest:
        return existing
    key_of = {c["label"]: c["key"] for c in task.job.label_classes}
    try:
        made, predicted = (masks_of_task(r, task) for r in (annotation.result, task.prediction["result"]))
    except ScoringInputError:
        return None
    edits = edit_evidence({key_of.get(k, k): m for k, m in made.items()},
                          {key_of.get(k, k): m for k, m in predicted.items()}, list(key_of.values()))
    per_class = {key: {"pixels_added": e.pixels_added, "pixels_removed": e.pixels_removed,
                       "defects_added": e.defects_added, "defects_deleted": e.defects_deleted}
                 for key, e in edits.classes.items() if e.pixels_added or e.pixels_removed}
    with transaction.atomic():
        found, _ = AnnotationEdits.objects.update_or_create(annotation=annotation, defaults={
            "unchanged": edits.unchanged, "per_class": per_class, "digest": digest,
            "pixels_added": sum(e.pixels_added for e in edits.classes.values()),
            "pixels_removed": sum(e.pixels_removed for e in edits.classes.values())})
    return found
