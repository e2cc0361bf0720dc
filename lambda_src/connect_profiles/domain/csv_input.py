"""Reading an input CSV as people make them, and the offline checks on each row.

`read_csv` turns bytes into `CsvRow`s or raises `FileRejected` with a message that says what to fix.
`check_row` validates one row without any AWS call. `find_duplicates` finds exact repeats.

Line numbers are spreadsheet row numbers: the header is line 1 (in a normal file) and every CSV record
after it counts, blank ones included; a quoted cell spanning several text lines is still one line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from connect_profiles.domain.csv_output import QUOTE_PREFIX, restore_cell
from connect_profiles.domain.model import (
    ALL_USERS,
    INFORMATIONAL_COLUMNS,
    INPUT_COLUMNS,
    MAX_LEVEL,
    MIN_LEVEL,
    Action,
    Change,
    CsvRow,
    FileRejected,
    IdentifierType,
)

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_NAME_CHARS",
    "REQUIRED_COLUMNS",
    "Limits",
    "OverfullRow",
    "ParsedFile",
    "check_row",
    "find_duplicates",
    "read_csv",
]

REQUIRED_COLUMNS = ("identifier", "identifier_type", "action", "attribute", "value")
LEVEL_COLUMN = "level"
MAX_NAME_CHARS = 100  # Connect's limit on attribute names and values
_HEADER = ",".join(INPUT_COLUMNS)
_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_UTF8_BOM = b"\xef\xbb\xbf"
_SAMPLE_CHARS = 64 * 1024  # the header is looked for in this much text
_ECHO_CHARS = 40  # how much of a bad cell a message repeats
# 3, 3.0 and, as spreadsheets with a decimal comma write it, 3,0
_LEVEL_RE = re.compile(r"([0-9]+)(?:[.,]([0-9]+))?")
_LEVEL_FAST = {str(n): n for n in range(MIN_LEVEL, MAX_LEVEL + 1)}
_IDENTIFIER_TYPES = {t.value: t for t in IdentifierType}
_GROUP_TYPES = ", ".join(t.value for t in IdentifierType if t.is_group)
# Group rows reach users resolved when the job plans: a desired-state file names each user itself.
SYNC_NAMES_USERS = (
    "sync rows name users (username or user_id), not groups: list each member's desired set, "
    "or use a group row in a file outside sync/"
)
_ACTIONS = {a.value: a for a in Action}
_LEVELLED = frozenset({Action.ADD.value, Action.UPDATE.value, Action.SET.value})
SYNC_ONLY_SET = "sync files list the desired proficiencies: use set"


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 100_000  # data rows, blank records not counted
    max_cell_chars: int = 1_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class ParsedFile:
    rows: list[CsvRow]
    warnings: list[str]
    encoding: str  # "utf-8", "utf-8-sig" (with BOM) or "cp1252"
    delimiter: str  # ",", ";" or "\t"


@dataclass(frozen=True, slots=True)
class OverfullRow(CsvRow):
    """A row with non-empty cells beyond the header's last named column. `check_row` fails it.

    It is still a CsvRow (the first six cells, as read), so it gets its line in the report.
    """

    cell_count: int = 0
    column_count: int = 0

    @property
    def problem(self) -> str:
        return (
            f"line has {self.cell_count} cells but the header has {self.column_count} columns: "
            "remove the extra cells, or quote a cell that contains the delimiter"
        )


# ---------------------------------------------------------------------------------------------------
# Reading


def read_csv(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedFile:
    """Decode, detect the delimiter, check the header and return the data rows (blank records skipped)."""
    if len(data) > limits.max_bytes:
        raise FileRejected(
            f"The file is {_size(len(data))}; the limit is {_size(limits.max_bytes)}. "
            "Split it into smaller files."
        )
    text, encoding = _decode(data)
    warnings: list[str] = []
    if encoding == "cp1252":
        warnings.append(
            "The file is not UTF-8; it was read as Windows-1252 (cp1252). "
            "Save it as 'CSV UTF-8' if accented letters look wrong in the report."
        )
    if not text.strip():
        raise FileRejected(f"The file is empty. It needs a header row ({_HEADER}) and at least one data row.")

    delimiter = _detect_delimiter(text)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, strict=True, skipinitialspace=True
    )
    line = 0
    try:
        header: list[str] | None = None
        for record in reader:
            line += 1
            if "".join(record).strip():
                header = record
                break
        if header is None:  # only blank records
            raise FileRejected(f"The file has no header row. The first row must name the columns: {_HEADER}.")
    except csv.Error as error:
        raise _malformed(error, line + 1, limits) from None
    header_line = line
    columns = _columns(header, delimiter, warnings)
    # Trailing unnamed columns (spreadsheets add them) do not widen the header.
    width = 1 + max(i for i, cell in enumerate(header) if cell.strip())
    rows, data_rows, first_levelled = _read_rows(reader, header_line, width, columns, limits)

    if data_rows > limits.max_rows:
        raise FileRejected(
            f"The file has {data_rows:,} data rows; the limit is {limits.max_rows:,}. "
            "Split it into several files and drop them one after another."
        )
    if not rows:
        raise FileRejected(
            f"The file has a header (line {header_line}) but no data rows: add at least one row below it."
        )
    if LEVEL_COLUMN not in columns and first_levelled is not None:
        raise FileRejected(
            f"The header has no 'level' column, but the file has set, add or update rows (first at line "
            f"{first_levelled}): level is needed for set, add and update rows. Add a level column with a "
            f"whole number from {MIN_LEVEL} to {MAX_LEVEL}."
        )
    return ParsedFile(rows=rows, warnings=warnings, encoding=encoding, delimiter=delimiter)


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB ({n:,} bytes)"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB ({n:,} bytes)"
    return f"{n:,} bytes"


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"PK\x03\x04"):
        raise FileRejected(
            "The file is a spreadsheet workbook (.xlsx), not a CSV. In Excel use "
            "File > Save As > 'CSV UTF-8 (Comma delimited)' and drop that file."
        )
    if b"\x00" in data:
        raise FileRejected(
            "The file contains NUL bytes: it looks like UTF-16 ('Unicode Text') or a binary file, not a CSV. "
            "Save it as 'CSV UTF-8 (Comma delimited)'."
        )
    body, encoding = (data[len(_UTF8_BOM) :], "utf-8-sig") if data.startswith(_UTF8_BOM) else (data, "utf-8")
    try:
        return body.decode("utf-8"), encoding
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        raise FileRejected(
            f"The file's text encoding could not be read (byte 0x{body[error.start]:02x} at offset "
            f"{error.start:,} is neither UTF-8 nor Windows-1252). Save it as 'CSV UTF-8 (Comma delimited)'."
        ) from None


def _norm(name: str) -> str:
    return name.strip().lower()


def _detect_delimiter(text: str) -> str:
    """The delimiter that makes the header name the most known columns; ties go to the most columns,
    then to comma."""
    best, best_score = ",", (-1, -1)
    sample = text[:_SAMPLE_CHARS]
    for delimiter in _DELIMITERS:
        reader = csv.reader(
            io.StringIO(sample, newline=""), delimiter=delimiter, strict=True, skipinitialspace=True
        )
        try:
            header = next((r for r in reader if "".join(r).strip()), [])
        except csv.Error:
            continue
        names = {_norm(cell) for cell in header}
        score = (len(names.intersection(INPUT_COLUMNS)), sum(1 for cell in header if cell.strip()))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _columns(header: list[str], delimiter: str, warnings: list[str]) -> dict[str, int]:
    """Map each known column to its index; reject missing or repeated ones, warn about unknown ones."""
    columns: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(header):
        name = _norm(restore_cell(cell.strip()))
        if not name:
            continue  # an unnamed column (e.g. trailing delimiters from a spreadsheet): ignored
        if name in INFORMATIONAL_COLUMNS:
            continue  # written by this project for people (username, message): read back silently
        if name in INPUT_COLUMNS:
            if name in columns:
                raise FileRejected(
                    f"The column '{name}' appears more than once in the header (columns {columns[name] + 1} "
                    f"and {index + 1}). Keep one of them."
                )
            columns[name] = index
        else:
            unknown.append(cell.strip())
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        found = ", ".join(repr(cell.strip()) for cell in header if cell.strip()) or "none"
        plural = "s" if len(missing) > 1 else ""
        raise FileRejected(
            f"The header is missing the required column{plural} {', '.join(missing)}. "
            f"Columns found (reading it as {_DELIMITER_NAMES[delimiter]}-delimited): {found}. "
            f"The first row must name {', '.join(REQUIRED_COLUMNS)}, and level for set, add and update rows, "
            "in any order."
        )
    if unknown:
        warnings.append(
            f"Ignored unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(map(repr, unknown))}. "
            f"The columns used are {', '.join(INPUT_COLUMNS)}."
        )
    return columns


def _cell(raw: str) -> str:
    """A cell's value: trimmed, one leading quote removed. A cell whose very first character is the
    quote is one `safe_cell` wrote: its remainder is kept verbatim, surrounding spaces included."""
    if raw[:1] == QUOTE_PREFIX:
        return raw[1:]
    value = raw.strip()
    return value[1:] if value[:1] == QUOTE_PREFIX else value  # restore_cell, inlined: called per cell


def _read_rows(
    reader: Iterator[list[str]], header_line: int, width: int, columns: dict[str, int], limits: Limits
) -> tuple[list[CsvRow], int, int | None]:
    """Rows (up to the limit), the count of data rows, and the line of the first add/update row."""
    i_id, i_type, i_action = columns["identifier"], columns["identifier_type"], columns["action"]
    i_attr, i_value = columns["attribute"], columns["value"]
    i_level = columns.get(LEVEL_COLUMN)
    max_rows, max_chars = limits.max_rows, limits.max_cell_chars
    pad = [""] * width
    rows: list[CsvRow] = []
    data_rows = 0
    first_levelled: int | None = None
    line = header_line
    try:
        for record in reader:
            line += 1
            if not "".join(record).strip():
                continue  # a blank record: not a data row, but it counts in line numbering
            data_rows += 1
            if data_rows > max_rows:
                continue  # keep counting, to say how many rows the file has
            if max(map(len, record)) > max_chars:
                raise _cell_too_long(record, line, columns, max_chars)
            count = len(record)
            if count < width:
                record.extend(pad[count:])
            action = _cell(record[i_action])
            if first_levelled is None and action.strip().lower() in _LEVELLED:
                first_levelled = line
            cells = (
                _cell(record[i_id]),
                _cell(record[i_type]),
                action,
                _cell(record[i_attr]),
                _cell(record[i_value]),
                "" if i_level is None else _cell(record[i_level]),
            )
            if count > width and "".join(record[width:]).strip():
                last = max(i for i, cell in enumerate(record) if cell.strip())
                rows.append(OverfullRow(line, *cells, cell_count=last + 1, column_count=width))
            else:
                rows.append(CsvRow(line, *cells))
    except csv.Error as error:
        raise _malformed(error, line + 1, limits) from None
    return rows, data_rows, first_levelled


def _cell_too_long(record: list[str], line: int, columns: dict[str, int], max_chars: int) -> FileRejected:
    names = {index: name for name, index in columns.items()}
    index = next(i for i, cell in enumerate(record) if len(cell) > max_chars)
    where = f"column {index + 1}" + (f" ({names[index]})" if index in names else "")
    return FileRejected(
        f"Line {line}, {where}: the cell is {len(record[index]):,} characters long; the limit is "
        f'{max_chars:,}. Shorten it, or check for a missing closing quote (") above it.'
    )


def _malformed(error: csv.Error, line: int, limits: Limits) -> FileRejected:
    if "field larger than field limit" in str(error):
        return FileRejected(
            f"Line {line}: a cell is longer than the csv reader allows (limit {limits.max_cell_chars:,} "
            'characters). Shorten it, or check for a missing closing quote (") above it.'
        )
    return FileRejected(
        f'The file is not valid CSV at line {line}: {error}. Check the quotes (") on that line: a quoted '
        'cell must end with a quote followed by the delimiter, and a quote inside it is written as "".'
    )


# ---------------------------------------------------------------------------------------------------
# Offline checks


def _echo(value: str) -> str:
    shown = value if len(value) <= _ECHO_CHARS else value[:_ECHO_CHARS] + "..."
    return repr(shown)


def _check_name(column: str, value: str, hint: str, errors: list[str]) -> None:
    if not value.strip():
        errors.append(f"{column} is empty: {hint}")
    elif len(value) > MAX_NAME_CHARS:
        errors.append(f"{column} is {len(value)} characters long, over the {MAX_NAME_CHARS} Connect allows")


def _level(text: str) -> int | str:
    """A whole number 1-5 written as 3, 3.0, 3.00 or (decimal comma) 3,0; otherwise an error message."""
    fast = _LEVEL_FAST.get(text)
    if fast is not None:
        return fast
    value = text.strip()
    if not value:
        return f"level is empty: set, add and update need a whole number from {MIN_LEVEL} to {MAX_LEVEL}"
    match = _LEVEL_RE.fullmatch(value)
    if match is not None and not (match.group(2) or "").strip("0"):
        number = int(match.group(1))
        if MIN_LEVEL <= number <= MAX_LEVEL:
            return number
    return (
        f"level must be a whole number from {MIN_LEVEL} to {MAX_LEVEL} for set, add and update, "
        f"got {_echo(value)}"
    )


def check_row(row: CsvRow, *, sync: bool = False) -> Change | str:
    """Validate one row offline: a `Change`, or every problem found, joined by '; '.

    In a sync file (`sync=True`) rows say what a user should hold: `set` (or `add`, read as set),
    never update or remove; and a `set` row with blank attribute, value and level says the user
    should hold nothing."""
    errors: list[str] = []
    if isinstance(row, OverfullRow):
        errors.append(row.problem)
    if not row.identifier.strip():
        errors.append("identifier is empty: give the user's username or user ID")
    identifier_type = _identifier_type(row, sync, errors)
    action = _ACTIONS.get(row.action.strip().lower())
    if action is None:
        shown = _echo(row.action.strip()) if row.action.strip() else "it is empty"
        errors.append(f"action must be add, update, remove or set, got {shown}")
    elif sync and action in (Action.UPDATE, Action.REMOVE):
        errors.append(SYNC_ONLY_SET)
    elif sync:
        action = Action.SET
    if (
        sync
        and action is Action.SET
        and not (row.attribute.strip() or row.value.strip() or row.level.strip())
    ):
        if errors or identifier_type is None:
            return "; ".join(errors)
        return Change(row=row, identifier_type=identifier_type, action=Action.SET, level=None)
    _check_name("attribute", row.attribute, "give the predefined attribute's name", errors)
    _check_name("value", row.value, "give one of the attribute's values", errors)
    level: int | None = None
    if action is not None and action is not Action.REMOVE:
        checked = _level(row.level)
        if isinstance(checked, str):
            errors.append(checked)
        else:
            level = checked
    if errors or identifier_type is None or action is None:
        return "; ".join(errors)
    return Change(row=row, identifier_type=identifier_type, action=action, level=level)


def _identifier_type(row: CsvRow, sync: bool, errors: list[str]) -> IdentifierType | None:
    identifier_type = _IDENTIFIER_TYPES.get(row.identifier_type.strip().lower())
    if identifier_type is None:
        shown = _echo(row.identifier_type.strip()) if row.identifier_type.strip() else "it is empty"
        errors.append(f"identifier_type must be username or user_id (or {_GROUP_TYPES}), got {shown}")
    elif identifier_type.is_group and sync:
        errors.append(SYNC_NAMES_USERS)
        return None
    elif identifier_type is IdentifierType.ALL and row.identifier.strip() not in ("", ALL_USERS):
        errors.append(f"an all row's identifier must be {ALL_USERS}, got {_echo(row.identifier.strip())}")
    return identifier_type


def find_duplicates(rows: Sequence[CsvRow]) -> dict[int, int]:
    """Line of each exact repeat (all six cells equal after trimming) -> line of its first occurrence.

    Overfull rows take no part: they fail on their own.
    """
    first: dict[tuple[str, ...], int] = {}
    duplicates: dict[int, int] = {}
    for row in rows:
        if isinstance(row, OverfullRow):
            continue
        key = tuple(cell.strip() for cell in row.cells())
        seen = first.setdefault(key, row.line)
        if seen != row.line:
            duplicates[row.line] = seen
    return duplicates
