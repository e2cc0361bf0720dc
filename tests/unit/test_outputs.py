"""What a job writes: the four CSV files, and the summary people read."""

from __future__ import annotations

import re

import pytest

from connect_profiles.domain.csv_input import read_csv
from connect_profiles.domain.engine import JobResult
from connect_profiles.domain.model import REPORT_COLUMNS, CsvRow, RowOutcome, Status
from connect_profiles.domain.outputs import (
    FAILURES_SHOWN,
    format_table,
    rejection_summary,
    render_files,
    summarise,
)
from tests.fakes import subject_problem

LOCATION = "s3://bucket/reports/changes/20261125T120000Z-abcd1234/"


def outcome(line: int, action: str, status: Status, message: str = "", ident: str = "jdoe") -> RowOutcome:
    level = "" if action == "remove" else "2"
    return RowOutcome(
        CsvRow(line, ident, "username", action, "tier", f"T{line}", level), status, message, "u-1"
    )


def result(*outcomes: RowOutcome, dry_run: bool = False, warnings: list[str] | None = None) -> JobResult:
    return JobResult(list(outcomes), [], [], warnings or [], dry_run)


def summary_of(job: JobResult, *, file_name: str = "changes.csv", duration: float = 12.34) -> tuple[str, str]:
    summary = summarise(
        job, file_name=file_name, instance_id="inst-1", duration_seconds=duration, location=LOCATION
    )
    return summary.subject, summary.body


# --- the files ------------------------------------------------------------------------------------


def test_the_four_files_hold_the_report_the_undo_the_failed_rows_and_the_backup() -> None:
    failed = outcome(3, "update", Status.FAILED, "not assigned; use add")
    job = JobResult(
        [outcome(2, "add", Status.SUCCEEDED, "added at level 2"), failed],
        backup=[("u-1", "user_id", "add", "tier", "T9", "4")],
        rollback=[("u-1", "user_id", "remove", "tier", "T2", "")],
        warnings=[],
    )
    files = render_files(job)
    assert set(files) == {"report.csv", "rollback.csv", "retry.csv", "backup.csv"}
    report = files["report.csv"].decode("utf-8-sig").splitlines()
    assert report[0] == ",".join(REPORT_COLUMNS)
    assert report[1:] == [
        "2,jdoe,username,add,tier,T2,2,u-1,succeeded,added at level 2",
        "3,jdoe,username,update,tier,T3,2,u-1,failed,not assigned; use add",
    ]
    # The input-format files read back as input files, to the same cells
    assert [r.cells() for r in read_csv(files["retry.csv"]).rows] == [failed.row.cells()]
    assert [r.cells() for r in read_csv(files["rollback.csv"]).rows] == [job.rollback[0]]
    assert [r.cells() for r in read_csv(files["backup.csv"]).rows] == [job.backup[0]]


def test_every_file_is_excel_safe_and_reads_back_exactly() -> None:
    row = CsvRow(2, "=cmd|' /C calc'!A0", "username", "add", "+tier", "-T1", "2")
    job = JobResult([RowOutcome(row, Status.FAILED, "@SUM(1)")], [], [], [])
    files = render_files(job)
    report = files["report.csv"].decode("utf-8-sig")
    assert "\r\n2,'=cmd" in report
    assert ",'+tier,'-T1," in report
    assert report.endswith(",'@SUM(1)\r\n")
    assert "\r\n'=cmd" in files["retry.csv"].decode("utf-8-sig")
    [back] = read_csv(files["retry.csv"]).rows
    assert back.cells() == row.cells()


# --- the summary ----------------------------------------------------------------------------------


def test_the_subject_names_the_file_and_the_counts_and_the_body_counts_by_action() -> None:
    job = result(
        outcome(2, "add", Status.SUCCEEDED),
        outcome(3, "add", Status.SUCCEEDED),
        outcome(4, "add", Status.FAILED, "boom"),
        outcome(5, "update", Status.SKIPPED),
        outcome(6, "remove", Status.SUCCEEDED),
        outcome(7, "remove", Status.SKIPPED),
        outcome(8, "Remove", Status.SKIPPED),
    )
    subject, body = summary_of(job)
    assert subject == "Connect profiles: changes.csv: 3 succeeded, 3 skipped, 1 failed"
    assert "Rows: 7 (3 succeeded, 3 skipped, 1 failed)." in body
    by_action = body.split("By action:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert by_action == [
        "  add: 2 succeeded, 1 failed",
        "  remove: 1 succeeded, 2 skipped",
        "  update: 1 skipped",
    ]
    assert "Applied changes.csv to Amazon Connect instance inst-1." in body


def test_the_subject_always_says_how_many_failed_and_omits_other_empty_statuses() -> None:
    subject, _ = summary_of(result(outcome(2, "add", Status.SKIPPED)))
    assert subject.endswith(": 1 skipped, 0 failed")


def test_a_dry_run_is_marked_in_subject_and_body() -> None:
    job = result(outcome(2, "add", Status.PLANNED, "would add at level 2"), dry_run=True)
    subject, body = summary_of(job)
    assert subject == "DRY RUN Connect profiles: changes.csv: 1 planned, 0 failed"
    assert body.startswith("Dry run of changes.csv to Amazon Connect instance inst-1.\n")
    assert "Nothing was changed" in body
    assert "  add: 1 planned" in body
    # an applied job says no such thing
    _, applied = summary_of(result(outcome(2, "add", Status.SUCCEEDED)))
    assert "Nothing was changed" not in applied
    assert "DRY RUN" not in applied


@pytest.mark.parametrize(("seconds", "shown"), [(12.34, "12.3"), (0.0, "0.0"), (3725.96, "3726.0")])
def test_the_body_gives_the_duration(seconds: float, shown: str) -> None:
    _, body = summary_of(result(outcome(2, "add", Status.SUCCEEDED)), duration=seconds)
    assert f"Duration: {shown} s." in body


def test_the_body_lists_only_the_first_failures_and_says_how_many_there_are() -> None:
    total = FAILURES_SHOWN + 3
    job = result(
        outcome(2, "add", Status.SUCCEEDED),
        *[
            outcome(line, "add", Status.FAILED, f"reason {line}", ident=f"user{line}")
            for line in range(3, 3 + total)
        ],
    )
    _, body = summary_of(job)
    assert f"Failures (first {FAILURES_SHOWN} of {total}):" in body
    listed = re.findall(r"^  line (\d+): (\S+) add tier=T\d+: reason (\d+)$", body, flags=re.MULTILINE)
    assert [int(line) for line, _, _ in listed] == list(range(3, 3 + FAILURES_SHOWN))
    assert all(ident == f"user{line}" and reason == line for line, ident, reason in listed)
    assert f"line {3 + FAILURES_SHOWN}:" not in body


def test_a_few_failures_are_all_listed_and_none_means_no_failures_section() -> None:
    _, body = summary_of(result(outcome(4, "update", Status.FAILED, "not assigned; use add")))
    assert "Failures (first 1 of 1):\n  line 4: jdoe update tier=T4: not assigned; use add" in body
    _, clean = summary_of(result(outcome(2, "add", Status.SUCCEEDED)))
    assert "Failures" not in clean


def test_the_body_shows_warnings_and_where_the_files_are() -> None:
    job = result(outcome(2, "add", Status.SUCCEEDED), warnings=["Ignored unknown column: 'notes'."])
    _, body = summary_of(job)
    assert "Warning: Ignored unknown column: 'notes'." in body
    assert f"Files in {LOCATION}:" in body
    for name in ("report.csv", "rollback.csv", "retry.csv", "backup.csv"):
        assert f"  {name}: " in body
    _, quiet = summary_of(result(outcome(2, "add", Status.SUCCEEDED)))
    assert "Warning" not in quiet


def test_a_long_file_name_is_shortened_so_the_subject_fits_sns() -> None:
    name = "quarterly-skills-review-" + "x" * 150 + ".csv"
    subject, _ = summary_of(result(outcome(2, "add", Status.SUCCEEDED)), file_name=name)
    assert len(subject) <= 100
    assert subject.startswith("Connect profiles: quarterly-skills-review-x")
    assert subject.endswith(": 1 succeeded, 0 failed")


@pytest.mark.xfail(
    strict=True,
    reason="BUG (DESIGN.md 3: 'a subject SNS accepts (ASCII only ...)'): the subject is shortened with '…' "
    "and keeps a non-ASCII file name as it is, so SNS Publish refuses it",
)
@pytest.mark.parametrize("name", ["x" * 150 + ".csv", "équipe-été.csv"])
def test_every_subject_is_one_sns_accepts(name: str) -> None:
    subject, _ = summary_of(result(outcome(2, "add", Status.SUCCEEDED)), file_name=name)
    assert subject_problem(subject) == ""
    reject = rejection_summary(file_name=name, instance_id="i", reason="r", dry_run=False, location=LOCATION)
    assert subject_problem(reject.subject) == ""


def test_a_rejection_says_why_and_that_nothing_was_applied() -> None:
    summary = rejection_summary(
        file_name="broken.csv",
        instance_id="inst-1",
        reason="The file is empty.",
        dry_run=True,
        location=LOCATION,
    )
    assert summary.subject == "DRY RUN Connect profiles: broken.csv: rejected, nothing applied"
    assert (
        "broken.csv was rejected: nothing in it was applied to Amazon Connect instance inst-1."
        in summary.body
    )
    assert "Reason: The file is empty." in summary.body
    assert LOCATION in summary.body
    applied = rejection_summary(file_name="b.csv", instance_id="i", reason="r", dry_run=False, location="l")
    assert applied.subject == "Connect profiles: b.csv: rejected, nothing applied"


def test_format_table_aligns_columns_and_clips_long_cells() -> None:
    text = format_table(("line", "status"), [("2", "succeeded"), ("10", "x" * 8)], width=6)
    assert text.splitlines() == [
        "line  status",
        "2     succe…",
        "10    xxxxx…",
    ]
    assert format_table(("a",), [("abcdef",)], width=6).splitlines() == ["a", "abcdef"]


def test_the_whole_body_of_an_applied_job_reads_as_a_person_expects() -> None:
    job = result(
        outcome(2, "add", Status.SUCCEEDED, "added at level 2"),
        outcome(3, "remove", Status.FAILED, "not allowed"),
        warnings=["Ignored unknown column: 'notes'."],
    )
    _, body = summary_of(job, duration=4.0)
    assert body.split("\n") == [
        "Applied changes.csv to Amazon Connect instance inst-1.",
        "Duration: 4.0 s. Rows: 2 (1 succeeded, 1 failed).",
        "",
        "By action:",
        "  add: 1 succeeded",
        "  remove: 1 failed",
        "",
        "Failures (first 1 of 1):",
        "  line 3: jdoe remove tier=T3: not allowed",
        "",
        "Warning: Ignored unknown column: 'notes'.",
        "",
        f"Files in {LOCATION}:",
        "  report.csv: every row with its status and message",
        "  rollback.csv: drop it into incoming/ to undo this job's changes",
        "  retry.csv: the failed rows, to fix and drop again",
        "  backup.csv: every touched user's proficiencies before the job",
    ]


def test_the_body_of_a_dry_run_without_warnings_has_no_empty_sections() -> None:
    job = result(outcome(2, "add", Status.PLANNED, "would add at level 2"), dry_run=True)
    _, body = summary_of(job, duration=1.0)
    assert body.split("\n")[:7] == [
        "Dry run of changes.csv to Amazon Connect instance inst-1.",
        "Nothing was changed: every change below is planned, not applied.",
        "Duration: 1.0 s. Rows: 1 (1 planned, 0 failed).",
        "",
        "By action:",
        "  add: 1 planned",
        "",
    ]
    assert body.split("\n")[7] == f"Files in {LOCATION}:"


def test_the_whole_body_of_a_rejection() -> None:
    summary = rejection_summary(
        file_name="broken.csv",
        instance_id="inst-1",
        reason="The file is empty.",
        dry_run=False,
        location=LOCATION,
    )
    assert summary.body.split("\n") == [
        "broken.csv was rejected: nothing in it was applied to Amazon Connect instance inst-1.",
        "",
        "Reason: The file is empty.",
        "",
        f"Fix the file and drop it again. Details are in {LOCATION}.",
    ]


def test_a_file_name_that_just_fits_is_kept_whole_and_one_longer_is_shortened_to_fill_the_subject() -> None:
    fixed, tail = "Connect profiles: ", ": 1 succeeded, 0 failed"
    room = 100 - len(fixed) - len(tail)
    job = result(outcome(2, "add", Status.SUCCEEDED))
    fits = "f" * (room - 4) + ".csv"
    subject, _ = summary_of(job, file_name=fits)
    assert subject == fixed + fits + tail
    assert len(subject) == 100
    longer = "g" * (room - 3) + ".csv"
    subject, _ = summary_of(job, file_name=longer)
    # shortened to use the whole room (the marker of the cut is left open: see the xfail above)
    assert len(subject) == 100
    assert subject.startswith(fixed + longer[: room - 4])
    assert subject.endswith(tail)


def test_format_table_clips_at_60_characters_by_default_and_refuses_ragged_rows() -> None:
    text = format_table(("name",), [("n" * 60,), ("m" * 61,)])
    assert text.splitlines()[1:] == ["n" * 60, "m" * 59 + "…"]
    with pytest.raises(ValueError, match="zip"):
        format_table(("a",), [("1", "2")])
