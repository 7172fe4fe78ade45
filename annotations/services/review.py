"""Reviewing a handed-in batch photo by photo: accept, send back for rework with a comment (the holder is emailed
it), promote an accepted annotation to gold. The batch follows: in review at the first decision, rework when a
photo is sent back, done when every photo is accepted."""
from django.db import transaction

from annotations import batch_life
from annotations.models import Annotation, Batch, BatchKind, BatchState, GoldSource, Review, ReviewState
from annotations.selectors.batch_work import batch_work, reviewable_all_accepted
from annotations.services.gold import gold_set
from annotations.services.job_progress import job_progress_touch
from common.errors import Conflict, DomainError, NotAllowed
from common.roles import REVIEW_WORK, staff_role_allows
from workforce.models import NotificationKind, User
from workforce.services.notifications import notify

COMMENT_MAX_LENGTH = 2000


def _locked(annotation: Annotation, reviewer: User) -> Annotation:
    if not staff_role_allows(reviewer, REVIEW_WORK):
        raise NotAllowed("Only reviewing staff review annotations.")
    locked = Annotation.objects.select_for_update().select_related("batch_task__batch", "batch_task__task").get(
        pk=annotation.pk)
    if locked.deleted or locked.was_cancelled:
        raise Conflict("This annotation was deleted or skipped in Label Studio; there is nothing to review.")
    batch = locked.batch_task.batch
    holders_work = locked.contractor_id is not None and locked.contractor_id == batch.assigned_to_id
    if batch.kind == BatchKind.WORK and holders_work and batch.state in batch_life.RECLAIMABLE_STATES:
        raise Conflict(f"Batch #{batch.number} is {batch.get_state_display().lower()}, not handed in yet: it is "
                       "reviewed once its holder hands it in.", field="batch")
    job_progress_touch(job_ids=[batch.job_id])  # reviewed, accepted: recounted once the decision commits
    return locked


def _batch_follows(annotation: Annotation, reviewer: User, decision: str) -> None:
    """Move the holder's batch along after a decision on their work (others' work leaves the batch as it is)."""
    batch = Batch.objects.select_for_update(of=("self",)).get(pk=annotation.batch_task.batch_id)
    if batch.kind != BatchKind.WORK or annotation.contractor_id != batch.assigned_to_id:
        return
    if batch.state == BatchState.HANDED_IN:
        batch_life.transition(batch=batch, to_state=BatchState.IN_REVIEW, actor=reviewer, reason="review started")
    if decision == "rework" and batch.state in (BatchState.IN_REVIEW, BatchState.DONE):
        batch_life.transition(batch=batch, to_state=BatchState.REWORK, actor=reviewer,
                              reason=f"photo {annotation.batch_task.task.key} sent back")
    elif (decision == "accept" and batch.state in (BatchState.IN_REVIEW, BatchState.REWORK)
          and reviewable_all_accepted(batch_work(batch))):
        batch_life.transition(batch=batch, to_state=BatchState.DONE, actor=reviewer, reason="every photo accepted")


@transaction.atomic
def annotation_accept(*, annotation: Annotation, reviewer: User, comment: str = "") -> Annotation:
    locked = _locked(annotation, reviewer)
    if locked.review_state == ReviewState.ACCEPTED:
        return locked
    locked.review_state = ReviewState.ACCEPTED
    locked.save(update_fields=["review_state"])
    Review.objects.create(annotation=locked, reviewer=reviewer, decision="accept", comment=comment.strip())
    _batch_follows(locked, reviewer, "accept")
    return locked


@transaction.atomic
def annotation_rework(*, annotation: Annotation, reviewer: User, comment: str) -> Annotation:
    """Send the task back to the contractor who holds its batch, with what to fix."""
    comment = comment.strip()
    if not comment:
        raise DomainError("comment: say what to fix; the contractor reads it.", field="comment")
    if len(comment) > COMMENT_MAX_LENGTH:
        raise DomainError(f"comment: at most {COMMENT_MAX_LENGTH} characters.", field="comment")
    locked = _locked(annotation, reviewer)
    locked.review_state = ReviewState.REWORK
    locked.save(update_fields=["review_state"])
    made = Review.objects.create(annotation=locked, reviewer=reviewer, decision="rework", comment=comment)
    _batch_follows(locked, reviewer, "rework")
    batch_task = locked.batch_task
    if locked.contractor is not None:
        notify(contractor=locked.contractor, kind=NotificationKind.REWORK, photo=batch_task.task.key,
               job=batch_task.batch.job.name, number=batch_task.batch.number, comment=made.comment)
    return locked


@transaction.atomic
def annotation_promote_to_gold(*, annotation: Annotation, reviewer: User) -> Annotation:
    """Make an accepted annotation the task's gold answer, used to score later work on it."""
    locked = _locked(annotation, reviewer)
    if locked.review_state != ReviewState.ACCEPTED:
        raise Conflict("Accept the annotation before promoting it to gold.")
    if locked.problems:
        raise Conflict("This annotation has problems (for example an unknown label); it cannot become gold.")
    # A new gold version: annotations scored against the old gold are scored again once this commits.
    gold_set(task=locked.batch_task.task, result=locked.result, source=GoldSource.PROMOTED, actor=reviewer,
             annotation=locked)
    Review.objects.create(annotation=locked, reviewer=reviewer, decision="promote")
    return locked
