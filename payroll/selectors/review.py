"""The reviewer's week: timesheets with their hours, pay, Label Studio evidence and flags; a week's pay runs.

Shared by the staff console, the staff API and bulk approval (which approves only clean rows); every read costs
the same few queries for any number of contractors.
"""
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from payroll.models import PayRun, Statement, TimeEntry, Timesheet, TimesheetState
from payroll.selectors.amounts import minutes_as_hmm, minutes_as_hours
from payroll.selectors.evidence import Evidence, evidence_by_contractor, timesheet_flags
from payroll.selectors.timesheets import WeekTotals, timesheets_of_week, totals_by_timesheet


@dataclass(frozen=True)
class TimesheetRow:
    """One contractor-week as a reviewer sees it."""

    timesheet: Timesheet
    totals: WeekTotals
    rates: list[Decimal]
    evidence: Evidence
    flags: list[str]

    @property
    def hours(self) -> Decimal:
        return minutes_as_hours(self.totals.minutes)

    @property
    def hmm(self) -> str:
        return minutes_as_hmm(self.totals.minutes)

    @property
    def active_hours(self) -> Decimal:
        return self.evidence.active_hours

    @property
    def approvable_in_bulk(self) -> bool:
        """Only clean, submitted weeks are approved in bulk; a flagged one is looked at on its own."""
        return self.timesheet.state == TimesheetState.SUBMITTED and not self.flags


def rates_by_timesheet(timesheet_ids: Iterable[int]) -> dict[int, list[Decimal]]:
    """The distinct hourly rates each timesheet's entries were paid at (more than one after a change)."""
    ids = list(timesheet_ids)
    rates: dict[int, list[Decimal]] = {i: [] for i in ids}
    rows = (TimeEntry.objects.filter(timesheet_id__in=ids).values_list("timesheet_id", "hourly_rate")
            .distinct().order_by("timesheet_id", "hourly_rate"))
    for timesheet_id, rate in rows:
        rates[timesheet_id].append(rate)
    return rates


def timesheet_rows(timesheets: list[Timesheet], *, week_start: datetime) -> list[TimesheetRow]:
    ids = [t.pk for t in timesheets]
    totals = totals_by_timesheet(ids)
    rates = rates_by_timesheet(ids)
    evidence = evidence_by_contractor([t.contractor_id for t in timesheets], week_start=week_start)
    rows = []
    for t in timesheets:
        found = evidence.get(t.contractor_id, Evidence(0, 0.0))
        rows.append(TimesheetRow(t, totals[t.pk], rates[t.pk], found,
                                 timesheet_flags(minutes=t.work_minutes, evidence=found)))
    return rows


def week_rows(*, week_start: datetime, state: str | None = None, flagged_only: bool = False) -> list[TimesheetRow]:
    """The week's timesheets in contractor order, optionally of one state or only the flagged ones."""
    rows = timesheet_rows(list(timesheets_of_week(week_start=week_start, state=state)), week_start=week_start)
    return [r for r in rows if r.flags] if flagged_only else rows


def timesheet_row(timesheet: Timesheet) -> TimesheetRow:
    return timesheet_rows([timesheet], week_start=timesheet.week_start)[0]


def state_counts(*, week_start: datetime) -> dict[str, int]:
    """How many of the week's timesheets are in each state (every state listed, zero included)."""
    counts = dict.fromkeys(TimesheetState.values, 0)
    counts.update(Timesheet.objects.filter(week_start=week_start).values_list("state")
                  .annotate(n=Count("id")).order_by())
    return counts


def pay_runs_of_week(*, week_start: datetime) -> QuerySet[PayRun]:
    return (PayRun.objects.filter(week_start=week_start).select_related("created_by")
            .annotate(n_statements=Count("statements"), total_payable=Sum("statements__payable", default=0)))


@dataclass(frozen=True)
class PayoutTotal:
    method: str
    statements: int
    payable: Decimal


@dataclass(frozen=True)
class PayRunSummary:
    run: PayRun
    statements: list[Statement]
    by_method: list[PayoutTotal]
    earned: Decimal
    carried_in: Decimal
    payable: Decimal
    carried_out: Decimal


def pay_run_summary(run: PayRun) -> PayRunSummary:
    """A pay run's statements with what it pays per payout method and overall (sums of the cents on the
    statements, so a payout file's total matches them exactly)."""
    statements = list(run.statements.select_related("contractor__user", "timesheet").order_by("contractor_id", "id"))
    counts: dict[str, int] = defaultdict(int)
    payable: dict[str, Decimal] = defaultdict(Decimal)
    for s in statements:
        counts[s.payout_method] += 1
        payable[s.payout_method] += s.payable
    return PayRunSummary(
        run, statements, [PayoutTotal(m or "none", counts[m], payable[m]) for m in sorted(counts)],
        earned=sum((s.earned for s in statements), Decimal(0)),
        carried_in=sum((s.carried_in for s in statements), Decimal(0)),
        payable=sum((s.payable for s in statements), Decimal(0)),
        carried_out=sum((s.carried_out for s in statements), Decimal(0)),
    )
