"""manage.py export_timesheets: the weekly timesheet export as CSV or XLSX, to a file or to stdout."""
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import DomainError
from payroll.selectors import exports
from payroll.selectors.weeks import week_parse


class Command(BaseCommand):
    help = ("Export one pay week: its scope (week, moment, timesheet states), one row per contractor-week, a "
            "totals row per state and one of them all; with --entries, XLSX adds every entry on a second sheet. "
            "A file is written next to PATH first and renamed when complete, so a failed export "
            "leaves no half-written file.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--week", required=True, help="ISO pay week, e.g. 2026-W48")
        parser.add_argument("--format", choices=exports.FORMATS, default="csv", help="csv (default) or xlsx")
        parser.add_argument("--output", required=True, metavar="PATH", help="file to write, or - for stdout")
        parser.add_argument("--bom", action="store_true", help="CSV: start with a UTF-8 byte order mark for Excel")
        parser.add_argument("--states", default="", metavar="STATE,...",
                            help=f"only timesheets in these states ({', '.join(exports.STATE_TOTALS)}); default all")
        parser.add_argument("--entries", action="store_true", help="XLSX: add the sheet of every time entry")

    def handle(self, *args: object, **options: Any) -> None:
        try:
            week_start = week_parse(options["week"], field="--week")
        except DomainError as exc:
            raise CommandError(exc.message) from None
        fmt, output = options["format"], options["output"]
        states = [s.strip() for s in options["states"].split(",") if s.strip()]
        try:
            exports.export_scope(week_start, states=states)
        except DomainError as exc:
            raise CommandError(f"--{exc.message}") from None
        options = {**options, "states": states}
        if output == "-":
            self._to_stdout(week_start, fmt, options)
            return
        target = Path(output)
        if not target.parent.is_dir():
            raise CommandError(f"--output: the folder {target.parent} does not exist.")
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
        try:
            with os.fdopen(handle, "wb") as file:
                self._write(file, week_start, fmt, options)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self.stderr.write(f"Wrote {target}")

    def _write(self, file: IO[bytes], week_start: datetime, fmt: str, options: dict[str, Any]) -> None:
        if fmt == "xlsx":
            exports.xlsx_write(week_start, file, states=options["states"], entries=options["entries"])
            return
        for line in exports.csv_lines(week_start, bom=options["bom"], states=options["states"]):
            file.write(line.encode("utf-8"))

    def _to_stdout(self, week_start: datetime, fmt: str, options: dict[str, Any]) -> None:
        if fmt == "csv":
            for line in exports.csv_lines(week_start, bom=options["bom"], states=options["states"]):
                self.stdout.write(line, ending="")
            return
        binary = getattr(self.stdout, "buffer", None)  # sys.stdout.buffer behind Django's OutputWrapper
        if binary is None:
            raise CommandError("--output -: XLSX is binary; this stdout takes text only. Write it to a file.")
        with tempfile.TemporaryFile() as spool:  # a zip is complete only at its end; stream it once written
            exports.xlsx_write(week_start, spool, states=options["states"], entries=options["entries"])
            spool.seek(0)
            self.stdout.flush()
            shutil.copyfileobj(spool, binary)
            binary.flush()
