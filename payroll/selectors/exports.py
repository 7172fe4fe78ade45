"""The weekly timesheet export (CSV and XLSX) and one statement as CSV, streamed row by row.

A week is read in one server-side query whatever the number of contractors: minutes, money and
rates are grouped per timesheet, and the Label Studio evidence is a pair of correlated subqueries.
Text cells are neutralized against formula injection (OWASP "CSV injection"); numbers are left alone.
"""
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, FloatField, IntegerField, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from common.csv_stream import csv_lines as guarded_csv_lines
from common.csv_stream import neutralized
from payroll.models import EntryKind, Statement, TimeEntry, Timesheet
from payroll.selectors.amounts import amount_of, minutes_as_hmm, minutes_as_hours, money_for, seconds_as_hours
from payroll.selectors.evidence import Evidence, evidence_annotations, timesheet_flags
from payroll.selectors.timesheets import entries_of
from payroll.selectors.weeks import WEEK, week_name

Cell = str | int | Decimal | None
CHUNK = 2000
FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIMESHEET_COLUMNS = (
    "contractor_id", "name", "email", "country", "payout_method", "payout_email", "iso_week", "week_start_utc",
    "week_end_utc", "hours", "hours_hmm", "work_minutes", "adjustment_minutes", "hourly_rate", "amount", "currency",
    "timesheet_status", "annotation_count", "label_studio_active_hours", "flags",
)
ENTRY_COLUMNS = (
    "contractor_id", "email", "entry_id", "kind", "job", "batch", "start_utc", "end_utc", "minutes", "hourly_rate",
    "amount", "note", "corrects_week", "created_by",
)


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


# --- one row per contractor-week -----------------------------------------------------------------


def _week_timesheets(week_start: datetime) -> QuerySet[Timesheet]:
    """One row per timesheet of the week, its entries summed and its evidence counted in SQL."""
    annotations = (evidence_annotations(since=week_start, until=week_start + WEEK)
                   .filter(contractor=OuterRef("contractor_id")).order_by().values("contractor"))
    return (Timesheet.objects.filter(week_start=week_start)
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


def timesheet_rows(week_start: datetime) -> Iterator[list[Cell]]:
    """Every timesheet of the week (any state) in contractor order, then the totals row, in TIMESHEET_COLUMNS order.

    The totals row sums minutes (its hours are those of the summed minutes) and the per-timesheet
    amounts, each rounded as its statement rounds it: once the week is paid, it is the sum of the
    statements' earned to the cent.
    """
    week, start, end = week_name(week_start), utc_text(week_start), utc_text(week_start + WEEK)
    currency = settings.PAYROLL_CURRENCY
    work_total = adjusted_total = annotations_total = 0
    amount_total, seconds_total = Decimal("0.00"), 0.0
    for r in _week_timesheets(week_start).iterator(chunk_size=CHUNK):
        minutes = r["work"] + r["adjusted"]
        amount = amount_of(r["money"])
        evidence = Evidence(r["annotation_count"], r["active_seconds"])
        rate: Cell = r["rate"] if r["rates"] == 1 else ("mixed" if r["rates"] else None)
        yield [
            r["contractor_id"], r["contractor__legal_name"] or r["contractor__display_name"],
            r["contractor__user__email"], r["contractor__country"], r["contractor__payout_method"],
            r["contractor__payout_email"], week, start, end, minutes_as_hours(minutes), minutes_as_hmm(minutes),
            r["work"], r["adjusted"], rate, amount, currency, r["state"], r["annotation_count"],
            seconds_as_hours(r["active_seconds"]), "; ".join(timesheet_flags(minutes=r["work"], evidence=evidence)),
        ]
        work_total += r["work"]
        adjusted_total += r["adjusted"]
        annotations_total += r["annotation_count"]
        amount_total += amount
        seconds_total += r["active_seconds"]
    minutes = work_total + adjusted_total
    yield ["TOTAL", None, None, None, None, None, week, start, end, minutes_as_hours(minutes),
           minutes_as_hmm(minutes), work_total, adjusted_total, None, amount_total, currency, None,
           annotations_total, seconds_as_hours(seconds_total), None]


def csv_lines(week_start: datetime, *, bom: bool = False) -> Iterator[str]:
    """The week's export as CSV lines (UTF-8 text; with bom, a byte order mark first so Excel reads UTF-8)."""
    header = next(guarded_csv_lines([TIMESHEET_COLUMNS]))
    yield ("\ufeff" if bom else "") + header
    with _read_to_the_end():
        yield from guarded_csv_lines(timesheet_rows(week_start))


# --- every entry of the week ---------------------------------------------------------------------


def entry_rows(week_start: datetime) -> Iterator[list[Cell]]:
    """Every time entry of the week's timesheets, by contractor then start, in ENTRY_COLUMNS order."""
    entries = (TimeEntry.objects.filter(timesheet__week_start=week_start).order_by("contractor_id", "start", "id")
               .values_list("contractor_id", "contractor__user__email", "id", "kind", "job__name", "batch__number",
                            "start", "end", "minutes", "hourly_rate", "note", "corrects_week", "created_by__email"))
    for (contractor_id, email, pk, kind, job, batch, start, end, minutes, rate, note, corrects,
         author) in entries.iterator(chunk_size=CHUNK):
        amount = money_for(minutes, rate).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        yield [contractor_id, email, pk, kind, job, batch, utc_text(start), utc_text(end), minutes, rate, amount,
               note, week_name(corrects) if corrects else "", author]


def _xlsx_row(sheet: WriteOnlyWorksheet, row: Iterable[Cell]) -> list[Any]:
    """Numbers as numbers (Decimals keep their places as the cell format); text neutralized and XML-safe."""
    cells: list[Any] = []
    for value in neutralized(row):
        if isinstance(value, Decimal):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = "0." + "0" * max(-int(value.as_tuple().exponent), 1)
            cells.append(cell)
        elif isinstance(value, str):
            cells.append(ILLEGAL_CHARACTERS_RE.sub("", value))
        else:
            cells.append(value)
    return cells


def xlsx_write(week_start: datetime, fileobj: IO[bytes] | str) -> None:
    """The week's export as an XLSX workbook: sheet "Timesheets" (as the CSV) and sheet "Entries".

    openpyxl's write-only mode streams each sheet to a temporary file, so memory stays flat.
    """
    book = Workbook(write_only=True)
    with _read_to_the_end():
        for title, columns, rows in (("Timesheets", TIMESHEET_COLUMNS, timesheet_rows(week_start)),
                                     ("Entries", ENTRY_COLUMNS, entry_rows(week_start))):
            sheet = book.create_sheet(title)
            sheet.freeze_panes = "A2"
            sheet.append(list(columns))
            for row in rows:
                sheet.append(_xlsx_row(sheet, row))
    book.save(fileobj)


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
