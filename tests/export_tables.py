"""Reading the weekly timesheet export back in tests: its scope block, header, timesheet rows and TOTAL rows."""
import csv
import io


def split(rows: list[list] | list[tuple]) -> tuple[dict, list, list, dict]:
    """An export's rows (CSV lines parsed, or an XLSX sheet's values) as its scope block (field: value), header,
    timesheet rows and totals rows (by label)."""
    rows = [list(r) for r in rows]
    blank = next(i for i, r in enumerate(rows) if not any(c not in (None, "") for c in r))
    body = rows[blank + 2:]
    return ({r[0]: r[1] for r in rows[:blank]}, rows[blank + 1],
            [r for r in body if not str(r[0]).startswith("TOTAL")],
            {r[0]: r for r in body if str(r[0]).startswith("TOTAL")})


def split_csv(text: str) -> tuple[dict, list, list, dict]:
    """A CSV export's text (a byte order mark first or not), split."""
    return split(list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))))
