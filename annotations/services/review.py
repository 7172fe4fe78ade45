"""Reviewing synced annotations: accept, send back for rework, promote an accepted one to gold."""
from django.db import transaction

from annotations.models import Annotation, BatchState, GoldSource, Review, ReviewState
from annotations.services.gold import gold_set
from common.errors import Conflict, DomainError, NotAllowed
from workforce.models import User

COMMENT_MAX_LENGTH = 2000


def _locked(annotation: Annotation, reviewer: User) -> Annotation:
    if not reviewer.is_staff:
        raise NotAllowed("Only staff review annotations.")
    locked = Annotation.objects.select_for_update().select_related("batch_task__batch", "batch_task__task").get(
        pk=annotation.pk)
    if locked.deleted or locked.was_cancelled:
        raise Conflict("This annotation was deleted or skipped in Label Studio; there is nothing to review.")
    return locked


@transaction.atomic
def annotation_accept(*, annotation: Annotation, reviewer: User, comment: str = "") -> Annotation:
    locked = _locked(annotation, reviewer)
    if locked.review_state == ReviewState.ACCEPTED:
        return locked
    locked.review_state = ReviewState.ACCEPTED
    locked.save(update_fields=["review_state"])
    Review.objects.create(annotation=locked, reviewer=reviewer, decision="accept", comment=comment.strip())
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
    batch = locked.batch_task.batch
    if batch.state in (BatchState.HANDED_IN, BatchState.DONE):
        batch.state = BatchState.IN_PROGRESS
        batch.save(update_fields=["state"])
    Review.objects.create(annotation=locked, reviewer=reviewer, decision="rework", comment=comment)
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
