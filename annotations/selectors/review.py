"""Reads of the review queue: annotations waiting for a reviewer, and what the review page shows of one."""
from django.db.models import F, Prefetch, QuerySet

from annotations.batch_life import RECLAIMABLE_STATES
from annotations.models import Annotation, QualityScore, Review, ReviewState, ScoreState


def review_queue(*, job_id: int | None = None) -> QuerySet[Annotation]:
    """Live annotations waiting for a reviewer's decision, oldest first (of one job when given). A holder's work
    waits until they hand the batch in; work by anyone else (unassigned work) can be reviewed at once.

    Each annotation of a hidden gold photo carries its scores against gold, newest first, in `gold_scores`
    (one prefetch query for the whole page, however many rows it shows)."""
    qs = (Annotation.objects.filter(review_state=ReviewState.PENDING, deleted=False, was_cancelled=False)
          .exclude(contractor_id=F("batch_task__batch__assigned_to_id"),
                   batch_task__batch__state__in=RECLAIMABLE_STATES)
          .select_related("batch_task__batch__job", "batch_task__task", "contractor__user", "edits")
          .prefetch_related(Prefetch("quality_scores", to_attr="gold_scores",
                                     queryset=QualityScore.objects.filter(state=ScoreState.SCORED)
                                     .order_by("-scored_at", "-id"))))
    if job_id:
        qs = qs.filter(batch_task__batch__job_id=job_id)
    return qs.order_by("ls_created_at", "id")


def annotations_for_review() -> QuerySet[Annotation]:
    """Annotations with what the review page shows of them (job, photo, contractor) joined in."""
    return Annotation.objects.select_related("batch_task__batch__job", "batch_task__task", "contractor__user", "edits")


def annotation_reviews(*, annotation: Annotation) -> QuerySet[Review]:
    """The decisions taken on the annotation, with their reviewers."""
    return annotation.reviews.select_related("reviewer")


def result_labels(results: list[dict]) -> list[str]:
    """The brush labels used in a Label Studio result list, sorted."""
    return sorted({label for r in results for label in r.get("value", {}).get("brushlabels", [])})
