"""Benchmark of the weekly timesheet export: SQL queries, wall time and peak memory for 100 and 10,000 contractors.

The XLSX export (payroll.selectors.exports.xlsx_write: XlsxWriter's constant-memory mode, number formats per
column) is measured against the CSV of the same run, and its time and ratio to the CSV are printed last (the target
is at most 3x). Beside it, the same workbook (scope block, typed cells, widths, autofilter, totals rows) written by
openpyxl's write-only mode, tuned: the writer it replaced, kept measured so the choice can be checked again. Each
without and with the sheet of every entry (~10 entries per contractor, so ten times the rows of the CSV).

Each size gets its own pay week of contractors with ~10 entries and ~5 Label Studio annotations each,
inserted once with bulk_create (a later run reuses them). Every measurement runs in a fresh child
process, so its peak RSS (VmHWM) is its own; the Python heap peak comes from tracemalloc in a second
pass. References measured in the same run: streaming the week's raw entry rows with values_list
(the database floor) and writing as many CSV rows from a list in memory (the formatting floor).

Run from the repository root against a PostgreSQL database of its own (its name must contain "bench"):
    createdb -h 127.0.0.1 -U postgres labelcrew_bench_export
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/labelcrew_bench_export python bench/export_timesheets.py
--smoke: 5 contractors, one run of each measurement, on a database of its own (labelcrew_bench_export_smoke)
made, migrated and dropped by the run.
"""
import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

FIRST_WEEK = "2020-W02"
NAMES = ["Ana Lúcia Souza", "王小明", "محمد الأحمد", "Ελένη Παπαδοπούλου", "Đặng Thị Hương", "Kwame Mensah",
         "Priya Raghunathan", "Olena Kovalenko", "=HYPERLINK(\"x\")", "José Ñúñez"]
COUNTRIES = ["BR", "CN", "EG", "GR", "VN", "GH", "IN", "UA", "US", "MX"]


def _setup() -> None:
    import django

    django.setup()
    from django.db import connection

    if "bench" not in connection.settings_dict["NAME"]:
        sys.exit(f"Refusing to fill {connection.settings_dict['NAME']!r} with bench rows: use a database whose name "
                 "contains 'bench', e.g. labelcrew_bench_export.")


def _seed(n: int, week_start: datetime, job_name: str) -> None:
    """n contractors with ~10 entries each in the week, some at two rates, some adjusted, most with evidence."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.db.models import Max

    from annotations.models import Annotation, Batch, BatchTask, Task
    from annotations.services.jobs import job_create
    from payroll.models import EntryKind, TimeEntry, Timesheet, TimesheetState
    from payroll.selectors.weeks import week_name
    from workforce.models import Contractor, User

    rng = random.Random(n)
    states = [TimesheetState.SUBMITTED, TimesheetState.APPROVED, TimesheetState.DRAFT, TimesheetState.PAID]
    with transaction.atomic():
        # The job's opening pay terms come with it (job_created); its rows below are bulk-made for speed.
        job, _ = job_create(name=job_name, client=week_name(week_start), instructions="bench", specs=[],
                            image_source="bench", actor=None)
        tasks = Task.objects.bulk_create([Task(job=job, key=f"t{k}", image_path=f"t{k}.jpg", image_sha256=f"{k:064x}",
                                               width=10, height=10) for k in range(5)])
        no_login = make_password(None)
        users = User.objects.bulk_create([User(email=f"bench-{n}-{i}@bench.labelcrew.test", password=no_login)
                                          for i in range(n)], batch_size=2000)
        contractors = Contractor.objects.bulk_create([Contractor(
            user=u, state="active", legal_name=f"{NAMES[i % 10]} {i}", country=COUNTRIES[i % 10], timezone="UTC",
            payout_method="paypal" if i % 3 else "wise", payout_email=u.email) for i, u in enumerate(users)],
            batch_size=2000)
        batches = Batch.objects.bulk_create([Batch(job=job, number=i + 1, state="assigned", assigned_to=c)
                                             for i, c in enumerate(contractors)], batch_size=2000)
        batch_tasks = BatchTask.objects.bulk_create([BatchTask(batch=b, task=t) for b in batches for t in tasks],
                                                    batch_size=5000)
        next_id = (Annotation.objects.aggregate(m=Max("ls_annotation_id"))["m"] or 0) + 1
        Annotation.objects.bulk_create([
            Annotation(ls_annotation_id=next_id + k, batch_task=bt, contractor=bt.batch.assigned_to,
                       lead_time=rng.uniform(300, 1500),
                       ls_created_at=week_start + timedelta(hours=rng.uniform(0, 160)))
            for k, bt in enumerate(batch_tasks) if bt.batch.number % 7], batch_size=5000)
        timesheets = Timesheet.objects.bulk_create([Timesheet(contractor=c, week_start=week_start, state=states[i % 4])
                                                    for i, c in enumerate(contractors)], batch_size=2000)
        entries, work = [], {}
        for i, (c, b, sheet) in enumerate(zip(contractors, batches, timesheets, strict=True)):
            for k in range(10):
                start = week_start + timedelta(days=k % 5, hours=8 + 2 * (k // 5))
                minutes = rng.randint(40, 110)
                rate = Decimal("2.50") if i % 10 == 0 and k >= 5 else Decimal("2.00")
                entries.append(TimeEntry(timesheet=sheet, contractor=c, kind=EntryKind.WORK, job=job, batch=b,
                                         start=start, end=start + timedelta(minutes=minutes), minutes=minutes,
                                         hourly_rate=rate, note="bench", created_by=c.user))
                work[sheet.pk] = work.get(sheet.pk, 0) + minutes
            if i % 20 == 0:
                entries.append(TimeEntry(timesheet=sheet, contractor=c, kind=EntryKind.ADJUSTMENT, job=job,
                                         start=week_start + timedelta(days=6), minutes=15, hourly_rate=Decimal("2.00"),
                                         note="+15 forgot Sunday", created_by=c.user))
        TimeEntry.objects.bulk_create(entries, batch_size=5000)
        for sheet in timesheets:
            sheet.work_minutes = work[sheet.pk]
        Timesheet.objects.bulk_update(timesheets, ["work_minutes"], batch_size=2000)


def _week_of(n: int) -> datetime:
    """The pay week holding the bench's n contractors, seeded on first use."""
    from annotations.models import Job
    from payroll.selectors.weeks import WEEK, week_parse

    name = f"bench export {n}"
    job = Job.objects.filter(name=name).first()
    if job:
        return week_parse(job.client)
    week_start = week_parse(FIRST_WEEK) + WEEK * Job.objects.filter(name__startswith="bench export ").count()
    started = time.perf_counter()
    _seed(n, week_start, name)
    print(f"seeded {n} contractors in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return week_start


# --- child: one measurement ------------------------------------------------------------------------


def _openpyxl_write(week_start: datetime, path: str, *, entries: bool) -> None:
    """The export's workbook written with openpyxl's write-only mode, tuned (each column kind's style made once and
    copied onto each typed cell; text and integers as plain values): the writer the export used before XlsxWriter,
    measured beside it. openpyxl is a test requirement (the tests read the export back with it)."""
    from copy import copy

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from common.csv_stream import neutralized
    from payroll.selectors import exports

    def made(sheet: object, kind: str, *, bold: bool) -> object:
        cell = WriteOnlyCell(sheet)
        if kind in exports.NUMBER_FORMATS:
            cell.number_format = exports.NUMBER_FORMATS[kind]
        if bold:
            cell.font = Font(bold=True)
        return cell._style

    def styled(sheet: object, value: object, style: object) -> object:
        if isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None)
        cell = WriteOnlyCell(sheet, value=value)
        cell._style = copy(style)
        return cell

    def sheet_of(title: str, columns: tuple, header_row: int) -> object:
        sheet = book.create_sheet(title)
        for i, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = column.width
        sheet.freeze_panes = f"A{header_row + 1}"
        return sheet

    def table(sheet: object, header_row: int, columns: tuple, rows: object) -> None:
        sheet.append([styled(sheet, c.name, bold["text"]) for c in columns])
        formats = [plain[c.kind] for c in columns]
        last = header_row
        for last, values in enumerate(rows, start=header_row + 1):  # noqa: B007 - bounds the autofilter
            cells = []
            for value, style in zip(neutralized(values), formats, strict=True):
                if isinstance(value, str):
                    cells.append(ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", value))
                elif value is None or type(value) is int:
                    cells.append(value)
                else:
                    cells.append(styled(sheet, value, style))
            sheet.append(cells)
        sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(len(columns))}{last}"

    scope = exports.export_scope(week_start)
    book = Workbook(write_only=True)
    header_row = len(scope.rows()) + 2
    sheet = sheet_of("Timesheets", exports.TIMESHEET_SHEET, header_row)
    kinds = (*exports.NUMBER_FORMATS, "text")
    plain = {kind: made(sheet, kind, bold=False) for kind in kinds}
    bold = {kind: made(sheet, kind, bold=True) for kind in kinds}
    for name, value in scope.rows():
        sheet.append([styled(sheet, name, bold["text"]),
                      styled(sheet, value, plain["moment" if isinstance(value, datetime) else "text"])])
    sheet.append([])
    totals = exports.ExportTotals(scope)
    with exports._read_to_the_end():
        table(sheet, header_row, exports.TIMESHEET_SHEET, exports.timesheet_rows(scope, totals))
        for cells in totals.rows():
            sheet.append([None if value is None else styled(sheet, value, bold[column.kind])
                          for column, value in zip(exports.TIMESHEET_SHEET, cells, strict=True)])
        if entries:
            table(sheet_of("Entries", exports.ENTRY_SHEET, 1), 1, exports.ENTRY_SHEET, exports.entry_rows(scope))
    book.save(path)


def _task(kind: str, week_start: datetime, rows: int, scratch: Path) -> Callable[[], None]:
    from payroll.models import TimeEntry
    from payroll.selectors import exports

    def export_csv() -> None:
        with open(os.devnull, "w", encoding="utf-8") as sink:
            for line in exports.csv_lines(week_start):
                sink.write(line)

    def export_xlsx(entries: bool) -> Callable[[], None]:
        return lambda: exports.xlsx_write(week_start, str(scratch), entries=entries)

    def export_openpyxl(entries: bool) -> Callable[[], None]:
        return lambda: _openpyxl_write(week_start, str(scratch), entries=entries)

    def floor_db() -> None:
        for _ in (TimeEntry.objects.filter(timesheet__week_start=week_start)
                  .values_list("contractor_id", "minutes", "hourly_rate").iterator(chunk_size=exports.CHUNK)):
            pass

    table = [[i, "Ana Lúcia Souza", "ana@example.com", "BR", "paypal", "ana@example.com", "2026-W48",
              "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z", Decimal("19.70"), "19:42", 1182, 0, Decimal("2.00"),
              Decimal("39.40"), "USD", "approved", 57, Decimal("12.50"), ""] for i in range(rows)]

    def floor_csv() -> None:
        with open(os.devnull, "w", encoding="utf-8", newline="") as sink:
            csv.writer(sink).writerows(table)

    return {"csv": export_csv, "xlsx": export_xlsx(False), "xlsx+entries": export_xlsx(True),
            "openpyxl": export_openpyxl(False), "openpyxl+entries": export_openpyxl(True),
            "floor-db": floor_db, "floor-csv": floor_csv}[kind]


def _vm(field: str) -> float:
    """A /proc/self/status size in MiB (VmRSS now, VmHWM the peak so far)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field))
    return int(line.split()[1]) / 1024


def _child(kind: str, week: str, rows: int, repeat: int) -> None:
    _setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payroll.selectors.weeks import week_parse

    connection.ensure_connection()
    scratch = Path(tempfile.mkdtemp()) / "week.xlsx"
    task = _task(kind, week_parse(week), rows, scratch)
    baseline = _vm("VmRSS")
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        task()
        seconds.append(time.perf_counter() - started)
    peak_rss = _vm("VmHWM")
    tracemalloc.start()
    with CaptureQueriesContext(connection) as queries:
        task()
    heap_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    size = scratch.stat().st_size if scratch.exists() else 0
    scratch.unlink(missing_ok=True)
    print(json.dumps({"seconds": min(seconds), "queries": len(queries), "heap_mib": heap_peak / 2**20,
                      "rss_mib": peak_rss, "rss_growth_mib": peak_rss - baseline, "bytes": size}))


def _measure(kind: str, week: str, rows: int, repeat: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--week", week, "--rows", str(rows),
                          "--repeat", str(repeat)], check=True, capture_output=True, text=True, cwd=REPO_ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000], help="contractors per week")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the best is shown")
    parser.add_argument("--smoke", action="store_true",
                        help="smallest run: 5 contractors, one run each, on a throwaway database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--week", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.week, args.rows, args.repeat)
        return
    if args.smoke:
        from _smoke import django_migrated, throwaway_database  # bench/, the script's own folder

        with throwaway_database("labelcrew_bench_export") as url:
            django_migrated(url)  # the measuring children inherit its DATABASE_URL
            _setup()
            measure(sizes=[5], repeat=1)
        return
    _setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    measure(sizes=args.sizes, repeat=args.repeat)


def measure(*, sizes: list[int], repeat: int) -> None:
    """Print the table: each size's exports against the two floors, each measured in a child process."""
    from payroll.models import TimeEntry
    from payroll.selectors.weeks import week_name

    print(f"{'contractors':>11} {'entries':>8} {'what':<34} {'queries':>7} {'time':>8} {'vs DB floor':>11} "
          f"{'vs CSV floor':>12} {'vs CSV':>7} {'heap peak':>10} {'RSS peak':>9} {'RSS growth':>10}")
    summaries = []
    for n in sizes:
        week_start = _week_of(n)
        week = week_name(week_start)
        entries = TimeEntry.objects.filter(timesheet__week_start=week_start).count()
        floor_db = _measure("floor-db", week, n, repeat)
        floor_csv = _measure("floor-csv", week, n, repeat)
        export_csv = _measure("csv", week, n, repeat)
        kinds = [("floor-db", "reference: stream entries"), ("floor-csv", "reference: csv from list"),
                 ("csv", "export CSV -> /dev/null"), ("xlsx", "XLSX, XlsxWriter (in use)"),
                 ("openpyxl", "XLSX, openpyxl write-only, tuned"), ("xlsx+entries", "XLSX + entries, XlsxWriter"),
                 ("openpyxl+entries", "XLSX + entries, openpyxl")]
        measured = {"floor-db": floor_db, "floor-csv": floor_csv, "csv": export_csv}
        for kind, label in kinds:
            m = measured.get(kind) or _measure(kind, week, n, repeat)
            measured[kind] = m
            extra = f"  ({m['bytes'] / 2**20:.1f} MiB file)" if m["bytes"] else ""
            print(f"{n:>11} {entries:>8} {label:<34} {m['queries']:>7} {m['seconds']:>7.2f}s "
                  f"{m['seconds'] / floor_db['seconds']:>10.1f}x {m['seconds'] / floor_csv['seconds']:>11.1f}x "
                  f"{m['seconds'] / export_csv['seconds']:>6.1f}x "
                  f"{m['heap_mib']:>8.1f}Mi {m['rss_mib']:>7.0f}Mi {m['rss_growth_mib']:>8.1f}Mi{extra}")
        summaries.append(f"{n} contractors: XLSX (XlsxWriter, in use) {measured['xlsx']['seconds']:.2f} s, "
                         f"{measured['xlsx']['seconds'] / export_csv['seconds']:.1f}x the CSV "
                         f"({export_csv['seconds']:.2f} s; target at most 3x)")
    print("queries: SQL statements sent, i.e. BEGIN, SET LOCAL, one streamed SELECT per sheet, COMMIT. time: best of "
          f"{repeat}. vs CSV: against the CSV export of the same week in this run. heap peak: tracemalloc. "
          "RSS peak: the child's VmHWM; growth: over its RSS before the run.")
    for line in summaries:
        print(line)


if __name__ == "__main__":
    main()
