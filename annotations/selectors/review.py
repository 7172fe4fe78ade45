"""Reads of the review queue: annotations waiting for a reviewer, and what the review page shows of one."""
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from annotations.batch_life import RECLAIMABLE_STATES
from annotations.models import (
    Annotation,
    AnnotationEdits,
    Batch,
    QualityScore,
    Review,
    ReviewState,
    ScoreState,
    Task,
)
from workforce.models import Contractor

# How the review queue may be ordered: the form's choice -> ORDER BY.
QUEUE_ORDERS = {"oldest": ("ls_created_at", "id"), "newest": ("-ls_created_at", "-id"),
                "batch": ("batch_task__batch__job_id", "batch_task__batch__number", "id")}
# The queue's flags a reviewer can ask for alone.
QUEUE_FLAGS = ("unchanged", "not-holder")


def review_queue(*, job_id: int | None = None, search: str = "", flag: str = "",
                 order: str = "oldest") -> QuerySet[Annotation]:
    """Live annotations waiting for a reviewer's decision, oldest first (of one job when given). A holder's work
    waits until they hand the batch in; work by anyone else (unassigned work) can be reviewed at once.
    `search` matches the contractor's email or name or the photo's key; `flag` keeps only the pre-annotations
    submitted unchanged ("unchanged") or work by someone other than the batch's holder ("not-holder").

    Each annotation of a hidden gold photo carries its scores against gold, newest first, in `gold_scores`; the
    job, photo and edits come the same way (one prefetch query each for the whole page, however many rows it
    shows)."""
    # The holder's own work in a batch they still hold, as an anti-join against those few batches: excluding it
    # through a join of every pending annotation to its batch made each count scan every batch task.
    held_by_author = Batch.objects.filter(batch_tasks=OuterRef("batch_task"), assigned_to=OuterRef("contractor"),
                                          state__in=RECLAIMABLE_STATES)
    qs = (Annotation.objects.filter(review_state=ReviewState.PENDING, deleted=False, was_cancelled=False)
          .filter(~Exists(held_by_author))
          # Four joins, the rest fetched for the page's rows: joining all eight tables made PostgreSQL spend longer
          # planning the page (18 ms at 30,000 annotations) than reading it.
          .select_related("batch_task__batch", "contractor__user")
          # The queue shows no mask: its JSON (the largest column, tens of kB a photo) stays in the database.
          .defer("result")
          .prefetch_related("batch_task__batch__job", "edits",
                            Prefetch("batch_task__task", queryset=Task.objects.defer("prediction", "gold_result")),
                            Prefetch("quality_scores", to_attr="gold_scores",
                                     queryset=QualityScore.objects.filter(state=ScoreState.SCORED)
                                     .select_related("gold").defer("per_class", "gold__result")
                                     .order_by("-scored_at", "-id"))))
    if job_id:
        qs = qs.filter(batch_task__batch__job_id=job_id)
    if search:
        # The contractors and photos that match are found first (each table scanned once), then the queue keeps
        # their rows: an OR of four ILIKEs across joins was otherwise tested on every pending annotation.
        contractors = Contractor.objects.filter(Q(user__email__icontains=search) | Q(display_name__icontains=search)
                                                | Q(legal_name__icontains=search))
        photos = Task.objects.filter(key__icontains=search)
        qs = qs.filter(Q(contractor__in=contractors.values("pk")) | Q(batch_task__task__in=photos.values("pk")))
    if flag == "unchanged":
        # The few annotations flagged, each set read once (edits_unchanged and the scores' rubber stamps), rather
        # than a join and a subquery tried on every pending annotation.
        unchanged = AnnotationEdits.objects.filter(unchanged=True).values("annotation_id")
        stamped = QualityScore.objects.filter(rubber_stamp=True).values("annotation_id")
        qs = qs.filter(Q(pk__in=unchanged) | Q(pk__in=stamped))
    elif flag == "not-holder":
        qs = qs.filter(unassigned_work=True)
    return qs.order_by(*QUEUE_ORDERS.get(order, QUEUE_ORDERS["oldest"]))


def annotations_for_review() -> QuerySet[Annotation]:
    """Annotations with what the review page shows of them (job, photo, contractor) joined in."""
    return Annotation.objects.select_related("batch_task__batch__job", "batch_task__task", "contractor__user", "edits")


def annotation_reviews(*, annotation: Annotation) -> QuerySet[Review]:
    """The decisions taken on the annotation, with their reviewers."""
    return annotation.reviews.select_related("reviewer")


def result_labels(results: list[dict]) -> list[str]:
    """The brush labels used in a Label Studio result list, sorted."""
    return sorted({label for r in results for label in r.get("value", {}).get("brushlabels", [])})
