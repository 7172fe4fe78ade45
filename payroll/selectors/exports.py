"""The weekly timesheet export (CSV and XLSX) and one statement as CSV, streamed row by row.

A week is read in one server-side query whatever the number of contractors: minutes, money and
rates are grouped per timesheet, and the Label Studio evidence is a pair of correlated subqueries.
The export says what it holds: a scope block first (the week, when it was made, which timesheet
states it includes), then one row per timesheet, then one TOTAL row per state and a TOTAL of those
states, so a total never adds paid to unpaid money without saying so.
Text cells are neutralized against formula injection (OWASP "CSV injection"); numbers are left alone.
"""
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import IO

import xlsxwriter
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, FloatField, IntegerField, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from common.csv_stream import csv_lines as guarded_csv_lines
from common.csv_stream import neutralized
from common.errors import DomainError
from payroll.models import EntryKind, Statement, TimeEntry, Timesheet, TimesheetState
from payroll.selectors.amounts import amount_of, minutes_as_hmm, minutes_as_hours, money_for, seconds_as_hours
from payroll.selectors.evidence import Evidence, evidence_annotations, timesheet_flags
from payroll.selectors.timesheets import entries_of
from payroll.selectors.weeks import WEEK, week_name

Cell = str | int | Decimal | datetime | None
CHUNK = 2000
FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
S = TimesheetState
# Every state in the order money moves towards the contractor, and what its totals row calls it.
STATE_TOTALS: dict[str, str] = {
    S.PAID: "paid", S.APPROVED: "approved, not paid yet", S.SUBMITTED: "waiting for approval",
    S.REJECTED: "rejected, waiting for a correction", S.DRAFT: "draft, not submitted yet",
}


@dataclass(frozen=True)
class Column:
    """A column of the export: its CSV header, what its cells hold in a spreadsheet, its width in characters."""

    name: str
    kind: str = "text"  # a key of NUMBER_FORMATS, or text
    width: int = 12


# Excel number formats per column kind: money in cents, unrounded entry amounts in four places, moments in UTC.
NUMBER_FORMATS = {"int": "0", "hours": "0.00", "money": "0.00", "money4": "0.0000", "moment": "yyyy-mm-dd hh:mm"}
TIMESHEET_SHEET = (
    Column("contractor_id", "int", 14), Column("name", "text", 28), Column("email", "text", 30),
    Column("country", "text", 8), Column("payout_method", "text", 14), Column("payout_email", "text", 30),
    Column("iso_week", "text", 10), Column("week_start_utc", "moment", 17), Column("week_end_utc", "moment", 17),
    Column("hours", "hours", 8), Column("hours_hmm", "text", 10), Column("work_minutes", "int", 13),
    Column("adjustment_minutes", "int", 19), Column("hourly_rate", "money", 12), Column("amount", "money", 11),
    Column("currency", "text", 9), Column("timesheet_status", "text", 17), Column("annotation_count", "int", 17),
    Column("label_studio_active_hours", "hours", 25), Column("flags", "text", 36),
)
ENTRY_SHEET = (
    Column("contractor_id", "int", 14), Column("email", "text", 30), Column("entry_id", "int", 10),
    Column("kind", "text", 11), Column("job", "text", 24), Column("batch", "int", 8),
    Column("start_utc", "moment", 17), Column("end_utc", "moment", 17), Column("minutes", "int", 9),
    Column("hourly_rate", "money", 12), Column("amount", "money4", 10), Column("note", "text", 36),
    Column("corrects_week", "text", 14), Column("created_by", "text", 30),
)
TIMESHEET_COLUMNS = tuple(c.name for c in TIMESHEET_SHEET)
ENTRY_COLUMNS = tuple(c.name for c in ENTRY_SHEET)


def utc_text(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


@contextmanager
def _read_to_the_end() -> Iterator[None]:
    """A transaction in which the export's server-side cursors stream and are planned to be read in full.

    Outside a transaction Django declares them WITH HOLD, which PostgreSQL computes in full up front.
    And a cursor is planned for its first 10 % of rows (cursor_tuple_fraction): with stale statistics
    that picked a plan quadratic in the number of contractors (140 s for 10,000; bench/export_timesheets.py).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        yield


# --- what an export holds ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What one export holds: a pay week, the timesheet states it includes (in STATE_TOTALS order) and the
    moment it was made."""

    week_start: datetime
    states: tuple[str, ...]
    generated_at: datetime

    @property
    def every_state(self) -> bool:
        return len(self.states) == len(STATE_TOTALS)

    def rows(self) -> list[list[Cell]]:
        """The block an export starts with, as field, value rows."""
        return [
            ["export", "LabelCrew weekly timesheets"],
            ["iso_week", week_name(self.week_start)],
            ["week_start_utc", self.week_start],
            ["week_end_utc", self.week_start + WEEK],
            ["generated_at_utc", self.generated_at],
            ["timesheet_states", "; ".join(self.states) + (" (every state)" if self.every_state else " only")],
            ["totals", "one TOTAL row per state, then TOTAL: the sum of those states' rows"],
            ["currency", settings.PAYROLL_CURRENCY],
        ]


def export_scope(week_start: datetime, *, states: Iterable[str] | None = None,
                 now: datetime | None = None) -> Scope:
    """The scope of an export of the week: every timesheet state unless `states` names some."""
    chosen = set(states or ())
    unknown = sorted(chosen - set(STATE_TOTALS))
    if unknown:
        raise DomainError(f"states: {', '.join(unknown)} is not a timesheet state; choose from "
                          f"{', '.join(STATE_TOTALS)}.", field="states")
    return Scope(week_start, tuple(s for s in STATE_TOTALS if not chosen or s in chosen),
                 (now or timezone.now()).astimezone(UTC).replace(microsecond=0))


@dataclass
class _Sums:
    timesheets: int = 0
    work: int = 0
    adjusted: int = 0
    amount: Decimal = field(default_factory=lambda: Decimal("0.00"))
    annotations: int = 0
    seconds: float = 0.0

    def add(self, other: "_Sums") -> None:
        self.timesheets += other.timesheets
        self.work += other.work
        self.adjusted += other.adjusted
        self.amount += other.amount
        self.annotations += other.annotations
        self.seconds += other.seconds


class ExportTotals:
    """The totals of an export's timesheet rows per state, kept while the rows stream past."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.by_state = {state: _Sums() for state in scope.states}

    def count(self, state: str, *, work: int, adjusted: int, amount: Decimal, annotations: int,
              seconds: float) -> None:
        self.by_state[state].add(_Sums(1, work, adjusted, amount, annotations, seconds))

    def rows(self) -> Iterator[list[Cell]]:
        """One TOTAL row per state of the scope, zero ones too, then the TOTAL of them all, each saying what it
        sums. An amount is the sum of the timesheets' amounts, each rounded as its statement rounds it: the paid
        row is what the week's statements earned, to the cent."""
        every = _Sums()
        for state, sums in self.by_state.items():
            every.add(sums)
            yield self._row(f"TOTAL {state}", f"{STATE_TOTALS[state]}: {_timesheets(sums.timesheets)}", state, sums)
        which = "every state" if self.scope.every_state else "the states exported"
        yield self._row("TOTAL", f"{which}, {' + '.join(self.scope.states)}: {_timesheets(every.timesheets)}",
                        "; ".join(self.scope.states), every)

    def _row(self, label: str, says: str, states: str, sums: _Sums) -> list[Cell]:
        minutes = sums.work + sums.adjusted
        start = self.scope.week_start
        return [label, says, None, None, None, None, week_name(start), start, start + WEEK,
                minutes_as_hours(minutes), minutes_as_hmm(minutes), sums.work, sums.adjusted, None, sums.amount,
                settings.PAYROLL_CURRENCY, states, sums.annotations, seconds_as_hours(sums.seconds), None]


def _timesheets(n: int) -> str:
    return f"{n} timesheet{'' if n == 1 else 's'}"


# --- one row per contractor-week -----------------------------------------------------------------


def _week_timesheets(scope: Scope) -> QuerySet[Timesheet]:
    """One row per timesheet of the scope, its entries summed and its evidence counted in SQL."""
    week_start = scope.week_start
    annotations = (evidence_annotations(since=week_start, until=week_start + WEEK)
                   .filter(contractor=OuterRef("contractor_id")).order_by().values("contractor"))
    timesheets = Timesheet.objects.filter(week_start=week_start)
    if not scope.every_state:
        timesheets = timesheets.filter(state__in=scope.states)
    return (timesheets
            .values("id", "contractor_id", "state", "contractor__legal_name", "contractor__display_name",
                    "contractor__user__email", "contractor__country", "contractor__payout_method",
                    "contractor__payout_email")
            .annotate(work=Sum("entries__minutes", filter=Q(entries__kind=EntryKind.WORK), default=0),
                      adjusted=Sum("entries__minutes", filter=Q(entries__kind=EntryKind.ADJUSTMENT), default=0),
                      # minutes x rate is exact in SQL numeric; it is divided by 60 and rounded once, as a
                      # statement does (payroll.selectors.timesheets.totals_by_timesheet).
                      money=Sum(F("entries__minutes") * F("entries__hourly_rate"),
                                output_field=DecimalField(max_digits=20, decimal_places=2), default=Decimal(0)),
                      rates=Count("entries__hourly_rate", distinct=True),
                      rate=Min("entries__hourly_rate"),
                      annotation_count=Coalesce(Subquery(annotations.annotate(n=Count("id")).values("n"),
                                                         output_field=IntegerField()), 0),
                      active_seconds=Coalesce(Subquery(annotations.annotate(s=Sum("lead_time")).values("s"),
                                                       output_field=FloatField()), 0.0))
            .order_by("contractor_id"))


RATE_CENTS = Decimal("0.01")  # payroll.models.TimeEntry.hourly_rate has decimal_places=2


def timesheet_rows(scope: Scope, totals: ExportTotals) -> Iterator[list[Cell]]:
    """Every timesheet of the scope in contractor order, in TIMESHEET_COLUMNS order, counted into `totals`.

    Week bounds are datetimes (a moment cell in a spreadsheet, UTC text in CSV); hours and money are Decimals.
    """
    start, end = scope.week_start, scope.week_start + WEEK
    week, currency = week_name(start), settings.PAYROLL_CURRENCY
    for r in _week_timesheets(scope).iterator(chunk_size=CHUNK):
        minutes = r["work"] + r["adjusted"]
        amount = amount_of(r["money"])
        evidence = Evidence(r["annotation_count"], r["active_seconds"])
        # Min() of a rate comes back from SQLite as Decimal("2") (Django quantizes only plain columns there), so the
        # cell is put back to the rate column's cents: the same "2.00" on PostgreSQL and on the embedded SQLite.
        rate: Cell = r["rate"].quantize(RATE_CENTS) if r["rates"] == 1 else ("mixed" if r["rates"] else None)
        yield [
            r["contractor_id"], r["contractor__legal_name"] or r["contractor__display_name"],
            r["contractor__user__email"], r["contractor__country"], r["contractor__payout_method"],
            r["contractor__payout_email"], week, start, end, minutes_as_hours(minutes), minutes_as_hmm(minutes),
            r["work"], r["adjusted"], rate, amount, currency, r["state"], r["annotation_count"],
            seconds_as_hours(r["active_seconds"]), "; ".join(timesheet_flags(minutes=r["work"], evidence=evidence)),
        ]
        totals.count(r["state"], work=r["work"], adjusted=r["adjusted"], amount=amount,
                     annotations=r["annotation_count"], seconds=r["active_seconds"])


def _csv_cells(row: list[Cell]) -> list[Cell]:
    return [utc_text(value) if isinstance(value, datetime) else value for value in row]


def csv_lines(week_start: datetime, *, bom: bool = False, states: Iterable[str] | None = None,
              now: datetime | None = None) -> Iterator[str]:
    """The week's export as CSV lines (UTF-8 text; with bom, a byte order mark first so Excel reads UTF-8): the
    scope block, an empty line, the column header, a line per timesheet, the totals lines.

    A bad `states` is refused here, before the first line is streamed."""
    scope = export_scope(week_start, states=states, now=now)
    return _csv_lines(scope, bom=bom)


def _csv_lines(scope: Scope, *, bom: bool) -> Iterator[str]:
    lines = guarded_csv_lines(_csv_cells(row) for row in [*scope.rows(), [], list(TIMESHEET_COLUMNS)])
    yield ("\ufeff" if bom else "") + next(lines)
    yield from lines
    totals = ExportTotals(scope)
    with _read_to_the_end():
        yield from guarded_csv_lines(_csv_cells(row) for row in timesheet_rows(scope, totals))
    yield from guarded_csv_lines(_csv_cells(row) for row in totals.rows())


# --- every entry of the week ---------------------------------------------------------------------


def entry_rows(scope: Scope) -> Iterator[list[Cell]]:
    """Every time entry of the scope's timesheets, by contractor then start, in ENTRY_COLUMNS order."""
    entries = TimeEntry.objects.filter(timesheet__week_start=scope.week_start)
    if not scope.every_state:
        entries = entries.filter(timesheet__state__in=scope.states)
    entries = (entries.order_by("contractor_id", "start", "id")
               .values_list("contractor_id", "contractor__user__email", "id", "kind", "job__name", "batch__number",
                            "start", "end", "minutes", "hourly_rate", "note", "corrects_week", "created_by__email"))
    for (contractor_id, email, pk, kind, job, batch, start, end, minutes, rate, note, corrects,
         author) in entries.iterator(chunk_size=CHUNK):
        amount = money_for(minutes, rate).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        yield [contractor_id, email, pk, kind, job, batch, start, end, minutes, rate, amount,
               note, week_name(corrects) if corrects else "", author]


# --- XLSX ----------------------------------------------------------------------------------------

# XlsxWriter's constant-memory mode streams each row to a temporary file as it is written and puts text inline,
# so memory stays flat however many rows. Each column carries its number format (set_column), which Excel applies
# to the column's cells written without a format of their own, so rows go in with write_row as plain values.
# Text is never read as a formula, URL or number (the options below, and neutralized); moments are UTC and go in
# without their zone; control characters are written as OOXML escapes (_x0001_), which Excel reads back.
# bench/export_timesheets.py at 10,000 contractors, best of 3, same run (CSV 0.58 s): XlsxWriter 1.39 s (2.4x the
# CSV) against openpyxl's write-only mode, tuned (one style per column kind copied onto each typed cell), 1.82 s
# (3.1x); with the entries sheet (ten times the rows) 7.61 s against 11.51 s, and less memory growth (6.9 against
# 10.2 MiB). An earlier session on another, loaded machine had measured openpyxl the faster on the first sheet
# (4.26 against 6.28 s), which two runs here do not bear out; the bench keeps measuring both.
XLSX_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                "strings_to_numbers": False, "remove_timezone": True}


class _Book:
    """A workbook and its formats, one per column kind, plain and bold (headers, scope names and totals)."""

    def __init__(self, fileobj: IO[bytes] | str) -> None:
        self.book = xlsxwriter.Workbook(fileobj, XLSX_OPTIONS)
        number = NUMBER_FORMATS.items()
        self.plain: dict[str, Format | None] = {kind: self.book.add_format({"num_format": f}) for kind, f in number}
        self.plain["text"] = None  # text cells take no format
        self.bold = {kind: self.book.add_format({"bold": True, "num_format": f}) for kind, f in number}
        self.bold["text"] = self.book.add_format({"bold": True})

    def sheet(self, title: str, columns: tuple[Column, ...]) -> Worksheet:
        """A sheet with its columns' widths and number formats."""
        sheet = self.book.add_worksheet(title)
        for i, column in enumerate(columns):
            sheet.set_column(i, i, column.width, self.plain[column.kind])
        return sheet

    def table(self, sheet: Worksheet, top: int, columns: tuple[Column, ...], rows: Iterable[list[Cell]]) -> int:
        """The bold header at 0-based row `top` (frozen above the rows), the rows streamed below it as plain values
        in their column's format, an autofilter over them; the next free row."""
        sheet.write_row(top, 0, [c.name for c in columns], self.bold["text"])
        sheet.freeze_panes(top + 1, 0)
        last = top
        for last, values in enumerate(rows, start=top + 1):
            sheet.write_row(last, 0, neutralized(values))
        sheet.autofilter(top, 0, last, len(columns) - 1)
        return last + 1


def xlsx_write(week_start: datetime, fileobj: IO[bytes] | str, *, states: Iterable[str] | None = None,
               now: datetime | None = None, entries: bool = False) -> None:
    """The week's export as an XLSX workbook: sheet "Timesheets" as the CSV (scope, rows, totals) with typed
    cells, column widths, a frozen header and an autofilter; with `entries`, sheet "Entries" with every time entry
    of them. A bad `states` is refused before anything is written."""
    scope = export_scope(week_start, states=states, now=now)
    book = _Book(fileobj)
    sheet = book.sheet("Timesheets", TIMESHEET_SHEET)
    for row, (name, value) in enumerate(scope.rows()):
        sheet.write_string(row, 0, name, book.bold["text"])
        sheet.write(row, 1, value, book.plain["moment" if isinstance(value, datetime) else "text"])
    totals = ExportTotals(scope)
    with _read_to_the_end():
        below = book.table(sheet, len(scope.rows()) + 1, TIMESHEET_SHEET, timesheet_rows(scope, totals))
        for row, cells in enumerate(totals.rows(), start=below):
            for col, (column, value) in enumerate(zip(TIMESHEET_SHEET, cells, strict=True)):
                if value is not None:
                    sheet.write(row, col, value, book.bold[column.kind])
        if entries:
            book.table(book.sheet("Entries", ENTRY_SHEET), 0, ENTRY_SHEET, entry_rows(scope))
    book.book.close()


# --- one statement -------------------------------------------------------------------------------


def statement_csv_lines(statement: Statement) -> Iterator[str]:
    """One statement as CSV: what it pays and why (a field, value block), then every entry of its week."""
    contractor = statement.contractor
    entries = list(entries_of(statement.timesheet))
    rates = "; ".join(str(rate) for rate in sorted({e.hourly_rate for e in entries}))
    yield from guarded_csv_lines([
        ["field", "value"],
        ["contractor", contractor.legal_name or contractor.display_name],
        ["contractor_id", contractor.pk],
        ["email", contractor.user.email],
        ["iso_week", week_name(statement.timesheet.week_start)],
        ["week_start_utc", utc_text(statement.timesheet.week_start)],
        ["hourly_rates", rates],
        ["hours", minutes_as_hours(statement.minutes)],
        ["hours_hmm", minutes_as_hmm(statement.minutes)],
        ["earned", statement.earned],
        ["carried_in", statement.carried_in],
        ["payable", statement.payable],
        ["carried_out", statement.carried_out],
        ["currency", statement.currency],
        ["payout_method", statement.payout_method],
        ["payout_email", statement.payout_email],
        [],
        ["entry_id", "kind", "job", "batch", "start_utc", "end_utc", "minutes", "hourly_rate", "amount", "note",
         "corrects_week"],
    ])
    yield from guarded_csv_lines(
        [e.pk, e.kind, e.job.name, e.batch.number if e.batch else None, utc_text(e.start), utc_text(e.end),
         e.minutes, e.hourly_rate, money_for(e.minutes, e.hourly_rate).quantize(Decimal("0.0001"),
                                                                                 rounding=ROUND_HALF_UP),
         e.note, week_name(e.corrects_week) if e.corrects_week else ""]
        for e in entries)
