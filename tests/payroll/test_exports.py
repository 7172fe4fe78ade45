"""The weekly timesheet export (CSV, XLSX), a statement as CSV, and manage.py export_timesheets."""
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl.utils.escape import unescape

from annotations.models import Annotation, Batch, BatchTask, Task
from common.csv_stream import cell_text
from common.errors import DomainError
from payroll.models import Statement, TimeEntry, Timesheet, TimesheetState
from payroll.selectors import exports
from payroll.selectors.timesheets import totals_by_timesheet
from payroll.services.entries import adjustment_create, time_entry_create
from payroll.services.payruns import pay_run_execute
from payroll.services.terms import pay_terms_change
from payroll.services.timesheets import timesheet_decide, timesheet_submit
from tests.export_tables import split
from tests.factories import batch_assigned, contractor_in_state, job_plain
from tests.payroll.conftest import NOW, W48, W48_ENDED, at
from workforce.models import Contractor, OnboardingState, User

pytestmark = pytest.mark.django_db

WEEK_START, WEEK_END = "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"


def log(contractor: Contractor, batch: Batch, start: datetime, end: datetime, note: str = "",
        now: datetime = NOW) -> list[TimeEntry]:
    return time_entry_create(contractor=contractor, batch=batch, start=start, end=end, actor=contractor.user,
                             note=note, now=now)


def annotate(contractor: Contractor, batch: Batch, *, count: int, lead_time: float, when: datetime) -> None:
    """Synced Label Studio annotations of the contractor on the batch, as evidence for the week."""
    start = Annotation.objects.count()
    for n in range(count):
        task = Task.objects.create(job=batch.job, key=f"photo-{start + n}", image_path="x.jpg",
                                   image_sha256=f"{start + n:064x}", width=10, height=10)
        Annotation.objects.create(ls_annotation_id=1000 + start + n, contractor=contractor, lead_time=lead_time,
                                  batch_task=BatchTask.objects.create(batch=batch, task=task), ls_created_at=when)


@pytest.fixture
def week(staff: User) -> tuple[Contractor, Contractor]:
    """W48 of two contractors: Ana at two rates plus a staff adjustment, with Label Studio evidence;
    王小明 paid by Wise, seven entries of 17 minutes at one rate and no annotation."""
    ana = contractor_in_state(OnboardingState.ACTIVE)
    batch = batch_assigned(ana)
    log(ana, batch, at(23, 9), at(23, 10), now=at(23, 10))  # 60 min at 2.00
    pay_terms_change(job=batch.job, effective_from=at(24, 0), hourly_rate=Decimal("2.50"),
                     weekly_cap_hours=Decimal("20"), reason="client raised the budget", actor=staff, now=at(23, 10))
    log(ana, batch, at(24, 9), at(24, 9, 17))  # 17 min at 2.50
    adjustment_create(contractor=ana, job=batch.job, minutes=30, reason="forgot Sunday", actor=staff,
                      corrects_week=at(16, 0), now=NOW)  # at W47's rate, 2.00
    annotate(ana, batch, count=3, lead_time=600.0, when=at(24, 9, 10))
    annotate(ana, batch, count=2, lead_time=600.0, when=at(30, 9))  # the next week: not evidence for W48
    wang = contractor_in_state(OnboardingState.ACTIVE, legal_name="王小明", display_name="Xiaoming", country="CN",
                               payout_method="wise", payout_email="xiaoming@example.com")
    wang_batch = batch_assigned(wang)
    for day in range(7):
        log(wang, wang_batch, at(23 + day // 3, 9 + day % 3), at(23 + day // 3, 9 + day % 3, 17))
    return ana, wang


def read_csv(lines: list[str]) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


def csv_table(**kwargs: object) -> tuple[dict, list, list, dict]:
    return split(read_csv(list(exports.csv_lines(W48, **kwargs))))


def test_csv_has_one_row_per_contractor_week_and_a_totals_row(week: tuple[Contractor, Contractor]) -> None:
    ana, wang = week
    _, header, rows, totals = csv_table()
    assert header == list(exports.TIMESHEET_COLUMNS)
    assert rows[0] == [
        str(ana.pk), "Ana Lúcia Souza", ana.user.email, "BR", "paypal", ana.payout_email, "2026-W48",
        WEEK_START, WEEK_END, "1.78", "1:47", "77", "30", "mixed", "3.71", "USD", "draft", "3", "0.50",
        "logged more than 1.5x Label Studio time",
    ]  # (60 x 2.00 + 17 x 2.50 + 30 x 2.00) / 60 = 3.7083
    assert rows[1] == [
        str(wang.pk), "王小明", wang.user.email, "CN", "wise", "xiaoming@example.com", "2026-W48", WEEK_START,
        WEEK_END, "1.98", "1:59", "119", "0", "2.00", "3.97", "USD", "draft", "0", "0.00", "no annotations",
    ]  # 7 x 17 min = 119 min at 2.00 = 3.9667
    assert totals["TOTAL draft"] == ["TOTAL draft", "draft, not submitted yet: 2 timesheets", "", "", "", "",
                                     "2026-W48", WEEK_START, WEEK_END, "3.77", "3:46", "196", "30", "", "7.68", "USD",
                                     "draft", "3", "0.50", ""]
    assert totals["TOTAL"][1:] == [
        "every state, paid + approved + submitted + rejected + draft: 2 timesheets", "", "", "", "", "2026-W48",
        WEEK_START, WEEK_END, "3.77", "3:46", "196", "30", "", "7.68", "USD",
        "paid; approved; submitted; rejected; draft", "3", "0.50", ""]
    assert len(rows) == 2


def test_bom_is_written_only_when_asked(week: tuple[Contractor, Contractor]) -> None:
    plain, with_bom = "".join(exports.csv_lines(W48)), "".join(exports.csv_lines(W48, bom=True))
    assert plain.startswith("export,LabelCrew weekly timesheets\r\n")
    assert with_bom == "\ufeff" + plain
    assert with_bom.encode("utf-8").startswith(b"\xef\xbb\xbf")


def test_an_empty_week_has_the_header_and_zero_totals_rows_for_every_state() -> None:
    _, header, rows, totals = csv_table()
    assert (header[0], rows) == ("contractor_id", [])
    assert list(totals) == ["TOTAL paid", "TOTAL approved", "TOTAL submitted", "TOTAL rejected", "TOTAL draft", "TOTAL"]
    for row in totals.values():
        assert row[9:16] == ["0.00", "0:00", "0", "0", "", "0.00", "USD"]


def test_totals_row_equals_the_statements_of_the_pay_run_to_the_cent(week: tuple[Contractor, Contractor],
                                                                     staff: User) -> None:
    for timesheet in Timesheet.objects.filter(week_start=W48):
        timesheet_submit(timesheet=timesheet, actor=staff, now=W48_ENDED)
        timesheet_decide(timesheet=timesheet, approve=True, actor=staff, now=NOW)
    pay_run_execute(week_start=W48, actor=staff)
    _, _, rows, totals = csv_table()
    amount = exports.TIMESHEET_COLUMNS.index("amount")
    statements = list(Statement.objects.order_by("contractor_id"))
    assert [Decimal(row[amount]) for row in rows] == [s.earned for s in statements]
    assert Decimal(totals["TOTAL paid"][amount]) == sum(s.earned for s in statements) == Decimal("7.68")
    assert Decimal(totals["TOTAL"][amount]) == Decimal("7.68")
    assert {row[exports.TIMESHEET_COLUMNS.index("timesheet_status")] for row in rows} == {"paid"}


def test_a_clawback_at_an_older_rate_rounds_once_like_the_statement(staff: User) -> None:
    """31 min at 2.00 less 23 min at 2.50 is 0.075: one rounding gives 0.08 (rounding per rate gave 0.07)."""
    ana = contractor_in_state(OnboardingState.ACTIVE)
    batch = batch_assigned(ana, job=job_plain(hourly_rate=Decimal("2.50")))
    log(ana, batch, at(17, 9), at(17, 10), now=at(17, 12))
    pay_terms_change(job=batch.job, effective_from=at(23, 0), hourly_rate=Decimal("2.00"),
                     weekly_cap_hours=Decimal("20"), reason="new client budget", actor=staff, now=at(20, 0))
    log(ana, batch, at(23, 9), at(23, 9, 31))
    adjustment_create(contractor=ana, job=batch.job, minutes=-23, reason="double-logged Friday", actor=staff,
                      corrects_week=at(16, 0), now=NOW)
    timesheet = Timesheet.objects.get(week_start=W48)
    row = csv_table()[2][0]
    assert row[exports.TIMESHEET_COLUMNS.index("amount")] == "0.08"
    assert totals_by_timesheet([timesheet.pk])[timesheet.pk].earned == Decimal("0.08")


def test_text_cells_that_would_start_a_formula_are_neutralized_in_csv_and_xlsx(staff: User, tmp_path: Path) -> None:
    evil = contractor_in_state(OnboardingState.ACTIVE, legal_name='=HYPERLINK("http://evil.example","pay")')
    batch = batch_assigned(evil, job=job_plain(name="\tTabbed job"))
    log(evil, batch, at(23, 9), at(23, 10), note="+1 extra hour")
    log(evil, batch, at(23, 11), at(23, 12), note="@SUM(A1:A9)")
    [entry] = log(evil, batch, at(23, 13), at(23, 14), note="placeholder")
    TimeEntry.objects.filter(pk=entry.pk).update(note="\rcarriage")  # older rows were not stripped
    adjustment_create(contractor=evil, job=job_plain(name="-2 hours"), minutes=-10, reason="-2 plus more",
                      actor=staff, now=NOW)
    row = csv_table()[2][0]
    assert row[1] == '\'=HYPERLINK("http://evil.example","pay")'
    assert row[exports.TIMESHEET_COLUMNS.index("adjustment_minutes")] == "-10"  # numbers are not touched

    path = tmp_path / "week.xlsx"
    exports.xlsx_write(W48, str(path), entries=True)
    book = openpyxl.load_workbook(path)
    sheet_row = [c.value for c in book["Timesheets"][11]]
    assert sheet_row[1] == '\'=HYPERLINK("http://evil.example","pay")'
    assert book["Timesheets"].cell(11, 2).data_type == "s"
    entries = list(book["Entries"].iter_rows(min_row=2, values_only=True))
    job, note = exports.ENTRY_COLUMNS.index("job"), exports.ENTRY_COLUMNS.index("note")
    # A control character is stored as its OOXML escape (_x000D_), which Excel reads back and openpyxl does not.
    assert [(r[job], unescape(r[note])) for r in entries] == [
        ("'\tTabbed job", "'+1 extra hour"), ("'\tTabbed job", "'@SUM(A1:A9)"), ("'\tTabbed job", "'\rcarriage"),
        ("'-2 hours", "'-2 plus more"),
    ]
    assert entries[-1][exports.ENTRY_COLUMNS.index("minutes")] == -10
    assert not any(cell.data_type == "f" for sheet in book for line in sheet.iter_rows() for cell in line)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_every_formula_start_gets_a_quote(text: str) -> None:
    assert cell_text(text) == "'" + text
    assert cell_text("a" + text) == "a" + text


def test_xlsx_has_the_scope_typed_timesheets_totals_and_every_entry(week: tuple[Contractor, Contractor],
                                                                   tmp_path: Path) -> None:
    ana, wang = week
    path = tmp_path / "week.xlsx"
    with path.open("wb") as file:
        exports.xlsx_write(W48, file, entries=True, now=datetime(2026, 12, 1, 8, 30, 15, 999, tzinfo=UTC))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Timesheets", "Entries"]
    sheet = book["Timesheets"]
    scope, header, rows, totals = split(list(sheet.iter_rows(values_only=True)))
    assert scope == {"export": "LabelCrew weekly timesheets", "iso_week": "2026-W48",
                     "week_start_utc": datetime(2026, 11, 23), "week_end_utc": datetime(2026, 11, 30),
                     "generated_at_utc": datetime(2026, 12, 1, 8, 30, 15),
                     "timesheet_states": "paid; approved; submitted; rejected; draft (every state)",
                     "totals": "one TOTAL row per state, then TOTAL: the sum of those states' rows", "currency": "USD"}
    assert header == list(exports.TIMESHEET_COLUMNS)
    assert rows[0][:3] == [ana.pk, "Ana Lúcia Souza", ana.user.email]
    assert rows[0][7:16] == [datetime(2026, 11, 23), datetime(2026, 11, 30), 1.78, "1:47", 77, 30, "mixed", 3.71,
                             "USD"]
    assert rows[1][13:15] == [2, 3.97]
    assert totals["TOTAL draft"][14] == totals["TOTAL"][14] == 7.68
    assert totals["TOTAL paid"][14] == 0
    # Cells are typed: numbers with their format, moments as dates, text as text.
    first = 11  # eight scope rows, a blank row, the header
    cells = {c: sheet.cell(first, exports.TIMESHEET_COLUMNS.index(c) + 1) for c in exports.TIMESHEET_COLUMNS}
    assert (cells["amount"].data_type, cells["amount"].number_format) == ("n", "0.00")
    assert (cells["hours"].data_type, cells["hours"].number_format) == ("n", "0.00")
    assert (cells["week_start_utc"].is_date, cells["week_start_utc"].number_format) == (True, "yyyy-mm-dd hh:mm")
    assert (cells["contractor_id"].data_type, cells["name"].data_type) == ("n", "s")
    assert sheet.cell(first + 1, 14).number_format == "0.00"  # a rate of 2.00 shows both places
    assert sheet.cell(5, 2).is_date  # generated_at_utc
    # An autofilter over the header and the timesheet rows (not the totals), widths, the header row frozen.
    assert sheet.auto_filter.ref == f"A{first - 1}:T{first + 1}"
    assert sheet.freeze_panes == f"A{first}"
    assert sheet.column_dimensions["C"].width > 20
    assert sheet.cell(first + 2, 1).value == "TOTAL paid"
    assert sheet.cell(first + 2, 1).font.b
    entries = book["Entries"]
    lines = list(entries.iter_rows(values_only=True))
    assert lines[0] == exports.ENTRY_COLUMNS
    assert len(lines) == 1 + 3 + 7
    first_entry = dict(zip(exports.ENTRY_COLUMNS, lines[1], strict=True))
    assert (first_entry["contractor_id"], first_entry["kind"], first_entry["start_utc"], first_entry["end_utc"],
            first_entry["minutes"], first_entry["hourly_rate"], first_entry["amount"]) == (
        ana.pk, "work", datetime(2026, 11, 23, 9), datetime(2026, 11, 23, 10), 60, 2, 2)
    assert entries.cell(2, 7).number_format == "yyyy-mm-dd hh:mm"
    assert entries.cell(2, 11).number_format == "0.0000"
    assert entries.auto_filter.ref == "A1:N11"
    adjustment = dict(zip(exports.ENTRY_COLUMNS, lines[3], strict=True))
    assert (adjustment["kind"], adjustment["end_utc"], adjustment["corrects_week"], adjustment["note"]) == (
        "adjustment", None, "2026-W47", "forgot Sunday")
    seventeen = dict(zip(exports.ENTRY_COLUMNS, lines[4], strict=True))
    assert (seventeen["contractor_id"], seventeen["amount"]) == (wang.pk, 0.5667)  # unrounded to 4 places


def test_xlsx_has_no_entries_sheet_unless_asked(week: tuple[Contractor, Contractor], tmp_path: Path) -> None:
    exports.xlsx_write(W48, str(tmp_path / "week.xlsx"))
    assert openpyxl.load_workbook(tmp_path / "week.xlsx").sheetnames == ["Timesheets"]


def test_totals_per_state_match_hand_sums_and_the_total_says_what_it_adds(week: tuple[Contractor, Contractor],
                                                                          staff: User, tmp_path: Path) -> None:
    """Ana is paid (3.71), 王小明 waits for approval (3.97), a third contractor is approved, not paid (0.50)."""
    ana, wang = week
    timesheet = Timesheet.objects.get(contractor=ana, week_start=W48)
    timesheet_submit(timesheet=timesheet, actor=staff, now=W48_ENDED)
    timesheet_decide(timesheet=timesheet, approve=True, actor=staff, now=NOW)
    pay_run_execute(week_start=W48, actor=staff)
    timesheet_submit(timesheet=Timesheet.objects.get(contractor=wang, week_start=W48), actor=staff, now=W48_ENDED)
    third = contractor_in_state(OnboardingState.ACTIVE)
    log(third, batch_assigned(third), at(23, 9), at(23, 9, 15))
    approved = Timesheet.objects.get(contractor=third, week_start=W48)
    timesheet_submit(timesheet=approved, actor=staff, now=W48_ENDED)
    timesheet_decide(timesheet=approved, approve=True, actor=staff, now=NOW)
    amount, hours = exports.TIMESHEET_COLUMNS.index("amount"), exports.TIMESHEET_COLUMNS.index("hours")
    status = exports.TIMESHEET_COLUMNS.index("timesheet_status")

    _, _, rows, totals = csv_table()
    for state in ("paid", "approved", "submitted", "rejected", "draft"):
        mine = [r for r in rows if r[status] == state]
        assert Decimal(totals[f"TOTAL {state}"][amount]) == sum((Decimal(r[amount]) for r in mine), Decimal(0))
        assert totals[f"TOTAL {state}"][status] == state
    assert [totals[f"TOTAL {s}"][amount] for s in ("paid", "approved", "submitted", "rejected", "draft")] == [
        "3.71", "0.50", "3.97", "0.00", "0.00"]
    assert totals["TOTAL paid"][1] == "paid: 1 timesheet"
    assert totals["TOTAL submitted"][1] == "waiting for approval: 1 timesheet"
    assert Statement.objects.get().earned == Decimal(totals["TOTAL paid"][amount])
    assert (totals["TOTAL"][amount], totals["TOTAL"][hours]) == ("8.18", "4.02")  # 107 + 119 + 15 = 241 minutes

    path = tmp_path / "week.xlsx"
    exports.xlsx_write(W48, str(path))
    _, _, xlsx_rows, xlsx_totals = split(list(openpyxl.load_workbook(path)["Timesheets"].iter_rows(values_only=True)))
    assert len(xlsx_rows) == 3
    assert {label: row[amount] for label, row in xlsx_totals.items()} == {
        "TOTAL paid": 3.71, "TOTAL approved": 0.5, "TOTAL submitted": 3.97, "TOTAL rejected": 0, "TOTAL draft": 0,
        "TOTAL": 8.18}


def test_an_export_of_some_states_says_so_and_totals_only_them(week: tuple[Contractor, Contractor],
                                                               staff: User) -> None:
    _, wang = week
    timesheet_submit(timesheet=Timesheet.objects.get(contractor=wang, week_start=W48), actor=staff, now=W48_ENDED)
    scope, _, rows, totals = csv_table(states=["submitted", "paid"])
    assert scope["timesheet_states"] == "paid; submitted only"
    assert [int(r[0]) for r in rows] == [wang.pk]
    assert list(totals) == ["TOTAL paid", "TOTAL submitted", "TOTAL"]
    assert totals["TOTAL"][1] == "the states exported, paid + submitted: 1 timesheet"
    assert totals["TOTAL"][exports.TIMESHEET_COLUMNS.index("amount")] == "3.97"
    with pytest.raises(DomainError, match="states: late is not a timesheet state"):
        exports.csv_lines(W48, states=["late"])


def test_the_scope_block_names_the_week_the_moment_and_the_states() -> None:
    scope = csv_table(now=datetime(2026, 12, 1, 8, 30, 15, tzinfo=UTC))[0]
    assert scope == {"export": "LabelCrew weekly timesheets", "iso_week": "2026-W48", "week_start_utc": WEEK_START,
                     "week_end_utc": WEEK_END, "generated_at_utc": "2026-12-01T08:30:15Z",
                     "timesheet_states": "paid; approved; submitted; rejected; draft (every state)",
                     "totals": "one TOTAL row per state, then TOTAL: the sum of those states' rows", "currency": "USD"}


def test_cjk_and_rtl_names_survive_the_xlsx(tmp_path: Path) -> None:
    names = ["王小明", "محمد الأحمد", "Ελένη Παπαδοπούλου", "Đặng Thị Hương"]
    for name in names:
        contractor = contractor_in_state(OnboardingState.ACTIVE, legal_name=name)
        log(contractor, batch_assigned(contractor), at(23, 9), at(23, 10), note=f"{name} 笔记")
    path = tmp_path / "names.xlsx"
    exports.xlsx_write(W48, str(path), entries=True)
    book = openpyxl.load_workbook(path)
    assert [row[1] for row in split(list(book["Timesheets"].iter_rows(values_only=True)))[2]] == names
    notes = [row[exports.ENTRY_COLUMNS.index("note")] for row in book["Entries"].iter_rows(min_row=2,
                                                                                            values_only=True)]
    assert notes == [f"{name} 笔记" for name in names]
    assert [row[1] for row in csv_table()[2]] == names


def _week_of(contractors: int) -> None:
    for _ in range(contractors):
        contractor = contractor_in_state(OnboardingState.ACTIVE)
        batch = batch_assigned(contractor)
        log(contractor, batch, at(23, 9), at(23, 10))
        annotate(contractor, batch, count=1, lead_time=3000.0, when=at(23, 9, 30))


def _statements(run: Callable[[], object]) -> list[str]:
    """The first word of each SQL statement run: a DECLARE is one streamed read (a server-side cursor)."""
    with CaptureQueriesContext(connection) as queries:
        run()
    return [q["sql"].split()[0] for q in queries]


def test_query_count_does_not_grow_with_the_number_of_contractors(tmp_path: Path) -> None:
    _week_of(3)
    small_csv = _statements(lambda: list(exports.csv_lines(W48)))
    small_xlsx = _statements(lambda: exports.xlsx_write(W48, str(tmp_path / "small.xlsx"), entries=True))
    _week_of(27)
    assert Timesheet.objects.filter(week_start=W48).count() == 30
    # One streamed read per sheet, in the export's own transaction (a savepoint inside the test's). PostgreSQL's
    # is a server-side cursor (DECLARE) planned to be read in full (SET); SQLite has no server-side cursor and
    # streams one plain SELECT.
    read, planned = ("DECLARE", ["SET"]) if connection.vendor == "postgresql" else ("SELECT", [])
    assert _statements(lambda: list(exports.csv_lines(W48))) == small_csv == [
        "SAVEPOINT", *planned, read, "RELEASE"]
    assert _statements(lambda: exports.xlsx_write(W48, str(tmp_path / "big.xlsx"), entries=True)) == small_xlsx == [
        "SAVEPOINT", *planned, read, read, "RELEASE"]


def test_statement_csv_shows_what_it_pays_and_every_entry(week: tuple[Contractor, Contractor], staff: User) -> None:
    ana, _ = week
    timesheet = Timesheet.objects.get(contractor=ana, week_start=W48)
    timesheet_submit(timesheet=timesheet, actor=ana.user, now=W48_ENDED)
    timesheet_decide(timesheet=timesheet, approve=True, actor=staff, now=NOW)
    pay_run_execute(week_start=W48, actor=staff)
    statement = Statement.objects.get(contractor=ana)
    rows = read_csv(list(exports.statement_csv_lines(statement)))
    fields = dict(row for row in rows[1:16])
    assert fields["contractor"] == "Ana Lúcia Souza"
    assert fields["iso_week"] == "2026-W48"
    assert fields["hourly_rates"] == "2.00; 2.50"
    assert (fields["hours"], fields["hours_hmm"]) == ("1.78", "1:47")
    assert (fields["earned"], fields["carried_in"], fields["payable"], fields["carried_out"]) == (
        "3.71", "0.00", "3.71", "0.00")
    assert fields["currency"] == "USD"
    header = rows.index(["entry_id", "kind", "job", "batch", "start_utc", "end_utc", "minutes", "hourly_rate",
                         "amount", "note", "corrects_week"])
    entries = rows[header + 1:]
    assert [(e[1], e[6], e[7], e[8]) for e in entries] == [
        ("work", "60", "2.00", "2.0000"), ("work", "17", "2.50", "0.7083"), ("adjustment", "30", "2.00", "1.0000")]
    assert entries[2][10] == "2026-W47"
    assert statement.timesheet.state == TimesheetState.PAID


# --- manage.py export_timesheets -----------------------------------------------------------------


def test_command_writes_csv_to_stdout(week: tuple[Contractor, Contractor]) -> None:
    out = io.StringIO()
    call_command("export_timesheets", "--week", "2026-W48", "--format", "csv", "--output", "-", stdout=out)
    written = read_csv([out.getvalue()])
    assert written[10:] == read_csv(list(exports.csv_lines(W48)))[10:]  # the same but for the moment it was made
    assert written[-1][0] == "TOTAL"


def test_command_exports_only_the_states_asked(week: tuple[Contractor, Contractor]) -> None:
    out = io.StringIO()
    call_command("export_timesheets", "--week", "2026-W48", "--states", "paid,approved", "--output", "-", stdout=out)
    scope, _, rows, totals = split(read_csv([out.getvalue()]))
    assert (scope["timesheet_states"], rows, list(totals)) == (
        "paid; approved only", [], ["TOTAL paid", "TOTAL approved", "TOTAL"])


def test_command_writes_the_bom_when_asked(week: tuple[Contractor, Contractor], tmp_path: Path) -> None:
    path = tmp_path / "week.csv"
    call_command("export_timesheets", "--week", "2026-W48", "--output", str(path), "--bom", stderr=io.StringIO())
    assert path.read_bytes().startswith(b"\xef\xbb\xbfexport,")


def test_command_writes_xlsx_to_a_file_and_leaves_no_partial_file(week: tuple[Contractor, Contractor],
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "week.xlsx"
    call_command("export_timesheets", "--week", "2026-W48", "--format", "xlsx", "--output", str(path), "--entries",
                 stderr=io.StringIO())
    assert openpyxl.load_workbook(path).sheetnames == ["Timesheets", "Entries"]
    assert [p.name for p in tmp_path.iterdir()] == ["week.xlsx"]


def test_command_failure_keeps_the_old_file_and_leaves_no_partial_one(week: tuple[Contractor, Contractor],
                                                                      tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "week.csv"
    path.write_text("last week's good export")

    def broken(*args: object, **kwargs: object) -> None:
        yield "contractor_id\r\n"
        raise OSError("disk full")

    monkeypatch.setattr(exports, "csv_lines", broken)
    with pytest.raises(OSError, match="disk full"):
        call_command("export_timesheets", "--week", "2026-W48", "--output", str(path))
    assert path.read_text() == "last week's good export"
    assert [p.name for p in tmp_path.iterdir()] == ["week.csv"]


@pytest.mark.parametrize(("args", "words"), [
    (["--week", "2026-48", "--output", "-"], "--week: write the ISO week as YYYY-Www"),
    (["--week", "2026-W54", "--output", "-"], "not a week of that year"),
    (["--week", "2026-W48", "--format", "pdf", "--output", "-"], "invalid choice: 'pdf'"),
    (["--week", "2026-W48", "--output", "/no/such/folder/week.csv"], "does not exist"),
    (["--week", "2026-W48", "--format", "xlsx", "--output", "-"], "XLSX is binary"),
    (["--week", "2026-W48", "--states", "paid,late", "--output", "-"], "--states: late is not a timesheet state"),
])
def test_command_refuses_bad_input_in_one_line(args: list[str], words: str) -> None:
    with pytest.raises(CommandError, match=words) as exc:
        call_command("export_timesheets", *args, stdout=io.StringIO())
    assert "\n" not in str(exc.value)
