"""Pay runs: rounding once per statement, carry-over below the minimum, idempotence, the week close."""
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail

from annotations.models import Batch
from common.errors import NotAllowed
from payroll.models import PayRun, Statement, Timesheet, TimesheetState
from payroll.selectors.weeks import WEEK
from payroll.services.entries import adjustment_create, time_entry_create
from payroll.services.payruns import pay_run_execute
from payroll.services.terms import pay_terms_change
from payroll.services.timesheets import close_pay_weeks, timesheet_decide, timesheet_submit
from payroll.tasks import close_pay_weeks as close_pay_weeks_task
from tests.factories import batch_assigned, contractor_in_state, staff_user
from tests.payroll.conftest import NOW, W48, W48_ENDED, at
from workforce.models import Contractor, OnboardingState, User

pytestmark = pytest.mark.django_db
W47 = at(16, 0)


def approved_week(contractor: Contractor, batch: Batch, staff: User, spans: list[tuple]) -> Timesheet:
    """Log the spans in W47, submit and approve the week."""
    for start, end in spans:
        time_entry_create(contractor=contractor, batch=batch, start=start, end=end, actor=contractor.user,
                          now=at(22, 23))
    sheet = Timesheet.objects.get(contractor=contractor, week_start=W47)
    timesheet_submit(timesheet=sheet, actor=contractor.user, now=at(23, 0))  # Monday 00:00 UTC: W47 has ended
    return timesheet_decide(timesheet=sheet, approve=True, actor=staff, now=NOW)


def test_seven_entries_of_17_minutes_are_rounded_once(contractor: Contractor, batch: Batch, staff: User) -> None:
    # 7 x 17 min = 119 min at 2.00/h = 3.96666... -> 3.97; rounding each entry (0.57 x 7) would give 3.99.
    approved_week(contractor, batch, staff, [(at(17, h), at(17, h, 17)) for h in range(9, 16)])
    run = pay_run_execute(week_start=W47, actor=staff)
    statement = run.statements.get()
    assert statement.minutes == 119
    assert statement.earned == Decimal("3.97")
    assert statement.payable == Decimal("3.97")
    assert Timesheet.objects.get().state == TimesheetState.PAID


def test_half_cent_rounds_up(contractor: Contractor, batch: Batch, staff: User) -> None:
    pay_terms_change(job=batch.job, effective_from=at(16, 0), hourly_rate=Decimal("2.01"),
                     weekly_cap_hours=Decimal("20"), reason="odd rate", actor=staff, now=at(15, 0))
    # 30 min at 2.01 = 1.005 -> 1.01 half-up (banker's rounding would give 1.00)
    approved_week(contractor, batch, staff, [(at(17, 9), at(17, 9, 30))])
    assert pay_run_execute(week_start=W47, actor=staff).statements.get().earned == Decimal("1.01")


def test_mixed_rates_in_a_week_are_summed_before_rounding(contractor: Contractor, batch: Batch, staff: User) -> None:
    pay_terms_change(job=batch.job, effective_from=at(18, 0), hourly_rate=Decimal("2.50"),
                     weekly_cap_hours=Decimal("20"), reason="raise", actor=staff, now=at(15, 0))
    approved_week(contractor, batch, staff, [(at(17, 9), at(17, 9, 10)), (at(18, 9), at(18, 9, 10))])
    # 10/60*2.00 + 10/60*2.50 = 0.3333.. + 0.41666.. = 0.75
    assert pay_run_execute(week_start=W47, actor=staff).statements.get().earned == Decimal("0.75")


def test_running_twice_pays_nothing_twice(contractor: Contractor, batch: Batch, staff: User) -> None:
    approved_week(contractor, batch, staff, [(at(17, 9), at(17, 11))])
    first = pay_run_execute(week_start=W47, actor=staff)
    assert first.statements.get().payable == Decimal("4.00")
    assert pay_run_execute(week_start=W47, actor=staff) is None
    assert Statement.objects.count() == 1
    assert PayRun.objects.count() == 1


def test_a_later_approval_is_paid_by_a_second_run_only(contractor: Contractor, batch: Batch, staff: User) -> None:
    approved_week(contractor, batch, staff, [(at(17, 9), at(17, 11))])
    pay_run_execute(week_start=W47, actor=staff)
    other = contractor_in_state(OnboardingState.ACTIVE)
    approved_week(other, batch_assigned(other), staff, [(at(17, 9), at(17, 10))])
    second = pay_run_execute(week_start=W47, actor=staff)
    assert [s.contractor_id for s in second.statements.all()] == [other.pk]


def test_below_minimum_payout_is_carried_to_the_next_run(contractor: Contractor, batch: Batch, staff: User) -> None:
    approved_week(contractor, batch, staff, [(at(17, 9), at(17, 10))])  # 2.00
    first = pay_run_execute(week_start=W47, actor=staff, minimum_payout=Decimal("5.00")).statements.get()
    assert (first.earned, first.payable, first.carried_out) == (Decimal("2.00"), Decimal("0"), Decimal("2.00"))
    time_entry_create(contractor=contractor, batch=batch, start=at(23, 9), end=at(23, 11), actor=contractor.user,
                      now=NOW)
    sheet = Timesheet.objects.get(week_start=W48)
    timesheet_submit(timesheet=sheet, actor=contractor.user, now=W48_ENDED)
    timesheet_decide(timesheet=sheet, approve=True, actor=staff)
    second = pay_run_execute(week_start=W48, actor=staff, minimum_payout=Decimal("5.00")).statements.get()
    assert (second.earned, second.carried_in, second.payable, second.carried_out) == (
        Decimal("4.00"), Decimal("2.00"), Decimal("6.00"), Decimal("0"))


def test_adjustments_are_paid_at_their_rate(contractor: Contractor, batch: Batch, staff: User) -> None:
    time_entry_create(contractor=contractor, batch=batch, start=at(23, 9), end=at(23, 10), actor=contractor.user,
                      now=NOW)
    adjustment_create(contractor=contractor, job=batch.job, minutes=-15, reason="double-logged", actor=staff, now=NOW)
    sheet = Timesheet.objects.get(week_start=W48)
    timesheet_submit(timesheet=sheet, actor=contractor.user, now=W48_ENDED)
    timesheet_decide(timesheet=sheet, approve=True, actor=staff)
    statement = pay_run_execute(week_start=W48, actor=staff).statements.get()
    assert (statement.minutes, statement.earned) == (45, Decimal("1.50"))


def test_unapproved_weeks_are_not_paid_and_only_staff_run_pay(contractor: Contractor, batch: Batch,
                                                              staff: User) -> None:
    time_entry_create(contractor=contractor, batch=batch, start=at(17, 9), end=at(17, 10), actor=contractor.user,
                      now=NOW)
    assert pay_run_execute(week_start=W47, actor=staff) is None
    with pytest.raises(NotAllowed):
        pay_run_execute(week_start=W47, actor=contractor.user)


def test_week_close_submits_ended_drafts_once_and_tells_reviewers(contractor: Contractor, batch: Batch,
                                                                  staff: User) -> None:
    time_entry_create(contractor=contractor, batch=batch, start=at(17, 9), end=at(17, 10), actor=contractor.user,
                      now=NOW)
    time_entry_create(contractor=contractor, batch=batch, start=at(24, 9), end=at(24, 10), actor=contractor.user,
                      now=NOW)
    staff_user(email="reviewer@example.com")
    mail.outbox.clear()
    assert close_pay_weeks(now=at(23, 0)) == 1  # Monday 00:00 UTC: W47 ends, W48 is still open
    states = dict(Timesheet.objects.values_list("week_start", "state"))
    assert states == {W47: TimesheetState.SUBMITTED, W48: TimesheetState.DRAFT}
    recipients = {m.to[0] for m in mail.outbox}
    assert {staff.email, "reviewer@example.com"} <= recipients
    assert contractor.user.email not in recipients
    assert "2026-W47" in mail.outbox[0].body
    assert close_pay_weeks(now=at(23, 1)) == 0


def test_beat_closes_weeks_through_the_registered_task() -> None:
    from config.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE["close-pay-weeks"]
    assert schedule["task"] == close_pay_weeks_task.name
    assert schedule["task"] in app.tasks
    assert schedule["schedule"].is_due(at(23, 0, 0))  # crontab minute 0 of every hour, Monday 00:00 included


def test_a_clawback_beyond_the_week_is_carried_and_offset_next_run(contractor: Contractor, batch: Batch,
                                                                   staff: User) -> None:
    approved_week(contractor, batch, staff, [(at(17, 9), at(17, 10))])
    pay_run_execute(week_start=W47, actor=staff)  # 2.00 paid
    adjustment_create(contractor=contractor, job=batch.job, minutes=-90, reason="W47 was logged twice",
                      actor=staff, corrects_week=W47, now=NOW)
    sheet = Timesheet.objects.get(week_start=W48)
    timesheet_submit(timesheet=sheet, actor=contractor.user, now=W48_ENDED)
    timesheet_decide(timesheet=sheet, approve=True, actor=staff)
    owed_back = pay_run_execute(week_start=W48, actor=staff).statements.get()
    assert (owed_back.earned, owed_back.payable, owed_back.carried_out) == (Decimal("-3.00"), 0, Decimal("-3.00"))
    time_entry_create(contractor=contractor, batch=batch, start=at(30, 9), end=at(30, 12), actor=contractor.user,
                      now=at(30, 12))
    sheet = Timesheet.objects.get(week_start=at(30, 0))
    timesheet_submit(timesheet=sheet, actor=contractor.user, now=at(30, 0) + WEEK)  # once W49 has ended
    timesheet_decide(timesheet=sheet, approve=True, actor=staff)
    paid = pay_run_execute(week_start=at(30, 0), actor=staff).statements.get()
    assert (paid.earned, paid.carried_in, paid.payable) == (Decimal("6.00"), Decimal("-3.00"), Decimal("3.00"))


def test_three_rates_in_a_week_are_rounded_once_from_the_exact_sum(contractor: Contractor, batch: Batch,
                                                                   staff: User) -> None:
    # 386 min at 2.20 + 202 at 2.45 + 130 at 2.60 = 28.035 exactly -> 28.04 (adding rounded thirds gave 28.03).
    for day, rate in ((17, "2.20"), (18, "2.45"), (19, "2.60")):
        pay_terms_change(job=batch.job, effective_from=at(day, 0), hourly_rate=Decimal(rate),
                         weekly_cap_hours=Decimal("20"), reason="rate step", actor=staff, now=at(15, 0))
    approved_week(contractor, batch, staff, [(at(17, 8), at(17, 14, 26)), (at(18, 8), at(18, 11, 22)),
                                             (at(19, 8), at(19, 10, 10))])
    assert pay_run_execute(week_start=W47, actor=staff).statements.get().earned == Decimal("28.04")
