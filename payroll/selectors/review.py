"""The reviewer's week: timesheets with their hours, pay, Label Studio evidence and flags; a week's pay runs.

Shared by the staff console, the staff API and bulk approval (which approves only clean rows); every read costs
the same few queries for any number of contractors.
"""
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, NullIf

from payroll.models import PayRun, Statement, TimeEntry, Timesheet, TimesheetState
from payroll.selectors.amounts import amount_of, minutes_as_hmm, minutes_as_hours
from payroll.selectors.evidence import (
    Evidence,
    evidence_annotations,
    evidence_by_contractor,
    timesheet_flag,
    timesheet_flags,
)
from payroll.selectors.timesheets import WeekTotals, totals_by_timesheet
from payroll.selectors.weeks import WEEK


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


def timesheet_rows(timesheets: list[Timesheet], *, week_start: datetime,
                   evidence: dict[int, Evidence] | None = None) -> list[TimesheetRow]:
    """The timesheets as a reviewer sees them; `evidence`, when the caller has read the week's (of every
    contractor, evidence_by_contractor(None)), is not read again."""
    ids = [t.pk for t in timesheets]
    totals = totals_by_timesheet(ids)
    rates = rates_by_timesheet(ids)
    if evidence is None:
        evidence = evidence_by_contractor([t.contractor_id for t in timesheets], week_start=week_start)
    rows = []
    for t in timesheets:
        found = evidence.get(t.contractor_id, Evidence(0, 0.0))
        rows.append(TimesheetRow(t, totals[t.pk], rates[t.pk], found,
                                 timesheet_flags(minutes=t.work_minutes, evidence=found)))
    return rows


# The week page's orders, by the name in its query string; "-" first is descending. Every one ends with the
# contractor, so a page is stable from one request to the next. CONTRACTOR_ORDER, the contractor's id alone, is
# the staff API's order (and the export's).
SORTS = ("name", "-name", "hours", "-hours", "amount", "-amount", "state", "-state")
CONTRACTOR_ORDER = "contractor"
# States in the order a week moves through them.
STATE_ORDER = (TimesheetState.DRAFT, TimesheetState.SUBMITTED, TimesheetState.REJECTED, TimesheetState.APPROVED,
               TimesheetState.PAID)
_MONEY = DecimalField(max_digits=20, decimal_places=2)


def _entries_sum(expression: F | ExpressionWrapper, output: IntegerField | DecimalField) -> Coalesce:
    """A timesheet's entries summed in a correlated subquery: one row per timesheet, no join to multiply."""
    entries = TimeEntry.objects.filter(timesheet=OuterRef("pk")).order_by().values("timesheet")
    return Coalesce(Subquery(entries.annotate(total=Sum(expression, output_field=output)).values("total"),
                             output_field=output), Value(0), output_field=output)


def _with_sums(timesheets: QuerySet[Timesheet]) -> QuerySet[Timesheet]:
    """Alias each timesheet's minutes (work and adjustments) and minutes x rate, exact (a statement divides by 60
    and rounds once)."""
    return timesheets.alias(minutes_total=_entries_sum(F("minutes"), IntegerField()),
                            minutes_x_rate=_entries_sum(F("minutes") * F("hourly_rate"), _MONEY))


# The rule of evidence.timesheet_flags in SQL, over _with_evidence's aliases: work logged with no annotation, or
# more than the flag factor times Label Studio's active time. (Rows show the flags timesheet_flags computes.)
FLAGGED = Q(work_minutes__gt=0) & (Q(evidence_n=0) | Q(evidence_excess__gt=0))


def _with_evidence(timesheets: QuerySet[Timesheet], week_start: datetime) -> QuerySet[Timesheet]:
    evidence = (evidence_annotations(since=week_start, until=week_start + WEEK)
                .filter(contractor=OuterRef("contractor_id")).order_by().values("contractor"))
    seconds = Coalesce(Subquery(evidence.annotate(s=Sum("lead_time")).values("s"), output_field=FloatField()),
                       Value(0.0))
    return timesheets.alias(
        evidence_n=Coalesce(Subquery(evidence.annotate(n=Count("id")).values("n"), output_field=IntegerField()),
                            Value(0)),
        evidence_excess=ExpressionWrapper(F("work_minutes") * 60.0 - float(settings.PAYROLL_FLAG_FACTOR) * seconds,
                                          output_field=FloatField()))


def week_timesheets(*, week_start: datetime, state: str | None = None, flagged: bool | None = None,
                    search: str = "", sort: str = "name") -> QuerySet[Timesheet]:
    """The week's timesheets with their contractors, filtered and ordered in SQL for paging: of one state, only
    the flagged (True) or only the clean (False) ones, those whose contractor's email or name holds `search`,
    in a SORTS order or CONTRACTOR_ORDER (an unknown one is the name order)."""
    timesheets = Timesheet.objects.filter(week_start=week_start).select_related("contractor__user")
    if state:
        timesheets = timesheets.filter(state=state)
    if search:
        timesheets = timesheets.filter(Q(contractor__user__email__icontains=search)
                                       | Q(contractor__display_name__icontains=search)
                                       | Q(contractor__legal_name__icontains=search))
    if flagged is not None:
        timesheets = _with_evidence(timesheets, week_start).filter(FLAGGED if flagged else ~FLAGGED)
    if sort == CONTRACTOR_ORDER:
        return timesheets.order_by("contractor_id")
    key = sort.lstrip("-") if sort in SORTS else "name"
    if key in ("hours", "amount"):
        timesheets = _with_sums(timesheets)
    order = {
        "name": Lower(Coalesce(NullIf("contractor__display_name", Value("")),
                               NullIf("contractor__legal_name", Value("")), "contractor__user__email")),
        "hours": F("minutes_total"), "amount": F("minutes_x_rate"),
        "state": Case(*(When(state=s, then=Value(i)) for i, s in enumerate(STATE_ORDER)), output_field=IntegerField()),
    }[key]
    descending = sort in SORTS and sort.startswith("-")
    return timesheets.order_by(order.desc() if descending else order.asc(), "contractor_id")


def approvable_in_bulk(*, week_start: datetime, state: str | None = None, flagged_only: bool = False,
                       search: str = "") -> QuerySet[Timesheet]:
    """Of the timesheets a week page's filter shows, those bulk approval approves: submitted and not flagged."""
    if (state and state != TimesheetState.SUBMITTED) or flagged_only:
        return Timesheet.objects.none()
    return week_timesheets(week_start=week_start, state=TimesheetState.SUBMITTED, flagged=False, search=search)


def approvable_count(*, week_start: datetime, state: str | None = None, flagged_only: bool = False,
                     search: str = "", evidence: dict[int, Evidence] | None = None) -> int:
    """How many timesheets approvable_in_bulk holds, for the week page's select-all: the submitted ones the filter
    matches (one query) that timesheet_flag (timesheet_flags' rule, without the message) finds clean against the
    week's evidence of every contractor (one grouped query over the week's annotations), instead of two correlated
    subqueries per timesheet. Bulk approval itself runs approvable_in_bulk's SQL and refuses when the count it
    finds differs from the one shown. `evidence`: the week's of every contractor, when the caller has read it."""
    if (state and state != TimesheetState.SUBMITTED) or flagged_only:
        return 0
    submitted = (week_timesheets(week_start=week_start, state=TimesheetState.SUBMITTED, search=search)
                 .order_by().values_list("contractor_id", "work_minutes"))
    if evidence is None:
        evidence = evidence_by_contractor(None, week_start=week_start)
    factor = settings.PAYROLL_FLAG_FACTOR
    return sum(1 for contractor_id, minutes in submitted
               if not timesheet_flag(minutes=minutes, evidence=evidence.get(contractor_id), factor=factor))


@dataclass(frozen=True)
class StateTotal:
    """A week's timesheets in one state: how many, their minutes and their amounts (each rounded as its
    statement rounds it, then added)."""

    state: str
    label: str
    timesheets: int
    minutes: int
    amount: Decimal

    @property
    def hours(self) -> Decimal:
        return minutes_as_hours(self.minutes)

    @property
    def hmm(self) -> str:
        return minutes_as_hmm(self.minutes)


def state_totals(*, week_start: datetime) -> list[StateTotal]:
    """Every state's total for the week, zero ones too, in STATE_ORDER, in two queries: the timesheets per state,
    and each timesheet's minutes and minutes x rate from one grouped pass over the week's entries, each amount
    rounded as its statement rounds it (amount_of) before the state's are added."""
    counts = state_counts(week_start=week_start)
    minutes: dict[str, int] = defaultdict(int)
    amounts: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    per_timesheet = (TimeEntry.objects.filter(timesheet__week_start=week_start)
                     .values("timesheet_id", "timesheet__state").order_by()
                     .annotate(sum_minutes=Sum("minutes"),
                               sum_x_rate=Sum(F("minutes") * F("hourly_rate"), output_field=_MONEY)))
    for row in per_timesheet:
        minutes[row["timesheet__state"]] += row["sum_minutes"]
        amounts[row["timesheet__state"]] += amount_of(row["sum_x_rate"])
    labels = dict(TimesheetState.choices)
    return [StateTotal(s, labels[s], counts[s], minutes[s], amounts[s]) for s in STATE_ORDER]


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
    count: int  # its statements; pay_run_statements reads them, to be paged
    by_method: list[PayoutTotal]
    earned: Decimal
    carried_in: Decimal
    payable: Decimal
    carried_out: Decimal


def pay_run_statements(run: PayRun, *, search: str = "") -> QuerySet[Statement]:
    """A pay run's statements in contractor order, those whose contractor's names or email hold `search` when
    given, with what a row shows joined."""
    statements = run.statements.select_related("contractor__user", "timesheet").order_by("contractor_id", "id")
    if search:
        statements = statements.filter(Q(contractor__display_name__icontains=search)
                                       | Q(contractor__legal_name__icontains=search)
                                       | Q(contractor__user__email__icontains=search))
    return statements


def pay_run_summary(run: PayRun) -> PayRunSummary:
    """A pay run with what it pays per payout method and overall: sums of the cents on its statements, in SQL, so
    a payout file's total matches them exactly and a run of any size costs two queries (its statements themselves
    come from pay_run_statements, a page at a time)."""
    zero = Value(Decimal(0), output_field=DecimalField(max_digits=12, decimal_places=2))
    by_method = list(run.statements.order_by("payout_method").values("payout_method")
                     .annotate(n=Count("id"), total=Coalesce(Sum("payable"), zero)))
    overall = run.statements.order_by().aggregate(**{
        name: Coalesce(Sum(name), zero) for name in ("earned", "carried_in", "payable", "carried_out")})
    return PayRunSummary(
        run, sum(m["n"] for m in by_method),
        [PayoutTotal(m["payout_method"] or "none", m["n"], m["total"]) for m in by_method], **overall)
