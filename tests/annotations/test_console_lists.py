"""The console's long lists read in SQL: stale work selected by the reclaim's own rule, the review queue leaving out
only a holder's own work in a batch they still hold, the capacity board's per-contractor reads (pace, held work)
agreeing with the reads assignment makes for one contractor."""
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from annotations.models import Annotation, Batch, BatchState, Job
from annotations.selectors.batches import stale_batches, stale_rows
from annotations.selectors.capacity import (
    DEFAULT_HOURS_PER_TASK,
    LEAD_TIME_SAMPLE,
    capacity_board,
    hours_per_task_by_contractor,
    remaining_capacity_hours,
)
from annotations.services.assignment import batches_reclaim_stale
from tests.annotations.test_assignment import job  # noqa: F401 - five published batches of two photos each
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState

S = OnboardingState
pytestmark = pytest.mark.django_db
ASSIGNED_AT = timezone.now() - timedelta(hours=1)


def _hold(job: Job, number: int, contractor: Contractor, **fields: object) -> Batch:  # noqa: F811 - not the fixture
    """Batch `number` of the job as assignment leaves it, held by the contractor since ASSIGNED_AT."""
    batch = job.batches.get(number=number)
    Batch.objects.filter(pk=batch.pk).update(**{
        "state": BatchState.ASSIGNED, "assigned_to": contractor, "assigned_at": ASSIGNED_AT,
        "deadline_at": ASSIGNED_AT + timedelta(hours=job.deadline_hours), **fields})
    return Batch.objects.get(pk=batch.pk)


def _annotate(contractor: Contractor, batch: Batch, *, lead_time: float = 60, ago: timedelta = timedelta(0),
              gold: bool = False, **fields: object) -> Annotation:
    """An annotation of the batch's photo (its hidden gold one with `gold`: another batch may hold it too)."""
    return Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000,
                                     batch_task=batch.batch_tasks.get(is_gold=gold), contractor=contractor,
                                     lead_time=lead_time, ls_created_at=timezone.now() - ago, **fields)


def _listed(now: object) -> list[tuple[int, str]]:
    return [(batch.pk, reason) for batch, reason in stale_rows(stale_batches(now=now), now=now)]


def _reclaimed(now: object) -> list[tuple[int, str]]:
    """What the periodic reclaim would take back at `now`, with its reasons, undone afterwards."""
    with transaction.atomic():
        taken = [(event.batch_id, event.reason) for event in batches_reclaim_stale(now=now)]
        transaction.set_rollback(True)
    return taken


def test_stale_work_lists_what_the_periodic_reclaim_takes_back_with_the_same_reasons(job: Job) -> None:  # noqa: F811
    ana, ben, cara = (contractor_in_state(S.ACTIVE) for _ in range(3))
    untouched = _hold(job, 1, ana)
    started = _hold(job, 2, ana)
    _annotate(ana, started)
    by_someone_else = _hold(job, 3, ben)  # work in it by another: the holder has still not started
    _annotate(cara, by_someone_else)
    deleted = _hold(job, 4, ben)  # the holder's only annotation was deleted: not started either
    _annotate(ben, deleted, deleted=True)
    in_progress = _hold(job, 5, cara, state=BatchState.IN_PROGRESS, started_at=ASSIGNED_AT)
    start_by = ASSIGNED_AT + timedelta(hours=job.start_within_hours)
    deadline = ASSIGNED_AT + timedelta(hours=job.deadline_hours)

    assert _listed(start_by - timedelta(minutes=1)) == _reclaimed(start_by - timedelta(minutes=1)) == []
    late = _listed(start_by)
    assert sorted(late) == sorted(_reclaimed(start_by))
    assert {pk for pk, _ in late} == {untouched.pk, by_someone_else.pk, deleted.pk}
    assert {reason for _, reason in late} == {f"not started within {job.start_within_hours} h of assignment"}
    overdue = _listed(deadline)
    assert sorted(overdue) == sorted(_reclaimed(deadline))
    assert {pk for pk, _ in overdue} == {untouched.pk, started.pk, by_someone_else.pk, deleted.pk, in_progress.pk}
    assert dict(overdue)[started.pk] == f"not finished by the deadline ({job.deadline_hours} h after assignment)"
    assert stale_batches(now=deadline, search=cara.user.email).get() == in_progress


def test_the_review_queue_waits_only_for_the_holders_own_work_in_a_batch_they_still_hold(
    job: Job,  # noqa: F811
) -> None:
    ana, ben = (contractor_in_state(S.ACTIVE, display_name=name) for name in ("Ana Reyes", "Ben Okafor"))
    held = _hold(job, 1, ana)
    own = _annotate(ana, held, gold=True)
    by_ben = _annotate(ben, held, unassigned_work=True)
    unheld = _annotate(ana, job.batches.get(number=2))  # a batch nobody holds: reviewable at once
    client = Client()
    client.force_login(staff_user(role="admin"))

    def queue(**query: str) -> list[int]:
        return [a.pk for a in client.get("/console/review/", query).context["page"].object_list]

    assert queue() == [by_ben.pk, unheld.pk]
    assert queue(q="okafor") == [by_ben.pk]
    assert queue(q=held.batch_tasks.get(is_gold=False).task.key) == [by_ben.pk]
    assert queue(q="reyes") == [unheld.pk]
    assert queue(flag="not-holder") == [by_ben.pk]
    Batch.objects.filter(pk=held.pk).update(state=BatchState.HANDED_IN)  # handed in: the holder's work waits too
    assert queue() == [own.pk, by_ben.pk, unheld.pk]
    assert queue(q="reyes", order="newest") == [unheld.pk, own.pk]


def test_the_capacity_board_reads_each_pace_and_held_work_as_assignment_reads_them_for_one(
    job: Job,  # noqa: F811
) -> None:
    steady, even, newcomer, erased = (contractor_in_state(S.ACTIVE) for _ in range(4))
    for n in range(LEAD_TIME_SAMPLE + 10):  # only the latest LEAD_TIME_SAMPLE count: the oldest ten are slow
        _annotate(steady, job.batches.get(number=5), lead_time=10_000 if n < 10 else 60 + n,
                  ago=timedelta(minutes=LEAD_TIME_SAMPLE + 10 - n))
    for lead_time in (60, 120, 300, 600):
        _annotate(even, job.batches.get(number=5), lead_time=lead_time)
    _annotate(erased, job.batches.get(number=5), lead_time=900, deleted=True)
    _hold(job, 1, even)
    _hold(job, 2, even, state=BatchState.REWORK)
    _hold(job, 3, steady, state=BatchState.HANDED_IN)  # handed in: no longer reserves hours
    now = timezone.now()
    board = {row.contractor_id: row for row in capacity_board(job, now=now)}

    assert board[even.pk].hours_per_task == Decimal(210) / 3600  # the mean of the two middle ones, 120 and 300
    assert board[newcomer.pk].hours_per_task == board[erased.pk].hours_per_task == DEFAULT_HOURS_PER_TASK
    assert board[steady.pk].hours_per_task < Decimal(10_000) / 3600
    assert board[even.pk].reserved == (4 * Decimal(210) / 3600).quantize(Decimal("0.01"))  # two batches, 2 photos
    assert board[steady.pk].reserved == 0
    per_task = hours_per_task_by_contractor(board)
    for contractor in (steady, even, newcomer, erased):
        row = board[contractor.pk]
        assert row.hours_per_task == per_task[contractor.pk]
        assert row.remaining == remaining_capacity_hours(contractor=contractor, job=job, now=now)


def test_the_capacity_board_sorts_and_filters_by_the_rule_auto_assign_applies(job: Job) -> None:  # noqa: F811
    crew = [contractor_in_state(S.ACTIVE, display_name=f"Crew {n:02d}") for n in range(6)]
    for contractor, score in zip(crew, ("0.9", "0.3", "0.7", "0.7", "0.55", "0.49"), strict=True):
        Contractor.objects.filter(pk=contractor.pk).update(qualification_score=Decimal(score))
    _hold(job, 1, crew[2])
    _hold(job, 2, crew[2])  # two open batches: at the job's limit
    board = capacity_board(job)
    client = Client()
    client.force_login(staff_user(role="admin"))
    url = f"/console/jobs/{job.pk}/capacity/"
    shown = client.get(url, {"receiving": "on"}).context["page"].object_list
    assert [r.contractor_id for r in shown] == [r.contractor_id for r in board if r.can_receive]
    assert {r.contractor_id for r in shown} == {crew[0].pk, crew[3].pk, crew[4].pk}
    api = client.get(f"/api/v1/console/jobs/{job.pk}/capacity/", {"receiving": "true"}).json()["results"]
    assert [(r["contractor"], r["why_not"]) for r in api] == [(r.contractor_id, "") for r in shown]
    refused = {r.contractor_id: r.why_not for r in board if not r.can_receive}
    assert refused[crew[1].pk].startswith("below the job's quality threshold")
    assert refused[crew[2].pk].startswith("holds 2 open batches")
