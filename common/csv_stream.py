"""CSV produced a line at a time, for responses and files that stream instead of building the whole text."""
import csv
from collections.abc import Iterable, Iterator


class _Echo:
    """csv.writer writes into this and gets the line back."""

    def write(self, line: str) -> str:
        return line


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV line (RFC 4180, CRLF) of each row, one at a time."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)
