"""Assignment reads logged hours and the job's pay terms: a contractor at the cap gets no new batch that week."""
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from annotations.models import Batch, BatchTask, Job, Task
from annotations.selectors.capacity import capacity_board
from annotations.services.assignment import batch_assign, batches_auto_assign
from common.errors import DomainError
from payroll.selectors.cap import minutes_logged_by_contractor
from payroll.selectors.weeks import week_start_utc
from payroll.services.entries import time_entry_create
from payroll.services.terms import pay_terms_change
from tests.factories import contractor_in_state, job_plain
from tests.payroll.conftest import NOW, at
from workforce.models import Contractor, OnboardingState, User

pytestmark = pytest.mark.django_db


def published_batch(job: Job, number: int) -> Batch:
    batch = Batch.objects.create(job=job, number=number, ls_project_id=800_000 + job.pk * 100 + number,
                                 published_at=NOW - timedelta(days=3))
    task = Task.objects.create(job=job, key=f"t{number}", image_path=f"x/{number}.png",
                               image_sha256=f"{job.pk:032d}{number:032d}", width=10, height=10)
    BatchTask.objects.create(batch=batch, task=task)
    return batch


def row_of(job: Job, contractor: Contractor, now: object = NOW) -> object:
    return next(r for r in capacity_board(job, now=now) if r.contractor_id == contractor.pk)


def test_board_shows_logged_hours_and_the_cap_in_force(contractor: Contractor, batch: Batch, staff: User) -> None:
    time_entry_create(contractor=contractor, batch=batch, start=at(24, 9), end=at(24, 11, 30), actor=contractor.user,
                      now=NOW)
    assert row_of(batch.job, contractor).logged == Decimal("2.50")
    assert row_of(batch.job, contractor).cap == Decimal("20")
    pay_terms_change(job=batch.job, effective_from=at(26, 0), hourly_rate=Decimal("2"),
                     weekly_cap_hours=Decimal("10"), reason="smaller pilot", actor=staff, now=NOW)
    assert row_of(batch.job, contractor).cap == Decimal("20")
    assert row_of(batch.job, contractor, at(26, 1)).cap == Decimal("10")


def test_at_the_cap_no_new_batch_by_hand_or_automatically(contractor: Contractor, staff: User) -> None:
    job = job_plain(weekly_cap_hours=Decimal("1"), quality_threshold=Decimal("0.5"))
    held = published_batch(job, 1)
    with time_machine.travel(at(24, 8), tick=False):  # the history is stamped by the clock
        batch_assign(batch=held, contractor=contractor, actor=staff, now=at(24, 8))
    time_entry_create(contractor=contractor, batch=held, start=at(24, 9), end=at(24, 10), actor=contractor.user,
                      now=NOW)
    spare = published_batch(job, 2)
    with pytest.raises(DomainError, match=r"0\.00 h left this week"):
        batch_assign(batch=spare, contractor=contractor, actor=staff, now=NOW)
    assert batches_auto_assign(job=job, actor=staff, now=NOW) == []
    # Next Monday the week starts afresh.
    assert [e.contractor_id for e in batches_auto_assign(job=job, actor=staff, now=at(30, 1))] == [contractor.pk]


def test_minutes_logged_read_for_a_query_of_contractors_are_those_read_for_their_ids(
    contractor: Contractor, batch: Batch,
) -> None:
    time_entry_create(contractor=contractor, batch=batch, start=at(24, 9), end=at(24, 11, 30), actor=contractor.user,
                      now=NOW)
    idle = contractor_in_state(OnboardingState.ACTIVE)
    week = week_start_utc(NOW)
    by_ids = minutes_logged_by_contractor([contractor.pk, idle.pk], week_start=week)
    assert by_ids == {contractor.pk: 150, idle.pk: 0}
    crew = Contractor.objects.filter(pk__in=[contractor.pk, idle.pk])
    assert minutes_logged_by_contractor(crew, week_start=week) == by_ids
