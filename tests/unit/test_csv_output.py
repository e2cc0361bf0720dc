"""Writing Excel-safe CSVs, and reading back exactly what was written."""

from __future__ import annotations

import csv
import io
import random

import pytest

from connect_profiles.domain.csv_input import read_csv
from connect_profiles.domain.csv_output import (
    input_format_csv,
    report_csv,
    restore_cell,
    safe_cell,
    write_csv,
    write_csv_to,
)
from connect_profiles.domain.model import INPUT_COLUMNS, REPORT_COLUMNS, CsvRow, RowOutcome, Status

DANGEROUS_FIRST = ["=", "+", "-", "@", "\t", "\r", "\n"]


def parse(data: bytes) -> list[list[str]]:
    """What a spreadsheet would see: the BOM removed, CSV records split."""
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def assert_excel_safe(records: list[list[str]]) -> None:
    for record in records:
        for cell in record:
            assert not cell or cell[0] not in DANGEROUS_FIRST, cell


# --------------------------------------------------------------------------------------------------
# safe_cell / restore_cell


@pytest.mark.parametrize("first", DANGEROUS_FIRST)
def test_safe_cell_neutralises_every_dangerous_first_character(first: str) -> None:
    # Given a cell starting with a character a spreadsheet may run as a formula
    value = f"{first}cmd|' /C calc'!A0"
    # When it is made safe
    safe = safe_cell(value)
    # Then a single quote is prefixed and removing it gives the original back
    assert safe == "'" + value
    assert restore_cell(safe) == value


@pytest.mark.parametrize("value", ["alice", "", "3", "a=b", "x-y", "Français", "user@example.com"])
def test_safe_cell_leaves_ordinary_cells_alone(value: str) -> None:
    assert safe_cell(value) == value
    assert restore_cell(value) == value


@pytest.mark.parametrize("value", ["'", "'=x", "''", "'quoted'"])
def test_safe_cell_doubles_a_leading_quote_so_reading_back_is_exact(value: str) -> None:
    assert safe_cell(value) == "'" + value
    assert restore_cell(safe_cell(value)) == value


@pytest.mark.parametrize("value", [" lead", "trail ", " ", "\u00a0nbsp", "x\t"])
def test_safe_cell_protects_surrounding_whitespace_from_trimming(value: str) -> None:
    # The reader trims cells, but keeps everything after a leading quote
    assert safe_cell(value) == "'" + value


# --------------------------------------------------------------------------------------------------
# write_csv and friends


def test_write_csv_is_utf8_with_bom_crlf_minimal_quoting() -> None:
    # When a small table is written
    data = write_csv(["a", "b", "c"], [["Français", "x,y", 'say "hi"'], ["1", None, "line\nbreak"]])
    # Then the bytes are exactly UTF-8 + BOM, CRLF, quotes only where needed, None as empty
    assert data == (
        b"\xef\xbb\xbfa,b,c\r\n" + 'Français,"x,y","say ""hi"""\r\n'.encode() + b'1,,"line\nbreak"\r\n'
    )


def test_write_csv_prints_whole_float_levels_as_integers() -> None:
    # Given levels as the Connect API returns them (floats), and an int
    data = write_csv(["level"], [[3.0], [5], [2.5], [None]])
    # Then whole floats print as integers
    assert parse(data) == [["level"], ["3"], ["5"], ["2.5"], [""]]


def test_write_csv_to_streams_the_same_bytes() -> None:
    # Given a text sink
    sink = io.StringIO(newline="")
    rows: list[list[str | int | None]] = [["=x", 1], ["y", None]]
    # When the CSV is streamed to it
    write_csv_to(sink, ["a", "b"], rows)
    # Then it is what write_csv returns
    assert sink.getvalue().encode("utf-8") == write_csv(["a", "b"], rows)


def test_report_csv_has_the_report_columns_and_one_line_per_outcome() -> None:
    # Given two outcomes
    outcomes = [
        RowOutcome(CsvRow(2, "alice", "username", "add", "Lang", "French", "3"), Status.SUCCEEDED, "", "u-1"),
        RowOutcome(
            CsvRow(4, "bob", "username", "update", "Lang", "French", "2"), Status.FAILED, "not assigned"
        ),
    ]
    # When the report is written
    records = parse(report_csv(outcomes))
    # Then the header is exactly REPORT_COLUMNS and each row echoes the cells as read
    assert records == [
        list(REPORT_COLUMNS),
        ["2", "alice", "username", "add", "Lang", "French", "3", "u-1", "succeeded", ""],
        ["4", "bob", "username", "update", "Lang", "French", "2", "", "failed", "not assigned"],
    ]


@pytest.mark.parametrize("first", DANGEROUS_FIRST)
def test_report_csv_neutralises_echoed_cells_and_messages(first: str) -> None:
    # Given a row whose cells and API error message start with a dangerous character
    evil = f'{first}HYPERLINK("http://evil")'
    outcome = RowOutcome(CsvRow(2, evil, "username", "add", evil, evil, "3"), Status.FAILED, evil, evil)
    # When the report is written
    records = parse(report_csv([outcome]))
    # Then no cell a spreadsheet sees starts with a dangerous character, and each evil cell is quoted
    assert_excel_safe(records)
    assert records[1][1] == records[1][7] == records[1][9] == "'" + evil


def test_input_format_csv_has_the_input_header() -> None:
    records = parse(input_format_csv([["alice", "username", "remove", "Lang", "French", None]]))
    assert records == [list(INPUT_COLUMNS), ["alice", "username", "remove", "Lang", "French", ""]]


# --------------------------------------------------------------------------------------------------
# Round trip: what we write, read_csv reads back to the same values


ROUND_TRIP_VALUES = [
    "alice",
    "Français",
    "日本語",
    "=1+1",
    '=HYPERLINK("http://x","y")',
    "+33 1 23",
    "-5",
    "@SUM(A1)",
    "'",
    "'quoted",
    "''",
    "'=x",
    "\tindented",
    "\r\nleading break",
    "\nx",
    "\rx",
    "trailing\n",
    "a,b;c\td",
    'say "hi"',
    " padded ",
    "   ",
    "\u00a0nbsp\u00a0",
    "multi\r\nline\rcell\n",
    "",
]


@pytest.mark.parametrize("value", ROUND_TRIP_VALUES)
def test_round_trip_of_any_value_in_any_column(value: str) -> None:
    # Given the value in every column of a row (after a normal row, so the file has a data row)
    rows = [["alice", "username", "add", "Lang", "French", "3"], [value] * 6]
    # When it is written in the input format and read back
    parsed = read_csv(input_format_csv(rows))
    # Then the values are identical (a row of six empty cells is a blank line, as in a spreadsheet)
    expected = [tuple(r) for r in rows if any(r)]
    assert [r.cells() for r in parsed.rows] == expected


def test_round_trip_property_with_random_strings() -> None:
    # Given random rows drawn (fixed seed) from an alphabet rich in troublemakers
    rnd = random.Random(20240601)
    alphabet = "ab Zé中\t\r\n,;\"'=+-@ \u00a0|!0123456789"
    rows = [
        [("".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 8)))) for _ in range(6)]
        for _ in range(400)
    ]
    rows = [r for r in rows if any(r)]  # an all-empty row is a blank line by definition
    # When they are written and read back
    data = input_format_csv(rows)
    parsed = read_csv(data)
    # Then every cell comes back identical, line numbers follow the rows, and the file is Excel-safe
    assert [list(r.cells()) for r in parsed.rows] == rows
    assert [r.line for r in parsed.rows] == list(range(2, len(rows) + 2))
    assert parsed.delimiter == ","
    assert_excel_safe(parse(data))


def test_round_trip_of_a_report_keeps_the_line_numbers() -> None:
    # Given a report produced from rows read from a file with a blank line
    source = b"identifier,identifier_type,action,attribute,value,level\r\n\r\n=x,username,add,L,V,3\r\n"
    parsed = read_csv(source)
    outcomes = [RowOutcome(r, Status.PLANNED, "-would add") for r in parsed.rows]
    # When it is written and parsed
    records = parse(report_csv(outcomes))
    # Then the line is the spreadsheet row and the dangerous cells are quoted
    assert records[1][:2] == ["3", "'=x"]
    assert records[1][-1] == "'-would add"
