"""Label Studio annotations into LabelCrew: idempotent upserts from webhooks and from the catch-up poll."""
import logging
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotations import batch_life, labelstudio
from annotations.models import Annotation, Batch, BatchState, BatchTask, LabelStudioAccount, ReviewState, SyncState
from annotations.services.agreement import photo_agreement_enqueue
from annotations.services.edit_evidence import annotation_edits_enqueue
from annotations.services.job_progress import job_progress_touch
from annotations.services.quality_rollups import quality_rollups_refresh
from annotations.services.scoring_queue import annotation_score_enqueue
from common.errors import DomainError

logger = logging.getLogger(__name__)

CREATED_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED")
BULK_CREATED_ACTIONS = ("ANNOTATIONS_CREATED",)
# Label Studio 1.23 sends ANNOTATIONS_DELETED (a list); ANNOTATION_DELETED is accepted for older servers.
DELETED_ACTIONS = ("ANNOTATION_DELETED", "ANNOTATIONS_DELETED")


class UnknownInLabelCrew(DomainError):
    # 422, not 404: the endpoint exists and the payload is well-formed, but it names a Label Studio
    # project or task LabelCrew does not know (not ours, or not mapped yet: the poll will catch up).
    status = 422


def _ref_id(value: Any, *, what: str) -> int:
    """An id Label Studio sends either bare or as a nested object with an `id`."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise DomainError(f"The payload has no valid {what} id.", field=what)
    return int(value)


def _aware(value: Any) -> datetime | None:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)  # Label Studio stores UTC; a naive stamp is UTC
    return parsed.astimezone(UTC)


def _label_problems(result: Any, known_labels: set[str]) -> list[dict]:
    if not isinstance(result, list):
        return [{"code": "bad_result", "message": "The result is not a list of regions."}]
    problems = []
    for region in result:
        value = region.get("value") if isinstance(region, dict) else None
        if not isinstance(value, dict):
            problems.append({"code": "bad_result", "message": "A region of the result has no value."})
            continue
        # brushlabels, rectanglelabels, labels...: every *labels list names classes of the job.
        for key, labels in value.items():
            if not key.endswith("labels") or not isinstance(labels, list):
                continue
            for label in labels:
                if label not in known_labels:
                    problems.append({"code": "unknown_label",
                                     "message": f"Label {label!r} is not a class of this job."})
    return problems


def _batch_task_of(ls_task_id: int) -> BatchTask:
    batch_task = (BatchTask.objects.select_related("batch__job", "batch__assigned_to")
                  .filter(ls_task_id=ls_task_id).first())
    if batch_task is None:
        raise UnknownInLabelCrew(f"Label Studio task {ls_task_id} is not a task of any published LabelCrew batch.",
                                 field="task")
    return batch_task


def _locked(ls_annotation_id: int) -> Annotation | None:
    return Annotation.objects.select_for_update().filter(ls_annotation_id=ls_annotation_id).first()


@transaction.atomic
def annotation_upsert(*, payload: dict) -> Annotation | None:
    """Create or update the annotation from Label Studio's JSON; None if it was already deleted here.

    The holder's first live annotation puts an assigned batch in progress."""
    annotation = _upsert(payload)
    # The batch as this upsert read it: only an assigned one can start, so the rest take no lock here.
    if (annotation is not None and not annotation.was_cancelled and not annotation.unassigned_work
            and annotation.batch_task.batch.state == BatchState.ASSIGNED):
        batch_life.started(batch_id=annotation.batch_task.batch_id, contractor_id=annotation.contractor_id)
    return annotation


def _upsert(payload: dict) -> Annotation | None:
    ls_annotation_id = _ref_id(payload.get("id"), what="annotation")
    batch_task = _batch_task_of(_ref_id(payload.get("task"), what="task"))
    batch = batch_task.batch
    completed_by = payload.get("completed_by")
    ls_user_id = _ref_id(completed_by, what="completed_by") if completed_by is not None else None
    account = (LabelStudioAccount.objects.select_related("contractor").filter(ls_user_id=ls_user_id).first()
               if ls_user_id is not None else None)
    contractor = account.contractor if account else None

    result = payload.get("result") or []
    problems = _label_problems(result, set(batch.job.labels))
    if contractor is None:
        problems.append({"code": "unknown_user",
                         "message": f"Label Studio user {ls_user_id} has no LabelCrew contractor account."})
    fields = {
        "batch_task": batch_task,
        "contractor": contractor,
        "ls_user_id": ls_user_id,
        "result": result,
        "lead_time": payload.get("lead_time"),
        "was_cancelled": bool(payload.get("was_cancelled")),
        # Work by anyone but the holder is kept (it may be good) but is not paid or scored as theirs.
        "unassigned_work": contractor is None or contractor.pk != batch.assigned_to_id,
        "problems": problems,
        "ls_created_at": _aware(payload.get("created_at")),
        "ls_updated_at": _aware(payload.get("updated_at")),
    }
    first_state = ReviewState.SCORING if batch_task.is_gold else ReviewState.PENDING

    annotation = _locked(ls_annotation_id)
    if annotation is None:
        try:
            # A webhook and the poll may insert the same annotation at once: the unique id decides.
            with transaction.atomic():
                created = Annotation.objects.create(ls_annotation_id=ls_annotation_id, review_state=first_state,
                                                    **fields)
            return _score_on_commit(created)
        except IntegrityError:
            annotation = _locked(ls_annotation_id)
    if annotation.deleted:
        return None  # a late webhook must not bring back what Label Studio deleted
    if (annotation.ls_updated_at and fields["ls_updated_at"]
            and fields["ls_updated_at"] < annotation.ls_updated_at):
        return annotation  # out of order: we already hold a newer version
    content_changed = (annotation.result != result or annotation.was_cancelled != fields["was_cancelled"])
    if content_changed and annotation.review_state in (ReviewState.ACCEPTED, ReviewState.REWORK):
        annotation.review_state = first_state  # a decision on other content does not carry over
    judged_as = _judged_as(annotation)
    for name, value in fields.items():
        setattr(annotation, name, value)
    annotation.save()
    if _judged_as(annotation) != judged_as and annotation.quality_scores.exists():
        quality_rollups_refresh(contractor_ids=[judged_as[0], annotation.contractor_id])
    return _score_on_commit(annotation) if content_changed else annotation


def _judged_as(annotation: Annotation) -> tuple:
    """What of an annotation its scores count for in the rolling quality (selectors/quality.py's scored_on_gold):
    whose it is, whether it counts, and its place in their history."""
    return (annotation.contractor_id, annotation.was_cancelled, annotation.unassigned_work, annotation.ls_created_at)


def _score_on_commit(annotation: Annotation) -> Annotation:
    """New or changed work is queued for the scoring workers once the sync commits: on a hidden gold task its
    score, on any photo with a pre-annotation what it changed there, on a photo of several annotators their
    agreement. The job's progress counts are recounted too (a cancelled annotation no longer counts)."""
    job_progress_touch(job_ids=[annotation.batch_task.batch.job_id])
    if annotation.was_cancelled:
        return annotation
    if annotation.batch_task.is_gold:
        annotation_score_enqueue(annotation_id=annotation.pk)
    if annotation.batch_task.task.prediction:
        annotation_edits_enqueue(annotation_id=annotation.pk)
    if not annotation.batch_task.is_gold and annotation.batch_task.batch.job.annotators_per_photo > 1:
        photo_agreement_enqueue(task_id=annotation.batch_task.task_id)
    return annotation


@transaction.atomic
def annotation_mark_deleted(*, ls_annotation_id: int) -> bool:
    """Mark the annotation deleted (kept for the audit of pay and quality); False if we never had it."""
    return _mark_deleted(Annotation.objects.filter(ls_annotation_id=ls_annotation_id)) > 0


def _mark_deleted(annotations: QuerySet[Annotation]) -> int:
    """Mark these annotations deleted; the rolling quality of whoever had a score among them no longer counts it."""
    judged = set(annotations.filter(deleted=False, quality_scores__isnull=False)
                 .values_list("contractor_id", flat=True))
    job_progress_touch(job_ids=annotations.values_list("batch_task__batch__job_id", flat=True).distinct())
    marked = annotations.update(deleted=True)
    quality_rollups_refresh(contractor_ids=judged)
    return marked


def webhook_handle(*, action: str, payload: dict) -> int:
    """Apply one Label Studio webhook; returns how many annotations it touched. Other actions are ignored."""
    if action not in CREATED_ACTIONS + BULK_CREATED_ACTIONS + DELETED_ACTIONS:
        return 0
    project = payload.get("project")
    if project is not None:
        project_id = _ref_id(project, what="project")
        if not Batch.objects.filter(ls_project_id=project_id).exists():
            raise UnknownInLabelCrew(f"Label Studio project {project_id} is not a LabelCrew batch.",
                                     field="project")
    many = payload.get("annotations")
    items = many if isinstance(many, list) else [payload.get("annotation")]
    if not all(isinstance(item, dict) for item in items):
        raise DomainError(f"A {action} payload must carry the annotation objects.", field="annotation")
    if action in DELETED_ACTIONS:
        return sum(annotation_mark_deleted(ls_annotation_id=_ref_id(item.get("id"), what="annotation"))
                   for item in items)
    with transaction.atomic():  # a bulk payload is applied whole or not at all
        return sum(annotation_upsert(payload=item) is not None for item in items)


def _sync_state() -> SyncState:
    state = SyncState.objects.order_by("pk").first()
    return state if state is not None else SyncState.objects.create()


def sync_poll(*, batch_ids: list[int] | None = None) -> int:
    """Read every published batch's annotations from Label Studio and upsert them; returns how many were seen.

    Not one transaction: each upsert commits on its own, so a failure half-way keeps what was synced.
    """
    batches = Batch.objects.filter(ls_project_id__isnull=False).order_by("pk")
    if batch_ids is not None:
        batches = batches.filter(pk__in=batch_ids)
    state = _sync_state()
    state.last_attempt_at = timezone.now()
    seen = 0
    try:
        for batch in batches:
            read_at = timezone.now()
            in_studio = labelstudio.annotations_of_project(project_id=batch.ls_project_id)
            for payload in in_studio:
                try:
                    annotation_upsert(payload=payload)
                except UnknownInLabelCrew:
                    # A task imported but not yet mapped (publishing still running): next poll.
                    logger.info("skipping annotation %s of an unmapped task", payload.get("id"))
                    continue
                seen += 1
            # A missed ANNOTATIONS_DELETED: gone from Label Studio. Rows synced after the read
            # (a webhook racing this poll) are not judged by a listing older than they are.
            ids = [payload.get("id") for payload in in_studio]
            with transaction.atomic():
                _mark_deleted(Annotation.objects.filter(batch_task__batch=batch, deleted=False, synced_at__lt=read_at)
                              .exclude(ls_annotation_id__in=ids))
    except labelstudio.LabelStudioUnavailable as exc:
        state.failing, state.error = True, str(exc)[:500]
        state.save()
        raise
    state.failing, state.error, state.last_success_at = False, "", timezone.now()
    state.save()
    return seen
