"""Reading input CSVs as people make them, file-level rejections, and the offline row checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from connect_profiles.domain.csv_input import (
    Limits,
    OverfullRow,
    ParsedFile,
    check_row,
    find_duplicates,
    read_csv,
)
from connect_profiles.domain.model import Action, Change, CsvRow, FileRejected, IdentifierType

FIXTURES = Path(__file__).parent.parent / "fixtures" / "csv"
HEADER = "identifier,identifier_type,action,attribute,value,level"


def csv_bytes(*lines: str, eol: str = "\r\n", encoding: str = "utf-8") -> bytes:
    return eol.join(lines).encode(encoding) + eol.encode(encoding)


def cells(parsed: ParsedFile) -> list[tuple[int, tuple[str, ...]]]:
    return [(row.line, row.cells()) for row in parsed.rows]


def row(
    *,
    identifier: str = "alice",
    identifier_type: str = "username",
    action: str = "add",
    attribute: str = "Language",
    value: str = "French",
    level: str = "3",
    line: int = 2,
) -> CsvRow:
    return CsvRow(line, identifier, identifier_type, action, attribute, value, level)


def rejection(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(FileRejected) as caught:
        read_csv(data) if limits is None else read_csv(data, limits)
    return str(caught.value)


# --------------------------------------------------------------------------------------------------
# Encodings


def test_reads_utf8_without_bom() -> None:
    # Given a UTF-8 file with an accented value
    data = csv_bytes(HEADER, "alice,username,add,Langue,Français,3")
    # When it is read
    parsed = read_csv(data)
    # Then the value comes back with its accent and the encoding is reported
    assert cells(parsed) == [(2, ("alice", "username", "add", "Langue", "Français", "3"))]
    assert parsed.encoding == "utf-8"
    assert parsed.warnings == []


def test_reads_utf8_with_bom_and_the_bom_is_not_part_of_the_first_column_name() -> None:
    # Given a UTF-8 file with a BOM, as Excel's "CSV UTF-8" writes it
    data = b"\xef\xbb\xbf" + csv_bytes(HEADER, "zoë,username,add,Langue,Français,3")
    # When it is read
    parsed = read_csv(data)
    # Then the identifier column is found and the accents survive
    assert cells(parsed) == [(2, ("zoë", "username", "add", "Langue", "Français", "3"))]
    assert parsed.encoding == "utf-8-sig"


def test_falls_back_to_cp1252_with_a_warning() -> None:
    # Given a file saved by Excel as plain "CSV" on Windows: é is the single byte 0xE9
    data = csv_bytes(HEADER, "josé,username,add,Langue,Français,3", encoding="cp1252")
    assert b"\xe9" in data
    # When it is read
    parsed = read_csv(data)
    # Then it is decoded as cp1252 and the person is told
    assert cells(parsed) == [(2, ("josé", "username", "add", "Langue", "Français", "3"))]
    assert parsed.encoding == "cp1252"
    assert any("cp1252" in warning and "UTF-8" in warning for warning in parsed.warnings)


def test_rejects_bytes_that_are_neither_utf8_nor_cp1252() -> None:
    # Given a file with 0x81, which is invalid UTF-8 and undefined in cp1252
    data = csv_bytes(HEADER) + b"alice,username,add,Lang,\x81,3\r\n"
    # When it is read, Then it is rejected with advice to save as UTF-8
    message = rejection(data)
    assert "0x81" in message
    assert "CSV UTF-8" in message


def test_rejects_utf16_with_a_hint() -> None:
    # Given the file Excel writes as "Unicode Text" (UTF-16)
    data = csv_bytes(HEADER, "alice,username,add,Lang,French,3", encoding="utf-16")
    # When it is read, Then the message names UTF-16 and says what to save instead
    message = rejection(data)
    assert "UTF-16" in message
    assert "CSV UTF-8" in message


def test_rejects_an_xlsx_workbook_with_a_hint() -> None:
    # Given a workbook dropped instead of a CSV (a zip file)
    data = b"PK\x03\x04" + bytes(40)
    # When it is read, Then the message says to save as CSV
    message = rejection(data)
    assert ".xlsx" in message
    assert "CSV UTF-8" in message


# --------------------------------------------------------------------------------------------------
# Delimiters, line ends, blank lines, spaces, header


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_detects_the_delimiter_from_the_header(delimiter: str) -> None:
    # Given the same file written with each delimiter, with a value holding the other two characters
    other = "".join(d for d in ",;\t" if d != delimiter)
    lines = [
        HEADER.replace(",", delimiter),
        delimiter.join(["alice", "username", "add", "Lang", f'"a{other}b"', "3"]),
    ]
    # When it is read
    parsed = read_csv(csv_bytes(*lines))
    # Then the delimiter is found and the value keeps the other characters
    assert parsed.delimiter == delimiter
    assert cells(parsed) == [(2, ("alice", "username", "add", "Lang", f"a{other}b", "3"))]


def test_a_comma_header_wins_even_when_values_contain_semicolons() -> None:
    # Given a comma file whose data rows are full of semicolons
    data = csv_bytes(HEADER, "a;b;c;d;e;f;g,username,add,x;y,z;w,3")
    # When it is read
    parsed = read_csv(data)
    # Then the header decides: comma
    assert parsed.delimiter == ","
    assert parsed.rows[0].identifier == "a;b;c;d;e;f;g"


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r"], ids=["crlf", "lf", "cr"])
def test_reads_every_line_ending(eol: str) -> None:
    # Given a file with two rows and the given line ending
    data = csv_bytes(HEADER, "alice,username,add,Lang,French,3", "bob,user_id,remove,Lang,French,", eol=eol)
    # When it is read
    parsed = read_csv(data)
    # Then both rows are there, with no stray CR in the last cell
    assert cells(parsed) == [
        (2, ("alice", "username", "add", "Lang", "French", "3")),
        (3, ("bob", "user_id", "remove", "Lang", "French", "")),
    ]


def test_blank_lines_are_not_rows_but_count_in_line_numbers() -> None:
    # Given blank lines: empty, spaces only, and delimiters only
    data = csv_bytes(
        HEADER,
        "",
        "alice,username,add,Lang,French,3",
        "   ",
        ",,,,,",
        " , , ,, ,",
        "bob,username,add,Lang,French,4",
        "",
    )
    # When it is read
    parsed = read_csv(data)
    # Then only the two data rows come back, at their spreadsheet row numbers
    assert [r.line for r in parsed.rows] == [3, 7]
    assert [r.identifier for r in parsed.rows] == ["alice", "bob"]


def test_blank_lines_before_the_header_shift_the_numbering_like_a_spreadsheet() -> None:
    # Given a file whose first line is empty
    data = csv_bytes("", HEADER, "alice,username,add,Lang,French,3")
    # When it is read, Then the header is on line 2 and the first data row on line 3
    assert [r.line for r in read_csv(data).rows] == [3]


def test_stray_spaces_around_cells_are_trimmed() -> None:
    # Given cells padded with spaces and tabs, header included
    data = csv_bytes(
        " identifier , identifier_type ,action, attribute,value ,  level ",
        "  alice  ,  username ,  add ,\tLanguage\t, French  , 3 ",
    )
    # When it is read
    parsed = read_csv(data)
    # Then every cell is trimmed
    assert cells(parsed) == [(2, ("alice", "username", "add", "Language", "French", "3"))]


def test_a_quoted_cell_after_a_stray_space_is_still_quoted() -> None:
    # Given spaces after the delimiters and a quoted value holding the delimiter
    data = csv_bytes(HEADER, 'alice, username, add, Technology, "Routers, switches", 3')
    # When it is read, Then the quoted value is one cell
    assert read_csv(data).rows[0].value == "Routers, switches"


def test_header_names_are_case_insensitive_in_any_order_and_unknown_columns_warn() -> None:
    # Given a header in another order and case, with an extra column and trailing unnamed columns
    data = csv_bytes(
        "Level,VALUE,Notes,Attribute,ACTION,Identifier_Type,IDENTIFIER,,",
        "4,French,call me,Language,add,username,alice,,",
    )
    # When it is read
    parsed = read_csv(data)
    # Then cells are mapped by name, and only the named unknown column is warned about
    assert cells(parsed) == [(2, ("alice", "username", "add", "Language", "French", "4"))]
    assert len(parsed.warnings) == 1
    assert "'Notes'" in parsed.warnings[0]
    assert "unknown column" in parsed.warnings[0]


def test_level_column_may_be_absent_when_every_row_is_a_remove() -> None:
    # Given a remove-only file without a level column
    data = csv_bytes("identifier,identifier_type,action,attribute,value", "alice,username,REMOVE,Lang,French")
    # When it is read
    parsed = read_csv(data)
    # Then the level is empty and the row passes the checks
    assert parsed.rows[0].level == ""
    change = check_row(parsed.rows[0])
    assert isinstance(change, Change)
    assert change.level is None


def test_a_quoted_cell_with_a_line_break_is_one_line() -> None:
    # Given a quoted value spanning two text lines, and a quoted value with a comma and a quote
    data = csv_bytes(
        HEADER,
        'alice,username,add,Notes,"first\r\nsecond",3',
        'bob,username,add,Notes,"a, ""b""",3',
    )
    # When it is read
    parsed = read_csv(data)
    # Then the line break is kept, and the next record is line 3 (not 4)
    assert cells(parsed) == [
        (2, ("alice", "username", "add", "Notes", "first\r\nsecond", "3")),
        (3, ("bob", "username", "add", "Notes", 'a, "b"', "3")),
    ]


def test_missing_trailing_cells_are_empty() -> None:
    # Given a row that stops after the attribute
    data = csv_bytes(HEADER, "alice,username,add,Lang")
    # When it is read
    parsed = read_csv(data)
    # Then the value and level are empty strings, and the row fails its checks
    assert parsed.rows[0].cells() == ("alice", "username", "add", "Lang", "", "")
    message = check_row(parsed.rows[0])
    assert isinstance(message, str)
    assert "value is empty" in message
    assert "level is empty" in message


def test_trailing_empty_cells_beyond_the_header_are_harmless() -> None:
    # Given a row with extra delimiters but nothing in them (as spreadsheets write)
    data = csv_bytes(HEADER, "alice,username,add,Lang,French,3,, ,")
    # When it is read and checked
    parsed = read_csv(data)
    # Then it is an ordinary row
    assert not isinstance(parsed.rows[0], OverfullRow)
    assert isinstance(check_row(parsed.rows[0]), Change)


def test_a_row_with_more_cells_than_the_header_fails_its_check() -> None:
    # Given a row whose value contains an unquoted comma, giving 8 cells for 6 columns
    data = csv_bytes(HEADER, "alice,username,add,Lang,French,Canadian,3,x", "bob,username,add,Lang,French,3")
    # When it is read and checked
    parsed = read_csv(data)
    result = [check_row(r) for r in parsed.rows]
    # Then the row is kept (it gets a report line) but fails with the counts; the next row is fine
    assert parsed.rows[0].line == 2
    assert parsed.rows[0].cells() == ("alice", "username", "add", "Lang", "French", "Canadian")
    assert isinstance(result[0], str)
    assert "line has 8 cells but the header has 6 columns" in result[0]
    assert isinstance(result[1], Change)


def test_cells_under_trailing_unnamed_header_columns_make_a_row_overfull() -> None:
    # Given a header with two trailing empty names, and a row with a value in the first of them
    data = csv_bytes(
        f"{HEADER},,", "alice,username,add,Lang,French,3,,", "bob,username,add,Lang,French,3,oops,"
    )
    # When it is read and checked
    result = [check_row(r) for r in read_csv(data).rows]
    # Then the first row is fine and the second fails against the six named columns
    assert isinstance(result[0], Change)
    assert result[1] == (
        "line has 7 cells but the header has 6 columns: "
        "remove the extra cells, or quote a cell that contains the delimiter"
    )


def test_a_leading_quote_is_removed_so_our_own_outputs_round_trip() -> None:
    # Given cells written with the Excel-safety quote, one typed after stray spaces
    data = csv_bytes(HEADER, "'=alice,username,add,'-Lang,  '@x,3", "'' quoted,username,add,Lang,'' ,3")
    # When it is read
    parsed = read_csv(data)
    # Then exactly one quote is removed; after it, the rest of the cell is kept verbatim
    assert cells(parsed) == [
        (2, ("=alice", "username", "add", "-Lang", "@x", "3")),
        (3, ("' quoted", "username", "add", "Lang", "' ", "3")),
    ]


# --------------------------------------------------------------------------------------------------
# Fixtures: files as people make them


def test_fixture_excel_semicolon_cp1252() -> None:
    # Given a European Excel export (cp1252, semicolons, CRLF, extra and unnamed columns, a blank row)
    data = (FIXTURES / "excel_semicolon_cp1252.csv").read_bytes()
    # When it is read
    parsed = read_csv(data)
    # Then everything is understood
    assert (parsed.encoding, parsed.delimiter) == ("cp1252", ";")
    assert cells(parsed) == [
        (2, ("josé.garcia", "username", "ADD", "Langue", "Français", "3")),
        (4, ("c0ffee00-1111-2222-3333-444455556666", "user_id", "remove", "Langue", "Español", "")),
    ]
    assert any("'Comment'" in warning for warning in parsed.warnings)
    assert all(isinstance(check_row(r), Change) for r in parsed.rows)


def test_fixture_utf8_bom_tab() -> None:
    # Given a tab-delimited UTF-8 file with a BOM and reordered columns
    parsed = read_csv((FIXTURES / "utf8_bom_tab.csv").read_bytes())
    # Then it is read by column name
    assert (parsed.encoding, parsed.delimiter) == ("utf-8-sig", "\t")
    assert cells(parsed) == [
        (2, ("zoë", "username", "update", "Language", "Bilingue (français/English)", "5"))
    ]


def test_fixture_quoted_utf8() -> None:
    # Given a file with quoted cells holding a comma and a line break
    parsed = read_csv((FIXTURES / "quoted_utf8.csv").read_bytes())
    # Then the third record is line 4, though it is on text line 5
    assert [(r.line, r.value) for r in parsed.rows] == [
        (2, "Routers, switches"),
        (3, "first line\nsecond line"),
        (4, "Routers, switches"),
    ]
    changes = [check_row(r) for r in parsed.rows]
    assert [c.level for c in changes if isinstance(c, Change)] == [2, 4, None]


# --------------------------------------------------------------------------------------------------
# File-level rejections


def test_rejects_a_file_over_the_size_limit_saying_size_and_limit() -> None:
    # Given a limit of 100 bytes and a 130-byte file
    data = csv_bytes(HEADER, "alice,username,add,Lang,French,3")
    data += b" " * (130 - len(data))
    # When it is read, Then the size and the limit are both in the message
    message = rejection(data, Limits(max_bytes=100))
    assert "The file is 130 bytes; the limit is 100 bytes" in message


def test_a_big_file_size_is_given_in_mib_and_bytes() -> None:
    # Given a 2 MiB limit and a file one byte over it
    data = csv_bytes(HEADER) + b" " * (2 * 1024 * 1024 - len(csv_bytes(HEADER)) + 1)
    # When it is read, Then both sizes are readable and exact
    message = rejection(data, Limits(max_bytes=2 * 1024 * 1024))
    assert "2.0 MiB (2,097,153 bytes)" in message
    assert "limit is 2.0 MiB (2,097,152 bytes)" in message


def test_a_file_at_exactly_the_size_limit_is_read() -> None:
    # Given a file exactly as big as the limit
    data = csv_bytes(HEADER, "alice,username,add,Lang,French,3")
    # When it is read with that limit, Then it is accepted
    assert len(read_csv(data, Limits(max_bytes=len(data))).rows) == 1


@pytest.mark.parametrize(
    "data", [b"", b"\xef\xbb\xbf", b"  \r\n\r\n \t"], ids=["empty", "bom-only", "whitespace"]
)
def test_rejects_an_empty_file(data: bytes) -> None:
    # When an empty file is read, Then the message says it is empty and shows the expected header
    message = rejection(data)
    assert "empty" in message
    assert HEADER in message


def test_rejects_a_file_with_no_header_row() -> None:
    # Given a file whose records hold only empty (quoted) cells
    message = rejection(b'"",""\r\n""\r\n')
    # Then the message asks for the header
    assert "no header row" in message
    assert HEADER in message


def test_rejects_missing_required_columns_naming_them_and_the_columns_found() -> None:
    # Given a header with misspelled attribute and value columns
    data = csv_bytes("identifier,identifier_type,action,attr,val,level", "alice,username,add,Lang,French,3")
    # When it is read
    message = rejection(data)
    # Then the missing columns are named and the columns found are listed
    assert "missing the required columns attribute, value" in message
    assert "'attr'" in message
    assert "'val'" in message
    assert "comma-delimited" in message


def test_a_header_with_no_known_column_is_read_as_comma_delimited_in_the_message() -> None:
    # Given a single-column header: no delimiter finds any known column (a tie)
    message = rejection(csv_bytes("name", "alice"))
    # Then comma wins the tie and every required column is named as missing
    assert "comma-delimited" in message
    assert "identifier, identifier_type, action, attribute, value" in message


def test_rejects_a_missing_level_column_when_there_are_add_or_update_rows() -> None:
    # Given a file without a level column, whose second row is an update
    data = csv_bytes(
        "identifier,identifier_type,action,attribute,value",
        "alice,username,remove,Lang,French",
        "alice,username, Update ,Lang,French",
    )
    # When it is read, Then the message says level is needed for set, add and update rows, from line 3
    message = rejection(data)
    assert "level is needed for set, add and update rows" in message
    assert "line 3" in message
    assert "1 to 5" in message


def test_rejects_duplicate_column_names() -> None:
    # Given two identifier columns differing only in case and spaces
    data = csv_bytes(
        "identifier,identifier_type,action,attribute,value,level, Identifier", "a,username,add,L,V,3,b"
    )
    # When it is read, Then the column and both positions are named
    message = rejection(data)
    assert "'identifier' appears more than once" in message
    assert "columns 1 and 7" in message


def test_rejects_too_many_data_rows_with_count_limit_and_advice() -> None:
    # Given five data rows (and blank lines, which do not count) with a limit of three
    data = csv_bytes(HEADER, *["", "alice,username,add,Lang,French,3"] * 5)
    # When it is read
    message = rejection(data, Limits(max_rows=3))
    # Then the count, the limit and the advice to split are in the message
    assert "5 data rows" in message
    assert "limit is 3" in message
    assert "Split" in message


def test_exactly_max_rows_data_rows_are_accepted_blank_lines_not_counted() -> None:
    # Given three data rows among blank lines, with a limit of three
    data = csv_bytes(HEADER, *["alice,username,add,Lang,French,3", ""] * 3)
    # When it is read, Then all three rows are returned
    assert [r.line for r in read_csv(data, Limits(max_rows=3)).rows] == [2, 4, 6]


@pytest.mark.parametrize("blank", [(), ("",), ("", " , ,,", "")], ids=["none", "one", "several"])
def test_rejects_a_file_with_no_data_rows(blank: tuple[str, ...]) -> None:
    # Given a header followed only by blank lines
    message = rejection(csv_bytes(HEADER, *blank))
    # Then the message says there are no data rows
    assert "no data rows" in message


def test_rejects_a_cell_longer_than_the_limit_giving_line_and_column() -> None:
    # Given a limit of 10 characters and an 11-character value on the second data row
    data = csv_bytes(HEADER, "alice,username,add,Lang,French,3", "bob,username,add,Lang,ABCDEFGHIJK,3")
    # When it is read
    message = rejection(data, Limits(max_cell_chars=10))
    # Then the line, the column and the limit are named
    assert "Line 3, column 5 (value)" in message
    assert "11 characters" in message
    assert "limit is 10" in message


def test_a_cell_far_over_the_csv_module_field_limit_is_rejected_as_too_long() -> None:
    # Given an unterminated quote swallowing 200,000 characters (beyond the csv module's own limit)
    data = csv_bytes(HEADER, 'alice,username,add,Lang,"French,3') + b"x" * 200_000
    # When it is read, Then the message points at the cell and the likely missing quote
    message = rejection(data)
    assert "Line 2" in message
    assert "missing closing quote" in message


@pytest.mark.parametrize(
    ("bad_line", "expected_line"),
    [
        ('alice,username,add,Lang,"French"x,3', "line 3"),
        ('alice,username,add,Lang,"French,3', "line 3"),
    ],
    ids=["text-after-closing-quote", "unterminated-quote"],
)
def test_rejects_malformed_csv_giving_the_line(bad_line: str, expected_line: str) -> None:
    # Given a good row then a row with broken quoting
    data = csv_bytes(HEADER, "bob,username,add,Lang,French,3", bad_line)
    # When it is read, Then the message gives the line and explains quoting
    message = rejection(data)
    assert expected_line in message
    assert "not valid CSV" in message


# --------------------------------------------------------------------------------------------------
# check_row


def test_check_row_accepts_a_valid_add_case_insensitively() -> None:
    # Given a valid row with upper-case type and action
    valid = row(identifier_type="User_ID", action="ADD", level="4")
    # When it is checked
    change = check_row(valid)
    # Then it is a Change with the parsed enums and level, and the row as read
    assert change == Change(row=valid, identifier_type=IdentifierType.USER_ID, action=Action.ADD, level=4)


@pytest.mark.parametrize(
    ("level", "expected"),
    [("1", 1), ("3", 3), ("5", 5), ("3.0", 3), ("3.00", 3), (" 3 ", 3), ("03", 3), ("5.000", 5)],
)
@pytest.mark.parametrize("action", ["add", "update"])
def test_check_row_accepts_whole_levels_1_to_5(action: str, level: str, expected: int) -> None:
    # When a row with this level is checked
    change = check_row(row(action=action, level=level))
    # Then the level is the whole number
    assert isinstance(change, Change)
    assert change.level == expected


@pytest.mark.parametrize(
    "level",
    [
        "0",
        "6",
        "2.5",
        "3.01",
        "abc",
        "nan",
        "inf",
        "1e0",
        "-1",
        "+3",
        "3.",
        ".5",
        "10",
        "3,5",
        "\uff13",
        "0.0",
    ],
)
@pytest.mark.parametrize("action", ["add", "update", "set"])
def test_check_row_rejects_other_levels_naming_the_range_and_echoing_the_value(
    action: str, level: str
) -> None:
    # When a row with this level is checked
    message = check_row(row(action=action, level=level))
    # Then the message names the 1-5 range and repeats the bad value
    assert isinstance(message, str)
    assert "whole number from 1 to 5" in message
    assert repr(level) in message


@pytest.mark.parametrize("level", ["", "   "])
def test_check_row_rejects_an_empty_level_for_add(level: str) -> None:
    # When an add without a level is checked
    message = check_row(row(level=level))
    # Then the message says the level is empty and what it should be
    assert isinstance(message, str)
    assert "level is empty" in message
    assert "1 to 5" in message


@pytest.mark.parametrize("level", ["", "abc", "9", "2.5"])
def test_check_row_ignores_the_level_of_a_remove(level: str) -> None:
    # When a remove with any level is checked
    change = check_row(row(action=" Remove ", level=level))
    # Then it passes with no level
    assert isinstance(change, Change)
    assert change.action is Action.REMOVE
    assert change.level is None


def test_check_row_rejects_an_empty_identifier() -> None:
    message = check_row(row(identifier="  "))
    assert isinstance(message, str)
    assert "identifier is empty" in message


@pytest.mark.parametrize("identifier_type", ["email", "user id", ""])
def test_check_row_rejects_an_unknown_identifier_type_listing_the_allowed_ones(identifier_type: str) -> None:
    message = check_row(row(identifier_type=identifier_type))
    assert isinstance(message, str)
    assert "identifier_type must be username or user_id" in message
    assert (repr(identifier_type) if identifier_type else "empty") in message


@pytest.mark.parametrize("action", ["delete", "sync", ""])
def test_check_row_rejects_an_unknown_action_listing_the_allowed_ones(action: str) -> None:
    message = check_row(row(action=action))
    assert isinstance(message, str)
    assert "action must be add, update, remove or set" in message
    assert (repr(action) if action else "empty") in message


@pytest.mark.parametrize("column", ["attribute", "value"])
def test_check_row_rejects_an_empty_or_too_long_attribute_or_value(column: str) -> None:
    # Given empty, 101-character and 100-character cells
    def with_cell(text: str) -> CsvRow:
        return row(attribute=text) if column == "attribute" else row(value=text)

    empty = check_row(with_cell(""))
    too_long = check_row(with_cell("x" * 101))
    at_limit = check_row(with_cell("é" * 100))
    # Then the first two fail with specific messages and the last passes
    assert isinstance(empty, str)
    assert f"{column} is empty" in empty
    assert isinstance(too_long, str)
    assert f"{column} is 101 characters long" in too_long
    assert "over the 100 Connect allows" in too_long
    assert isinstance(at_limit, Change)


def test_check_row_reports_every_problem_at_once() -> None:
    # When a row with three problems is checked
    message = check_row(row(identifier="", action="delete", value=""))
    # Then all three are in one message
    assert isinstance(message, str)
    assert [part.split(" ")[0] for part in message.split("; ")] == ["identifier", "action", "value"]


def test_check_row_echoes_only_the_start_of_a_long_bad_value() -> None:
    message = check_row(row(level="9" * 500))
    assert isinstance(message, str)
    assert len(message) < 200


# --------------------------------------------------------------------------------------------------
# find_duplicates


def test_find_duplicates_maps_each_exact_repeat_to_its_first_line() -> None:
    # Given repeats of line 2, a near-repeat with another level, and one differing only in case
    rows = [
        row(line=2),
        row(line=3, level="4"),
        row(line=4),
        row(line=5, action="ADD"),
        row(line=7, identifier=" alice ", value="French "),
        row(line=8, level="4"),
    ]
    # When duplicates are found
    duplicates = find_duplicates(rows)
    # Then exact repeats (after trimming) point at the first occurrence
    assert duplicates == {4: 2, 7: 2, 8: 3}


def test_find_duplicates_ignores_overfull_rows() -> None:
    # Given a row read twice, the second time with extra cells
    data = csv_bytes(HEADER, "alice,username,add,Lang,French,3", "alice,username,add,Lang,French,3,x")
    # Then the overfull one is left to fail on its own
    assert find_duplicates(read_csv(data).rows) == {}


def test_find_duplicates_on_read_rows_uses_spreadsheet_lines() -> None:
    data = csv_bytes(HEADER, "alice,username,add,Lang,French,3", "", " alice , username,add,Lang,French, 3")
    assert find_duplicates(read_csv(data).rows) == {4: 2}


@pytest.mark.parametrize(("written", "level"), [("3,0", 3), ("4,00", 4), (" 2,0 ", 2)])
def test_a_decimal_comma_level_is_read_as_a_whole_number(written: str, level: int) -> None:
    # Given a level as a spreadsheet with a decimal comma writes it
    checked = check_row(row(action="set", level=written))
    # Then it is that whole number
    assert isinstance(checked, Change)
    assert checked.level == level


def test_set_is_an_action_with_a_level() -> None:
    checked = check_row(row(action=" SET ", level="4"))
    assert isinstance(checked, Change)
    assert (checked.action, checked.level) == (Action.SET, 4)


@pytest.mark.parametrize("action", ["update", "remove"])
def test_a_sync_file_refuses_update_and_remove_rows(action: str) -> None:
    message = check_row(row(action=action, level="2"), sync=True)
    assert message == "sync files list the desired proficiencies: use set"


def test_a_sync_file_reads_add_as_set() -> None:
    checked = check_row(row(action="add", level="2"), sync=True)
    assert isinstance(checked, Change)
    assert checked.action is Action.SET


def test_a_sync_set_row_with_blank_attribute_value_and_level_says_the_user_holds_nothing() -> None:
    checked = check_row(row(action="set", attribute="", value="", level=""), sync=True)
    assert isinstance(checked, Change)
    assert checked.empties
    # And outside a sync file the same row is three problems
    message = check_row(row(action="set", attribute="", value="", level=""))
    assert isinstance(message, str)
    assert "attribute is empty" in message
    assert "value is empty" in message
    assert "level is empty" in message


def test_the_informational_columns_written_by_the_project_are_read_without_a_warning() -> None:
    data = csv_bytes(
        "identifier,identifier_type,action,attribute,value,level,username,message",
        "u-1,user_id,add,Lang,French,3,alice,not assigned",
    )
    parsed = read_csv(data)
    assert parsed.warnings == []
    assert parsed.rows[0].cells() == ("u-1", "user_id", "add", "Lang", "French", "3")
