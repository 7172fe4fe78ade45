"""Benchmark of the weekly timesheet export: SQL queries, wall time and peak memory for 100 and 10,000 contractors.

The XLSX export (payroll.selectors.exports.xlsx_write: openpyxl's write-only mode, tuned, one style per column
kind copied onto each typed cell) is measured against the CSV of the same run, and its time and ratio to the CSV
are printed last (the target is at most 3x). Where XlsxWriter is installed (it is not a requirement), the same
workbook (scope block, typed cells, widths, autofilter, totals rows) written by XlsxWriter's constant-memory mode
is measured beside it, the alternative it was chosen over; otherwise a line says it is skipped. Each without and
with the sheet of every entry (~10 entries per contractor, so ten times the rows of the CSV).

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
from datetime import datetime, timedelta
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


def _xlsxwriter_available() -> bool:
    try:
        import xlsxwriter  # noqa: F401 - only whether it is there
    except ImportError:
        return False
    return True


def _xlsxwriter_write(week_start: datetime, path: str, *, entries: bool) -> None:
    """The export's workbook written with XlsxWriter's constant-memory mode: the alternative measured against the
    export's openpyxl writer (XlsxWriter is not a requirement; this runs only where it is installed)."""
    import xlsxwriter

    from common.csv_stream import neutralized
    from payroll.selectors import exports

    scope = exports.export_scope(week_start)
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False, "remove_timezone": True})
    plain = {kind: book.add_format({"num_format": f}) for kind, f in exports.NUMBER_FORMATS.items()} | {"text": None}
    bold = {kind: book.add_format({"bold": True, "num_format": f}) for kind, f in exports.NUMBER_FORMATS.items()}
    bold["text"] = book.add_format({"bold": True})

    def sheet_of(title: str, columns: tuple) -> object:
        sheet = book.add_worksheet(title)
        for i, column in enumerate(columns):
            sheet.set_column(i, i, column.width, plain[column.kind])
        return sheet

    def table(sheet: object, top: int, columns: tuple, rows: object) -> int:
        sheet.write_row(top, 0, [c.name for c in columns], bold["text"])
        sheet.freeze_panes(top + 1, 0)
        row = top
        for row, cells in enumerate(rows, start=top + 1):
            sheet.write_row(row, 0, neutralized(cells))
        sheet.autofilter(top, 0, row, len(columns) - 1)
        return row + 1

    sheet = sheet_of("Timesheets", exports.TIMESHEET_SHEET)
    for row, (name, value) in enumerate(scope.rows()):
        sheet.write_string(row, 0, name, bold["text"])
        sheet.write(row, 1, value, plain["moment" if isinstance(value, datetime) else "text"])
    totals = exports.ExportTotals(scope)
    with exports._read_to_the_end():
        below = table(sheet, len(scope.rows()) + 1, exports.TIMESHEET_SHEET, exports.timesheet_rows(scope, totals))
        for row, cells in enumerate(totals.rows(), start=below):
            for col, (column, value) in enumerate(zip(exports.TIMESHEET_SHEET, cells, strict=True)):
                sheet.write(row, col, value, bold[column.kind])
        if entries:
            table(sheet_of("Entries", exports.ENTRY_SHEET), 0, exports.ENTRY_SHEET, exports.entry_rows(scope))
    book.close()


def _task(kind: str, week_start: datetime, rows: int, scratch: Path) -> Callable[[], None]:
    from payroll.models import TimeEntry
    from payroll.selectors import exports

    def export_csv() -> None:
        with open(os.devnull, "w", encoding="utf-8") as sink:
            for line in exports.csv_lines(week_start):
                sink.write(line)

    def export_xlsx(entries: bool) -> Callable[[], None]:
        return lambda: exports.xlsx_write(week_start, str(scratch), entries=entries)

    def export_xlsxwriter(entries: bool) -> Callable[[], None]:
        return lambda: _xlsxwriter_write(week_start, str(scratch), entries=entries)

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
            "xlsxwriter": export_xlsxwriter(False), "xlsxwriter+entries": export_xlsxwriter(True),
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

    xlsxwriter = _xlsxwriter_available()
    if not xlsxwriter:
        print("XlsxWriter is not installed (it is not a requirement): measuring the export's openpyxl writer only.")
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
                 ("csv", "export CSV -> /dev/null"), ("xlsx", "XLSX, openpyxl write-only (in use)"),
                 ("xlsxwriter", "XLSX, XlsxWriter constant-memory"), ("xlsx+entries", "XLSX + entries, openpyxl"),
                 ("xlsxwriter+entries", "XLSX + entries, XlsxWriter")]
        if not xlsxwriter:
            kinds = [(kind, label) for kind, label in kinds if not kind.startswith("xlsxwriter")]
        measured = {"floor-db": floor_db, "floor-csv": floor_csv, "csv": export_csv}
        for kind, label in kinds:
            m = measured.get(kind) or _measure(kind, week, n, repeat)
            measured[kind] = m
            extra = f"  ({m['bytes'] / 2**20:.1f} MiB file)" if m["bytes"] else ""
            print(f"{n:>11} {entries:>8} {label:<34} {m['queries']:>7} {m['seconds']:>7.2f}s "
                  f"{m['seconds'] / floor_db['seconds']:>10.1f}x {m['seconds'] / floor_csv['seconds']:>11.1f}x "
                  f"{m['seconds'] / export_csv['seconds']:>6.1f}x "
                  f"{m['heap_mib']:>8.1f}Mi {m['rss_mib']:>7.0f}Mi {m['rss_growth_mib']:>8.1f}Mi{extra}")
        summaries.append(f"{n} contractors: XLSX (openpyxl, in use) {measured['xlsx']['seconds']:.2f} s, "
                         f"{measured['xlsx']['seconds'] / export_csv['seconds']:.1f}x the CSV "
                         f"({export_csv['seconds']:.2f} s; target at most 3x)")
    print("queries: SQL statements sent, i.e. BEGIN, SET LOCAL, one streamed SELECT per sheet, COMMIT. time: best of "
          f"{repeat}. vs CSV: against the CSV export of the same week in this run. heap peak: tracemalloc. "
          "RSS peak: the child's VmHWM; growth: over its RSS before the run.")
    for line in summaries:
        print(line)


if __name__ == "__main__":
    main()
