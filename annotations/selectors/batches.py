"""Reads of batches: who holds what, which held batches are stale, and task counts."""
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Count, DateTimeField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Value

from annotations.batch_life import HELD_STATES, RECLAIMABLE_STATES
from annotations.models import Annotation, Batch, BatchKind, BatchState, BatchTask, Job
from workforce.models import Contractor


def batch_task_counts(batch_ids: Iterable[int]) -> dict[int, int]:
    """Tasks per batch, hidden gold included, in one query."""
    rows = BatchTask.objects.filter(batch_id__in=list(batch_ids)).values("batch_id").annotate(n=Count("id"))
    return {row["batch_id"]: row["n"] for row in rows}


def held_task_counts(contractors: Iterable[int] | QuerySet[Contractor]) -> dict[int, int]:
    """Tasks in the batches each contractor holds and has not handed in, across all jobs (hours are hours).
    `contractors` is their ids, or a query of them (read as a subquery: cheaper than a thousand ids)."""
    chosen = contractors.values("pk") if isinstance(contractors, QuerySet) else list(contractors)
    rows = (BatchTask.objects.filter(batch__assigned_to_id__in=chosen, batch__state__in=HELD_STATES)
            .values("batch__assigned_to_id").annotate(n=Count("id")).values_list("batch__assigned_to_id", "n"))
    return dict(rows)


def _holder_annotation() -> Subquery:
    """One live annotation of the batch's holder in the batch (at OuterRef), NULL when they synced none. A scalar
    subquery, run per batch through the batch-task and annotation indexes: as an EXISTS, PostgreSQL hashed every
    annotation of every batch to answer it for a few."""
    return Subquery(Annotation.objects.filter(batch_task__batch=OuterRef("pk"), contractor=OuterRef("assigned_to"),
                                              deleted=False).values("pk")[:1])


def batches_started_by_holder(batch_ids: Iterable[int]) -> set[int]:
    """Ids of the batches whose holder synced an annotation in them, whatever the batch state says."""
    return set(Batch.objects.filter(pk__in=list(batch_ids)).alias(started_by=_holder_annotation())
               .filter(started_by__isnull=False).values_list("pk", flat=True))


def stale_reason(batch: Batch, *, started: bool, now: datetime) -> str | None:
    """The rule a held batch broke (not started, or not finished in time), None while it is in time."""
    job = batch.job
    if (batch.state == BatchState.ASSIGNED and not started and batch.started_at is None
            and batch.assigned_at + timedelta(hours=job.start_within_hours) <= now):
        return f"not started within {job.start_within_hours} h of assignment"
    if batch.deadline_at is not None and batch.deadline_at <= now:
        return f"not finished by the deadline ({job.deadline_hours} h after assignment)"
    return None


def stale_batches(*, now: datetime, job_id: int | None = None, search: str = "") -> QuerySet[Batch]:
    """Held batches the periodic reclaim would take back now (of one job, of holders whose email or name holds
    `search`, when given), by deadline: stale_reason's rule written in SQL, so the page counts and pages them in
    the database; stale_rows says which rule each batch of a page broke (`started_by` is the holder's annotation
    that started a batch, None when they synced none)."""
    start_by = ExpressionWrapper(F("assigned_at") + F("job__start_within_hours") * Value(timedelta(hours=1)),
                                 output_field=DateTimeField())
    held = (Batch.objects.select_related("job", "assigned_to__user")
            .filter(state__in=RECLAIMABLE_STATES, assigned_to__isnull=False, kind=BatchKind.WORK)
            .alias(start_by=start_by).annotate(started_by=_holder_annotation())
            .filter(Q(deadline_at__lte=now)
                    | Q(state=BatchState.ASSIGNED, started_at__isnull=True, start_by__lte=now,
                        started_by__isnull=True)))
    if job_id:
        held = held.filter(job_id=job_id)
    if search:
        held = held.filter(Q(assigned_to__user__email__icontains=search)
                           | Q(assigned_to__display_name__icontains=search)
                           | Q(assigned_to__legal_name__icontains=search))
    return held.order_by("deadline_at", "id")


def stale_rows(batches: Iterable[Batch], *, now: datetime) -> list[tuple[Batch, str]]:
    """(batch, the rule it broke in words) for batches of stale_batches, e.g. one page of them (each carries
    `started_by`, the holder's annotation that started it, so no query is made here)."""
    return [(b, reason) for b in batches if (reason := stale_reason(b, started=b.started_by is not None, now=now))]


def contractor_batches(*, contractor: Contractor) -> list[Batch]:
    """The batches the contractor holds, each with `n_tasks` (the photos to fix are in batch_work)."""
    return list(
        Batch.objects.filter(assigned_to=contractor, state__in=HELD_STATES).select_related("job")
        .annotate(n_tasks=Count("batch_tasks", distinct=True))
        .order_by("deadline_at", "number")
    )


def open_published_batches(*, job_id: int) -> list[tuple[int, int]]:
    """(id, number) of the job's published batches nobody holds yet, by number (what can be assigned)."""
    return list(Batch.objects.filter(job_id=job_id, state=BatchState.OPEN, published_at__isnull=False)
                .order_by("number").values_list("pk", "number"))


def unpublished_batch_ids(*, job_id: int) -> list[int]:
    """Ids of the job's batches not yet published to Label Studio."""
    return list(Batch.objects.filter(job_id=job_id, published_at__isnull=True).values_list("pk", flat=True))


def job_batches(*, job: Job, state: str = "") -> QuerySet[Batch]:
    """The job's batches by number with their holders, only those in `state` when it is a batch state."""
    batches = job.batches.select_related("assigned_to__user").order_by("number")
    return batches.filter(state=state) if state in BatchState.values else batches


def photos_held_before(contractor_ids: Iterable[int]) -> dict[int, set[tuple[int, int]]]:
    """Per contractor, (task id, batch id) of every photo in every batch they were ever given (qualification
    round included), from the assignment history: one query."""
    held: dict[int, set[tuple[int, int]]] = {cid: set() for cid in contractor_ids}
    rows = (BatchTask.objects.filter(batch__assignment_events__contractor_id__in=list(held))
            .values_list("batch__assignment_events__contractor_id", "task_id", "batch_id").distinct())
    for cid, task_id, batch_id in rows:
        held[cid].add((task_id, batch_id))
    return held


def batch_photo_ids(batch_ids: Iterable[int], *, gold_only: bool = False) -> dict[int, set[int]]:
    """Per batch, the ids of its photos (only its hidden gold ones with gold_only), every batch id present."""
    photos: dict[int, set[int]] = {pk: set() for pk in batch_ids}
    rows = BatchTask.objects.filter(batch_id__in=list(photos))
    for batch_id, task_id in (rows.filter(is_gold=True) if gold_only else rows).values_list("batch_id", "task_id"):
        photos[batch_id].add(task_id)
    return photos


def gold_task_ids(batch_ids: Iterable[int]) -> dict[int, set[int]]:
    """Per batch, the ids of its hidden gold photos (every batch id present)."""
    return batch_photo_ids(batch_ids, gold_only=True)


def gold_seen_before(*, batch_id: int, gold: set[int], held: set[tuple[int, int]]) -> set[int]:
    """Which of a batch's hidden gold photos the contractor already had in another batch: never given twice."""
    return {task_id for task_id, other in held if task_id in gold and other != batch_id}


def never_twice(batch: Batch, photos: set[int], gold: set[int]) -> set[int]:
    """The photos of a batch that may not go to someone who had them in another batch: its hidden gold, and, on
    a job whose photos go to several annotators, every photo (their answers are compared with each other)."""
    return photos if batch.job.annotators_per_photo > 1 else gold


def batch_state_counts(*, job: Job) -> list[tuple[str, str, int]]:
    """(state, label, how many of the job's batches are in it) for every batch state, in the life's order."""
    counts = dict(job.batches.values("state").annotate(n=Count("id")).values_list("state", "n"))
    return [(value, label, counts.get(value, 0)) for value, label in BatchState.choices]
