"""CSV produced a line at a time, guarded against formula injection, for every CSV LabelCrew streams or writes."""
import csv
from collections.abc import Iterable, Iterator

# A spreadsheet reads a cell starting with one of these as a formula (or, for tab and CR, mangles it).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """csv.writer writes into this and gets the line back."""

    def write(self, line: str) -> str:
        return line


def cell_text(text: str) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ tab or CR would start a formula, so it gets a quote."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def neutralized(row: Iterable[object]) -> list[object]:
    """The row with every text cell passed through cell_text; numbers and empty cells as they are."""
    return [cell_text(value) if isinstance(value, str) else value for value in row]


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV line (RFC 4180, CRLF) of each row, one at a time, text cells neutralized against formulas."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(neutralized(row))
