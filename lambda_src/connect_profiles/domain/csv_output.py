"""Writing CSV files that are safe to open in Excel and that `csv_input.read_csv` reads back exactly.

Every file is UTF-8 with a BOM (so Excel shows accents), CRLF line ends, minimal quoting, delimited by
a comma or by the delimiter of the file it reports on: a semicolon file (Excel where `;` is the list
separator) gets semicolon reports, which open in columns there too.

Excel safety (OWASP "CSV injection"): a cell starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF is
neutralised by prefixing a single quote ``'``. The reader removes one leading quote, so to keep every
value exact a cell that already starts with ``'`` gets one more, and so does a cell with leading or
trailing whitespace (the reader trims cells, except those that start with ``'``, whose remainder it
keeps verbatim). Hence ``restore_cell(safe_cell(v)) == v`` for every string, and a file written by
`input_format_csv` reads back to the very same values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Protocol

from connect_profiles.domain.model import (
    CHANGES_COLUMNS,
    INPUT_COLUMNS,
    REPORT_COLUMNS,
    ChangeRecord,
    RowOutcome,
)

__all__ = [
    "BOM",
    "Cell",
    "changes_csv",
    "input_format_csv",
    "report_csv",
    "restore_cell",
    "safe_cell",
    "write_csv",
    "write_csv_to",
]

BOM = "\ufeff"
QUOTE_PREFIX = "'"
# Leading characters a spreadsheet may treat as the start of a formula (OWASP), plus our own escape.
_DANGEROUS_FIRST = frozenset("=+-@\t\r\n'")

Cell = str | int | float | None


class TextSink(Protocol):
    """Anything with ``write(str)``: an ``io.StringIO``, a file opened with ``newline=""``, ..."""

    def write(self, s: str, /) -> object: ...


def safe_cell(value: str) -> str:
    """Neutralise a cell for spreadsheets; `restore_cell` undoes it exactly."""
    if not value:
        return value
    if value[0] in _DANGEROUS_FIRST or value[0].isspace() or value[-1].isspace():
        return QUOTE_PREFIX + value
    return value


def restore_cell(value: str) -> str:
    """Remove the one leading quote `safe_cell` may have added (a no-op for other cells)."""
    if value[:1] == QUOTE_PREFIX:
        return value[1:]
    return value


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_csv_to(
    stream: TextSink, header: Sequence[str], rows: Iterable[Sequence[Cell]], *, delimiter: str = ","
) -> None:
    """Stream a CSV (BOM first) to a text sink. Open files with ``encoding="utf-8", newline=""``."""
    stream.write(BOM)
    writer = csv.writer(stream, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([safe_cell(_text(cell)) for cell in header])
    writer.writerows([safe_cell(_text(cell)) for cell in row] for row in rows)


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, delimiter: str = ",") -> bytes:
    """A whole CSV as UTF-8 bytes with a BOM. None is written as an empty cell, 3.0 as 3."""
    buffer = io.StringIO(newline="")
    write_csv_to(buffer, header, rows, delimiter=delimiter)
    return buffer.getvalue().encode("utf-8")


def report_csv(outcomes: Iterable[RowOutcome], *, delimiter: str = ",") -> bytes:
    """report.csv: one line per data row, with the row's cells as read; `line` is blank on a sync
    file's implicit removals, which are no row of the file."""
    return write_csv(
        REPORT_COLUMNS,
        (
            (
                outcome.row.line or None,
                *outcome.row.cells(),
                outcome.user_id,
                outcome.status.value,
                outcome.message,
            )
            for outcome in outcomes
        ),
        delimiter=delimiter,
    )


def input_format_csv(
    rows: Iterable[Sequence[Cell]], informational: Sequence[str] = (), *, delimiter: str = ","
) -> bytes:
    """A file in the input format (rollback, retry, backup, exports): rows in INPUT_COLUMNS order, then
    any `informational` columns (INFORMATIONAL_COLUMNS), which the reader accepts and ignores."""
    return write_csv((*INPUT_COLUMNS, *informational), rows, delimiter=delimiter)


def changes_csv(changes: Iterable[ChangeRecord], *, delimiter: str = ",") -> bytes:
    """changes.csv: the audit trail, one line per (user, proficiency) changed, planned or failed."""
    return write_csv(
        CHANGES_COLUMNS,
        (
            (
                c.user_id,
                c.username,
                c.attribute,
                c.value,
                c.level_before,
                c.level_after,
                c.status.value,
                c.line or None,
                c.message,
            )
            for c in changes
        ),
        delimiter=delimiter,
    )
