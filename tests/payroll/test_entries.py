"""Time entries: validation, the week split, overlaps, the cap and its warnings, effective-dated rates."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from annotations.models import Batch
from common.errors import CapExceeded, Conflict, DomainError, NotAllowed
from payroll.models import EntryKind, TimeEntry, Timesheet, TimesheetState
from payroll.selectors.cap import remaining_cap_minutes
from payroll.selectors.weeks import week_name
from payroll.services.entries import adjustment_create, time_entry_create, time_entry_delete, timer_start, timer_stop
from payroll.services.terms import pay_terms_change
from payroll.services.timesheets import timesheet_decide, timesheet_submit
from tests.factories import batch_assigned, contractor_in_state
from tests.payroll.conftest import NOW, W48, W48_ENDED, at
from workforce.models import Contractor, OnboardingState, User

pytestmark = pytest.mark.django_db


def log(contractor: Contractor, batch: Batch, start, end, **kw) -> list[TimeEntry]:
    return time_entry_create(contractor=contractor, batch=batch, start=start, end=end, actor=contractor.user,
                             now=kw.pop("now", NOW), **kw)


def test_entry_crossing_monday_is_split_into_both_weeks(contractor: Contractor, batch: Batch) -> None:
    first, second = log(contractor, batch, at(22, 23, 30), at(23, 0, 30))
    assert (first.start, first.end, first.minutes) == (at(22, 23, 30), at(23, 0, 0), 30)
    assert (second.start, second.end, second.minutes) == (at(23, 0, 0), at(23, 0, 30), 30)
    assert week_name(first.timesheet.week_start) == "2026-W47"
    assert week_name(second.timesheet.week_start) == "2026-W48"
    assert [t.work_minutes for t in Timesheet.objects.order_by("week_start")] == [30, 30]


def test_seconds_are_dropped_to_whole_minutes(contractor: Contractor, batch: Batch) -> None:
    [entry] = log(contractor, batch, at(24, 9, 0).replace(second=40), at(24, 9, 17).replace(second=5))
    assert entry.minutes == 17
    assert entry.start.second == 0


@pytest.mark.parametrize(("start", "end", "field", "words"), [
    (at(25, 11), at(25, 13), "end", "future"),
    (at(24, 10), at(24, 10), "end", "after start"),
    (at(24, 10), at(24, 9), "end", "after start"),
    (at(23, 0), at(23, 12, 1), "end", "12 hours"),
])
def test_refusals_say_why_and_save_nothing(contractor: Contractor, batch: Batch, start, end, field, words) -> None:
    with pytest.raises(DomainError) as exc:
        log(contractor, batch, start, end)
    assert exc.value.field == field
    assert words in exc.value.message
    assert not TimeEntry.objects.exists()


def test_exactly_twelve_hours_is_allowed(contractor: Contractor, batch: Batch) -> None:
    [entry] = log(contractor, batch, at(23, 0), at(23, 12))
    assert entry.minutes == 720


def test_naive_times_are_refused(contractor: Contractor, batch: Batch) -> None:
    with pytest.raises(DomainError, match="timezone"):
        log(contractor, batch, at(24, 9).replace(tzinfo=None), at(24, 10))


def test_overlap_with_another_entry_is_refused(contractor: Contractor, batch: Batch) -> None:
    log(contractor, batch, at(24, 9), at(24, 11))
    with pytest.raises(Conflict, match="overlaps your entry from 2026-11-24 09:00 to 11:00"):
        log(contractor, batch, at(24, 10, 59), at(24, 12))
    log(contractor, batch, at(24, 11), at(24, 12))  # touching is not overlapping
    other_batch = batch_assigned(contractor)
    with pytest.raises(Conflict):
        log(contractor, other_batch, at(24, 8), at(24, 9, 30))
    assert Timesheet.objects.get().work_minutes == 180


def test_only_the_batch_holder_logs_time_on_it(contractor: Contractor, batch: Batch) -> None:
    stranger = contractor_in_state(OnboardingState.ACTIVE)
    with pytest.raises(NotAllowed, match="assigned to you"):
        log(stranger, batch, at(24, 9), at(24, 10))


def test_cap_is_inclusive_and_refusal_names_the_minutes_left(contractor: Contractor, batch: Batch) -> None:
    log(contractor, batch, at(23, 0), at(23, 12))
    log(contractor, batch, at(24, 0), at(24, 7, 50))
    assert remaining_cap_minutes(contractor=contractor, job=batch.job, moment=NOW) == 10
    with pytest.raises(CapExceeded) as exc:
        log(contractor, batch, at(24, 8), at(24, 8, 11))
    assert exc.value.remaining_minutes == 10
    assert "10 minutes left" in exc.value.message
    log(contractor, batch, at(24, 8), at(24, 8, 10))  # exactly 20:00 is allowed
    assert Timesheet.objects.get().work_minutes == 20 * 60
    with pytest.raises(CapExceeded, match="0 minutes left"):
        log(contractor, batch, at(24, 9), at(24, 9, 1))


def test_cap_warnings_at_80_and_100_percent_are_sent_once(contractor: Contractor, batch: Batch,
                                                           django_capture_on_commit_callbacks) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        log(contractor, batch, at(23, 0), at(23, 12))  # 60 %
    assert not mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        log(contractor, batch, at(24, 0), at(24, 4))  # 80 %
    assert [m.subject for m in mail.outbox] == ["LabelCrew: 80% of your weekly hours used (2026-W48)"]
    with django_capture_on_commit_callbacks(execute=True):
        log(contractor, batch, at(24, 5), at(24, 6))  # 85 %
        log(contractor, batch, at(24, 7), at(24, 10))  # 100 %
    assert len(mail.outbox) == 2
    assert "reached the weekly hour limit" in mail.outbox[1].subject
    sheet = Timesheet.objects.get()
    assert sheet.warned_80_at
    assert sheet.warned_100_at


def test_rate_change_mid_week_applies_from_its_moment_only(contractor: Contractor, batch: Batch,
                                                           staff: User) -> None:
    job = batch.job
    log(contractor, batch, at(23, 9), at(23, 10), now=at(23, 10))  # Monday, old rate
    pay_terms_change(job=job, effective_from=at(25, 0), hourly_rate=Decimal("2.50"), weekly_cap_hours=Decimal("20"),
                     reason="client raised the budget", actor=staff, now=at(23, 10))
    log(contractor, batch, at(24, 23), at(25, 1), now=NOW)  # crosses the change: the rate at its start
    log(contractor, batch, at(25, 9), at(25, 10), now=NOW)
    rates = list(TimeEntry.objects.order_by("start").values_list("hourly_rate", flat=True))
    assert rates == [Decimal("2.00"), Decimal("2.00"), Decimal("2.50")]
    with pytest.raises(DomainError, match="past"):
        pay_terms_change(job=job, effective_from=at(24, 0), hourly_rate=Decimal("3"), weekly_cap_hours=Decimal("20"),
                         reason="retroactive", actor=staff, now=NOW)


def test_cap_change_applies_to_the_entries_after_it(contractor: Contractor, batch: Batch, staff: User) -> None:
    pay_terms_change(job=batch.job, effective_from=at(24, 0), hourly_rate=Decimal("2.00"),
                     weekly_cap_hours=Decimal("2"), reason="pilot week", actor=staff, now=at(23, 12))
    log(contractor, batch, at(24, 9), at(24, 11))
    with pytest.raises(CapExceeded):
        log(contractor, batch, at(24, 12), at(24, 12, 1))


def test_locked_weeks_refuse_entries_and_deletes(contractor: Contractor, batch: Batch, staff: User) -> None:
    [entry] = log(contractor, batch, at(23, 9), at(23, 10))
    timesheet_submit(timesheet=entry.timesheet, actor=contractor.user, now=W48_ENDED)
    with pytest.raises(Conflict, match="2026-W48 is submitted"):
        log(contractor, batch, at(23, 11), at(23, 12))
    with pytest.raises(Conflict):
        time_entry_delete(entry=entry, contractor=contractor)
    timesheet_decide(timesheet=entry.timesheet, approve=False, actor=staff, reason="batch 1 took 10 min in LS")
    time_entry_delete(entry=entry, contractor=contractor)  # a rejected week can be corrected
    assert Timesheet.objects.get().work_minutes == 0


def test_contractor_cannot_delete_someone_elses_entry(contractor: Contractor, batch: Batch) -> None:
    [entry] = log(contractor, batch, at(23, 9), at(23, 10))
    other = contractor_in_state(OnboardingState.ACTIVE)
    with pytest.raises(NotAllowed):
        time_entry_delete(entry=entry, contractor=other)
    assert TimeEntry.objects.count() == 1


def test_adjustment_corrects_a_locked_week_at_its_rate(contractor: Contractor, batch: Batch, staff: User) -> None:
    [entry] = log(contractor, batch, at(16, 9), at(16, 10), now=at(16, 12))
    timesheet_submit(timesheet=entry.timesheet, actor=contractor.user, now=at(23, 0))
    timesheet_decide(timesheet=entry.timesheet, approve=True, actor=staff, now=at(23, 1))
    pay_terms_change(job=batch.job, effective_from=at(23, 0, 0), hourly_rate=Decimal("3.00"),
                     weekly_cap_hours=Decimal("20"), reason="raise", actor=staff, now=at(22, 0))
    adjustment = adjustment_create(contractor=contractor, job=batch.job, minutes=30, reason="forgot Sunday",
                                   actor=staff, corrects_week=at(16, 0), now=NOW)
    assert adjustment.kind == EntryKind.ADJUSTMENT
    assert adjustment.hourly_rate == Decimal("2.00")
    assert week_name(adjustment.timesheet.week_start) == "2026-W48"
    assert adjustment.timesheet.work_minutes == 0  # adjustments are not work time under the cap
    with pytest.raises(NotAllowed):
        adjustment_create(contractor=contractor, job=batch.job, minutes=30, reason="x", actor=contractor.user, now=NOW)
    with pytest.raises(DomainError, match="reason"):
        adjustment_create(contractor=contractor, job=batch.job, minutes=30, reason=" ", actor=staff, now=NOW)
    with pytest.raises(DomainError, match="minutes"):
        adjustment_create(contractor=contractor, job=batch.job, minutes=0, reason="nothing", actor=staff, now=NOW)


def test_timer_logs_its_span_and_stops_at_the_cap(contractor: Contractor, batch: Batch) -> None:
    timer_start(contractor=contractor, batch=batch, now=at(24, 9, 0))
    with pytest.raises(Conflict, match="already running"):
        timer_start(contractor=contractor, batch=batch, now=at(24, 9, 5))
    result = timer_stop(contractor=contractor, now=at(24, 9, 42))
    assert [e.minutes for e in result.entries] == [42]
    assert "0:42" in result.message
    log(contractor, batch, at(23, 0), at(23, 12))
    log(contractor, batch, at(23, 12), at(23, 19))  # 19:42 logged
    timer_start(contractor=contractor, batch=batch, now=at(24, 10, 0))
    result = timer_stop(contractor=contractor, now=at(24, 11, 0))
    assert [e.minutes for e in result.entries] == [18]
    assert "weekly cap" in result.message
    assert Timesheet.objects.get(week_start=W48).work_minutes == 1200
    with pytest.raises(Conflict, match="No timer"):
        timer_stop(contractor=contractor, now=NOW)


def test_short_timer_logs_nothing(contractor: Contractor, batch: Batch) -> None:
    timer_start(contractor=contractor, batch=batch, now=at(24, 9, 0, ) + timedelta(seconds=5))
    result = timer_stop(contractor=contractor, now=at(24, 9, 0) + timedelta(seconds=50))
    assert result.entries == []
    assert "nothing logged" in result.message


def test_week_states_move_through_review(contractor: Contractor, batch: Batch, staff: User) -> None:
    [entry] = log(contractor, batch, at(23, 9), at(23, 10))
    sheet = entry.timesheet
    with pytest.raises(NotAllowed):
        timesheet_decide(timesheet=sheet, approve=True, actor=contractor.user)
    with pytest.raises(Conflict, match="not waiting for review"):
        timesheet_decide(timesheet=sheet, approve=True, actor=staff)
    timesheet_submit(timesheet=sheet, actor=contractor.user, now=W48_ENDED)
    with pytest.raises(DomainError, match="reason"):
        timesheet_decide(timesheet=sheet, approve=False, actor=staff, reason="")
    sheet = timesheet_decide(timesheet=sheet, approve=True, actor=staff)
    assert sheet.state == TimesheetState.APPROVED
    assert sheet.decided_by == staff
    other = contractor_in_state(OnboardingState.ACTIVE)
    with pytest.raises(NotAllowed):
        timesheet_submit(timesheet=sheet, actor=other.user)
