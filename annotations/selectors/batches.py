"""Reads of batches: who holds what, which held batches are stale, and task counts."""
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet

from annotations.models import Annotation, Batch, BatchKind, BatchState, BatchTask, Job, ReviewState
from workforce.models import Contractor

# States in which a batch is held by a contractor and still to be worked on.
HELD_STATES = (BatchState.ASSIGNED, BatchState.IN_PROGRESS)


def batch_task_counts(batch_ids: Iterable[int]) -> dict[int, int]:
    """Tasks per batch, hidden gold included, in one query."""
    rows = BatchTask.objects.filter(batch_id__in=list(batch_ids)).values("batch_id").annotate(n=Count("id"))
    return {row["batch_id"]: row["n"] for row in rows}


def held_task_counts(contractor_ids: Iterable[int]) -> dict[int, int]:
    """Tasks in the batches each contractor holds and has not handed in, across all jobs (hours are hours)."""
    rows = (BatchTask.objects.filter(batch__assigned_to_id__in=list(contractor_ids), batch__state__in=HELD_STATES)
            .values("batch__assigned_to_id").annotate(n=Count("id")).values_list("batch__assigned_to_id", "n"))
    return dict(rows)


def batches_started_by_holder(batch_ids: Iterable[int]) -> set[int]:
    """Ids of the batches whose holder synced an annotation in them, whatever the batch state says."""
    return set(Annotation.objects.filter(
        batch_task__batch__in=list(batch_ids), contractor_id=F("batch_task__batch__assigned_to_id"), deleted=False,
    ).values_list("batch_task__batch_id", flat=True).distinct())


def stale_reason(batch: Batch, *, started: bool, now: datetime) -> str | None:
    """The rule a held batch broke (not started, or not finished in time), None while it is in time."""
    job = batch.job
    if (batch.state == BatchState.ASSIGNED and not started and batch.started_at is None
            and batch.assigned_at + timedelta(hours=job.start_within_hours) <= now):
        return f"not started within {job.start_within_hours} h of assignment"
    if batch.deadline_at is not None and batch.deadline_at <= now:
        return f"not finished by the deadline ({job.deadline_hours} h after assignment)"
    return None


def stale_batches(*, now: datetime) -> list[tuple[Batch, str]]:
    """Held batches the periodic reclaim would take back now, with the rule each one broke."""
    held = list(Batch.objects.select_related("job", "assigned_to__user")
                .filter(state__in=HELD_STATES, assigned_to__isnull=False, kind=BatchKind.WORK)
                .order_by("deadline_at", "id"))
    started = batches_started_by_holder([b.pk for b in held])
    return [(b, reason) for b in held if (reason := stale_reason(b, started=b.pk in started, now=now))]


def contractor_batches(*, contractor: Contractor) -> list[Batch]:
    """The batches the contractor holds, each with `n_tasks` and `n_rework` (tasks sent back to fix)."""
    return list(
        Batch.objects.filter(assigned_to=contractor, state__in=HELD_STATES).select_related("job")
        .annotate(n_tasks=Count("batch_tasks", distinct=True),
                  n_rework=Count("batch_tasks__annotations", distinct=True,
                                 filter=Q(batch_tasks__annotations__review_state=ReviewState.REWORK,
                                          batch_tasks__annotations__deleted=False)))
        .order_by("deadline_at", "number")
    )


def open_published_batches(*, job_id: int) -> list[Batch]:
    """The job's published batches nobody holds yet, by number (what can be assigned)."""
    return list(Batch.objects.filter(job_id=job_id, state=BatchState.OPEN, published_at__isnull=False)
                .order_by("number"))


def unpublished_batch_ids(*, job_id: int) -> list[int]:
    """Ids of the job's batches not yet published to Label Studio."""
    return list(Batch.objects.filter(job_id=job_id, published_at__isnull=True).values_list("pk", flat=True))


def job_batches(*, job: Job, state: str = "") -> QuerySet[Batch]:
    """The job's batches by number with their holders, only those in `state` when it is a batch state."""
    batches = job.batches.select_related("assigned_to__user").order_by("number")
    return batches.filter(state=state) if state in BatchState.values else batches
