"""Reads of the work inside a batch: each photo with its holder's current annotation and what reviewers said."""
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch

from annotations.batch_life import HELD_STATES, WITH_REVIEWERS
from annotations.models import Annotation, Batch, BatchKind, BatchTask, Review, ReviewState
from workforce.models import Contractor


@dataclass(frozen=True)
class TaskWork:
    """One photo of a batch: the holder's current annotation (the newest live one) and the latest rework note."""

    batch_task: BatchTask
    annotation: Annotation | None
    rework_comment: str

    @property
    def to_fix(self) -> bool:
        return self.annotation is not None and self.annotation.review_state == ReviewState.REWORK

    @property
    def accepted(self) -> bool:
        return self.annotation is not None and self.annotation.review_state == ReviewState.ACCEPTED


def _current(batch_task: BatchTask, holder_id: int | None) -> Annotation | None:
    mine = [a for a in batch_task.live if a.contractor_id == holder_id]
    return max(mine, key=lambda a: (a.ls_created_at is not None, a.ls_created_at, a.pk)) if mine else None


def batches_work(batches: Iterable[Batch]) -> dict[int, list[TaskWork]]:
    """Per batch id, its photos in order with their current annotation and rework note (three queries)."""
    batches = {b.pk: b for b in batches}
    live = (Annotation.objects.filter(deleted=False, was_cancelled=False)
            .prefetch_related(Prefetch("reviews", queryset=Review.objects.order_by("-created_at", "-id"),
                                       to_attr="newest_first")))
    rows = (BatchTask.objects.filter(batch_id__in=list(batches)).select_related("task")
            .prefetch_related(Prefetch("annotations", queryset=live, to_attr="live")).order_by("batch_id", "id"))
    work: dict[int, list[TaskWork]] = {pk: [] for pk in batches}
    for bt in rows:
        annotation = _current(bt, batches[bt.batch_id].assigned_to_id)
        comment = ""
        if annotation is not None and annotation.review_state == ReviewState.REWORK:
            comment = next((r.comment for r in annotation.newest_first if r.decision == "rework"), "")
        work[bt.batch_id].append(TaskWork(batch_task=bt, annotation=annotation, rework_comment=comment))
    return work


def batch_work(batch: Batch) -> list[TaskWork]:
    return batches_work([batch])[batch.pk]


def unannotated(work: list[TaskWork]) -> list[TaskWork]:
    return [w for w in work if w.annotation is None]


def reviewable_all_accepted(work: list[TaskWork]) -> bool:
    """Every work photo (hidden gold is judged by its score, not by a reviewer) has an accepted annotation."""
    photos = [w for w in work if not w.batch_task.is_gold]
    return bool(photos) and all(w.accepted for w in photos)


def contractor_work_batches(*, contractor: Contractor) -> list[tuple[Batch, list[TaskWork]]]:
    """The contractor's work batches that are theirs to work on or with reviewers, each with its photos."""
    batches = list(Batch.objects.filter(assigned_to=contractor, kind=BatchKind.WORK,
                                        state__in=HELD_STATES + WITH_REVIEWERS)
                   .select_related("job").order_by("deadline_at", "number"))
    work = batches_work(batches)
    return [(b, work[b.pk]) for b in batches]
