"""A contractor's own pay weeks for their pages and API: hours against the cap, the timer, batches, statements."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet

from annotations.models import AssignmentEvent, Batch, BatchState, Job
from annotations.selectors.batches import HELD_STATES
from payroll.models import EntryKind, RunningTimer, Statement, TimeEntry, Timesheet
from payroll.selectors.amounts import minutes_as_hmm, minutes_as_hours
from payroll.selectors.terms import pay_terms_default, pay_terms_of_jobs
from payroll.selectors.timesheets import timesheet_for_week
from payroll.selectors.weeks import WEEK
from workforce.models import Contractor

WARN_PERCENT = 80


@dataclass(frozen=True)
class WeekSummary:
    """A contractor's work minutes in one pay week against the strictest cap of the jobs they work on."""

    week_start: datetime
    timesheet: Timesheet | None
    work_minutes: int
    cap_minutes: int
    timer: RunningTimer | None

    @property
    def ends_at(self) -> datetime:
        return self.week_start + WEEK

    @property
    def minutes_left(self) -> int:
        return max(self.cap_minutes - self.work_minutes, 0)

    @property
    def percent(self) -> int:
        return self.work_minutes * 100 // max(self.cap_minutes, 1)

    @property
    def at_cap(self) -> bool:
        return self.work_minutes >= self.cap_minutes

    @property
    def near_cap(self) -> bool:
        return not self.at_cap and self.work_minutes * 100 >= self.cap_minutes * WARN_PERCENT

    @property
    def logged_hmm(self) -> str:
        return minutes_as_hmm(self.work_minutes)

    @property
    def logged_hours(self) -> Decimal:
        return minutes_as_hours(self.work_minutes)

    @property
    def left_hmm(self) -> str:
        return minutes_as_hmm(self.minutes_left)

    @property
    def cap_hmm(self) -> str:
        return minutes_as_hmm(self.cap_minutes)



def cap_minutes_for(*, contractor: Contractor, timesheet: Timesheet | None, moment: datetime) -> int:
    """The strictest weekly cap in force at `moment` among the jobs of the batches the contractor holds
    and of the work logged in the week; the default cap when there is none. Two queries whatever the
    number of jobs, so a page that shows it costs the same for any contractor."""
    worked = Q(batches__assigned_to=contractor, batches__state__in=HELD_STATES)
    if timesheet is not None:
        worked |= Q(pk__in=TimeEntry.objects.filter(timesheet=timesheet, kind=EntryKind.WORK).values("job_id"))
    terms = pay_terms_of_jobs(jobs=Job.objects.filter(worked).distinct(), moment=moment)
    if not terms:
        return pay_terms_default().cap_minutes
    return min(t.cap_minutes for t in terms.values())


def week_summary(*, contractor: Contractor, week_start: datetime, now: datetime) -> WeekSummary:
    """The week's logged work, cap and running timer; the cap is the one in force now, or at the
    nearest moment of the week for a past or future week."""
    timesheet = timesheet_for_week(contractor=contractor, week_start=week_start)
    moment = min(max(now, week_start), week_start + WEEK - timedelta(microseconds=1))
    return WeekSummary(
        week_start=week_start, timesheet=timesheet, work_minutes=timesheet.work_minutes if timesheet else 0,
        cap_minutes=cap_minutes_for(contractor=contractor, timesheet=timesheet, moment=moment),
        timer=RunningTimer.objects.filter(contractor=contractor).select_related("batch__job").first(),
    )


def loggable_batches(contractor: Contractor) -> QuerySet[Batch]:
    """Batches the contractor may log time on: held now, or held before and reclaimed (as the service checks)."""
    held_before = AssignmentEvent.objects.filter(contractor=contractor).values("batch_id")
    return (Batch.objects.filter(Q(assigned_to=contractor) | Q(pk__in=held_before)).select_related("job")
            .order_by("job__name", "number"))


def timer_batches(contractor: Contractor) -> QuerySet[Batch]:
    """Batches a timer can run on: the ones assigned to the contractor and not yet done."""
    return (Batch.objects.filter(assigned_to=contractor).exclude(state=BatchState.DONE).select_related("job")
            .order_by("job__name", "number"))


def statements_of(contractor: Contractor) -> QuerySet[Statement]:
    """The contractor's statements, newest week first."""
    return Statement.objects.filter(contractor=contractor).select_related("timesheet").order_by(
        "-timesheet__week_start", "-id")
