"""What a job writes: the CSV files, the page, and the summary people read."""

from __future__ import annotations

import re

import pytest

from connect_profiles.domain.csv_input import read_csv
from connect_profiles.domain.engine import JobResult
from connect_profiles.domain.model import (
    CHANGES,
    CHANGES_COLUMNS,
    REPORT_COLUMNS,
    ChangeRecord,
    CsvRow,
    Denial,
    RowOutcome,
    Status,
)
from connect_profiles.domain.outputs import (
    CHANGES_SHOWN,
    FAILURES_SHOWN,
    SUBJECT_LIMIT,
    ascii_text,
    denial_summary,
    format_table,
    rejection_summary,
    render_files,
    s3_console_links,
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


def test_the_files_hold_the_report_the_page_the_undo_the_failed_rows_the_backup_and_the_changes() -> None:
    failed = outcome(3, "update", Status.FAILED, "not assigned; use add")
    job = JobResult(
        [outcome(2, "add", Status.SUCCEEDED, "added at level 2"), failed],
        backup=[("u-1", "user_id", "set", "tier", "T9", "4"), ("u-2", "user_id", "set", "", "", "")],
        rollback=[("u-1", "user_id", "remove", "tier", "T2", "")],
        warnings=[],
        changes=[ChangeRecord("u-1", "jdoe", "tier", "T2", None, 2, Status.SUCCEEDED, 2, "added at level 2")],
        usernames={"u-1": "jdoe"},
    )
    files = render_files(job, file_name="changes.csv", instance_id="inst-1")
    assert set(files) == {
        "report.csv",
        "report.html",
        "rollback.csv",
        "retry.csv",
        "backup.csv",
        "changes.csv",
    }
    report = files["report.csv"].decode("utf-8-sig").splitlines()
    assert report[0] == ",".join(REPORT_COLUMNS)
    assert report[1:] == [
        "2,jdoe,username,add,tier,T2,2,u-1,succeeded,added at level 2",
        "3,jdoe,username,update,tier,T3,2,u-1,failed,not assigned; use add",
    ]
    # The input-format files carry informational columns: the username beside a user id, and in
    # retry.csv why the row failed
    assert lines_of(files["rollback.csv"]) == [
        "identifier,identifier_type,action,attribute,value,level,username",
        "u-1,user_id,remove,tier,T2,,jdoe",
    ]
    assert lines_of(files["retry.csv"]) == [
        "identifier,identifier_type,action,attribute,value,level,message",
        "jdoe,username,update,tier,T3,2,not assigned; use add",
    ]
    # (a user whose username is not known gets a blank one; the empty-set row keeps its blanks)
    assert lines_of(files["backup.csv"]) == [
        "identifier,identifier_type,action,attribute,value,level,username",
        "u-1,user_id,set,tier,T9,4,jdoe",
        "u-2,user_id,set,,,,",
    ]
    assert lines_of(files["changes.csv"]) == [
        ",".join(CHANGES_COLUMNS),
        "u-1,jdoe,tier,T2,,2,succeeded,2,added at level 2",
    ]
    # The input-format files read back as input files, to the same cells, without a warning
    for name in ("retry.csv", "rollback.csv", "backup.csv"):
        assert read_csv(files[name]).warnings == []
    assert [r.cells() for r in read_csv(files["retry.csv"]).rows] == [failed.row.cells()]
    assert [r.cells() for r in read_csv(files["rollback.csv"]).rows] == [job.rollback[0]]
    assert [r.cells() for r in read_csv(files["backup.csv"]).rows] == job.backup


def lines_of(content: bytes) -> list[str]:
    return content.decode("utf-8-sig").splitlines()


def test_a_sync_files_implicit_removal_has_a_blank_line_in_the_report_and_in_changes_csv() -> None:
    removal = RowOutcome(
        CsvRow(0, "jdoe", "username", "remove", "tier", "T1", ""),
        Status.SUCCEEDED,
        "not in the desired state",
        "u-1",
    )
    job = JobResult(
        [removal],
        [],
        [],
        [],
        changes=[
            ChangeRecord(
                "u-1", "jdoe", "tier", "T1", 3, None, Status.SUCCEEDED, 0, "not in the desired state"
            )
        ],
        sync=True,
    )
    files = render_files(job, file_name="changes.csv", instance_id="inst-1")
    assert lines_of(files["report.csv"])[1:] == [
        ",jdoe,username,remove,tier,T1,,u-1,succeeded,not in the desired state"
    ]
    assert lines_of(files["changes.csv"])[1:] == ["u-1,jdoe,tier,T1,3,,succeeded,,not in the desired state"]
    # an implicit removal is no row of the file: never in retry.csv, even when it failed
    failed = JobResult([RowOutcome(removal.row, Status.FAILED, "boom", "u-1")], [], [], [], sync=True)
    assert (
        lines_of(render_files(failed, file_name="changes.csv", instance_id="inst-1")["retry.csv"])[1:] == []
    )


def test_every_file_is_excel_safe_and_reads_back_exactly() -> None:
    row = CsvRow(2, "=cmd|' /C calc'!A0", "username", "add", "+tier", "-T1", "2")
    job = JobResult([RowOutcome(row, Status.FAILED, "@SUM(1)")], [], [], [])
    files = render_files(job, file_name="changes.csv", instance_id="inst-1")
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
    for name in ("report.csv", "rollback.csv", "retry.csv", "backup.csv", CHANGES):
        assert f"  {name}: " in body
    _, quiet = summary_of(result(outcome(2, "add", Status.SUCCEEDED)))
    assert "Warning" not in quiet


def test_a_long_file_name_is_shortened_so_the_subject_fits_sns() -> None:
    name = "quarterly-skills-review-" + "x" * 150 + ".csv"
    subject, _ = summary_of(result(outcome(2, "add", Status.SUCCEEDED)), file_name=name)
    assert len(subject) < 100
    assert subject.startswith("Connect profiles: quarterly-skills-review-x")
    assert subject.endswith("...: 1 succeeded, 0 failed")


@pytest.mark.parametrize(
    "name",
    [
        "x" * 150 + ".csv",
        "équipe-été.csv",
        "日本語のファイル.csv",
        "two\nlines\tand\x7fcontrol.csv",
        "q4 \u2013 \u201cfinal\u201d\u2026.csv",
        "é" * 200 + ".csv",
    ],
)
def test_every_subject_is_one_sns_accepts(name: str) -> None:
    subject, _ = summary_of(result(outcome(2, "add", Status.SUCCEEDED)), file_name=name)
    assert subject_problem(subject) == ""
    reject = rejection_summary(file_name=name, instance_id="i", reason="r", dry_run=False, location=LOCATION)
    assert subject_problem(reject.subject) == ""
    denial = Denial("connect:ListUsers", "arn:aws:connect:us-east-1:1:instance/i", "no")
    denied = denial_summary(
        file_name=name, instance_id="i", denial=denial, dry_run=True, location=LOCATION, applied=False
    )
    assert subject_problem(denied.subject) == ""


def test_a_file_name_is_spelled_in_ascii_in_the_subject() -> None:
    subject, _ = summary_of(result(outcome(2, "add", Status.SUCCEEDED)), file_name="équipe-été.csv")
    assert subject == "Connect profiles: equipe-ete.csv: 1 succeeded, 0 failed"
    assert ascii_text("q4 \u2013 \u201cfinal\u201d\u2026.csv") == 'q4 - "final"....csv'
    assert ascii_text("a\r\nb\t c") == "a b c"
    # a name with nothing left in ASCII still names something
    subject, _ = summary_of(result(outcome(2, "add", Status.SUCCEEDED)), file_name="日本語")
    assert subject == "Connect profiles: (unnamed file): 1 succeeded, 0 failed"


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
        "  report.html: the page to open: counts, failures by reason, changes per user",
        "  report.csv: every row with its status and message",
        "  changes.csv: every proficiency changed, per user, before and after",
        "  rollback.csv: drop it into incoming/ to undo this job's changes",
        "  retry.csv: the failed rows, to fix and drop into incoming/ again",
        "  backup.csv: every touched user's proficiencies before the job; drop it into sync/ to put them "
        "back exactly",
    ]


def test_the_cli_summary_says_how_to_use_the_files_with_the_cli_not_the_bucket() -> None:
    job = result(outcome(2, "add", Status.SUCCEEDED, "added at level 2"))
    body = summarise(
        job, file_name="c.csv", instance_id="inst-1", duration_seconds=1, location="run-1", door="cli"
    ).body
    tail = body.split("\n")[body.split("\n").index("Files in run-1:") :]
    assert tail == [
        "Files in run-1:",
        "  report.html: the page to open: counts, failures by reason, changes per user",
        "  report.csv: every row with its status and message",
        "  changes.csv: every proficiency changed, per user, before and after",
        "  rollback.csv: undoes this job's changes: "
        "connect-profiles apply run-1/rollback.csv --instance-id inst-1",
        "  retry.csv: the failed rows: fix them, then "
        "connect-profiles apply run-1/retry.csv --instance-id inst-1",
        "  backup.csv: every touched user's proficiencies before the job; puts them back exactly: "
        "connect-profiles apply --sync run-1/backup.csv --instance-id inst-1",
    ]
    assert "incoming/" not in body
    assert "sync/" not in body
    synced = JobResult(job.outcomes, [], [], [], False, sync=True)
    retry = summarise(
        synced, file_name="c.csv", instance_id="i", duration_seconds=1, location="d/", door="cli"
    ).body
    assert "connect-profiles apply --sync d/retry.csv --instance-id i" in retry


def test_a_summary_without_a_location_lists_no_files() -> None:
    job = result(outcome(2, "add", Status.PLANNED, "would add at level 2"), dry_run=True)
    body = summarise(
        job, file_name="c.csv", instance_id="i", duration_seconds=1, location=None, door="cli"
    ).body
    assert "Files in" not in body
    assert not any(name in body for name in ("report.csv", "rollback.csv", "retry.csv", "backup.csv"))


@pytest.mark.parametrize(
    ("region", "console"),
    [
        ("eu-west-2", "https://console.aws.amazon.com"),
        ("us-east-1", "https://console.aws.amazon.com"),
        ("cn-north-1", "https://console.amazonaws.cn"),
        ("us-gov-west-1", "https://console.amazonaws-us-gov.com"),
    ],
)
def test_console_links_go_to_the_partitions_console_with_the_key_quoted(region: str, console: str) -> None:
    prefix = "reports/team a/Ünïcode+1/20261125T120000Z-abcd1234/"
    lines = s3_console_links("my-bucket", prefix, region, ["report.html", "report.csv"])
    page = f"{console}/s3/object/my-bucket?region={region}&bucketType=general&prefix="
    quoted = "reports/team%20a/%C3%9Cn%C3%AFcode%2B1/20261125T120000Z-abcd1234/"
    assert lines == [
        "",
        "Open in the S3 console:",
        f"  report.html: {page}{quoted}report.html",
        f"  report.csv: {page}{quoted}report.csv",
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
    # SNS: the subject "must be less than 100 characters long"
    assert SUBJECT_LIMIT == 99
    fixed, tail = "Connect profiles: ", ": 1 succeeded, 0 failed"
    room = SUBJECT_LIMIT - len(fixed) - len(tail)
    job = result(outcome(2, "add", Status.SUCCEEDED))
    fits = "f" * (room - 4) + ".csv"
    subject, _ = summary_of(job, file_name=fits)
    assert subject == fixed + fits + tail
    assert len(subject) == SUBJECT_LIMIT
    longer = "g" * (room - 3) + ".csv"
    subject, _ = summary_of(job, file_name=longer)
    # shortened to use the whole room, the cut marked with an ASCII "..."
    assert subject == fixed + longer[: room - 3] + "..." + tail
    assert len(subject) == SUBJECT_LIMIT


def test_format_table_clips_at_60_characters_by_default_and_refuses_ragged_rows() -> None:
    text = format_table(("name",), [("n" * 60,), ("m" * 61,)])
    assert text.splitlines()[1:] == ["n" * 60, "m" * 59 + "…"]
    with pytest.raises(ValueError, match="zip"):
        format_table(("a",), [("1", "2")])


# --- the changes, the wait, sync files, a refused permission -------------------------------------------


def record(n: int, *, before: int | None = None, after: int | None = 2, line: int = 2) -> ChangeRecord:
    return ChangeRecord(f"u-{n}", f"agent{n}", "tier", f"T{n}", before, after, Status.SUCCEEDED, line, "m")


def test_a_small_jobs_summary_lists_its_changes_by_username() -> None:
    job = result(outcome(2, "add", Status.SUCCEEDED, "added at level 2"))
    job.changes = [
        record(1),
        record(2, before=3, after=None, line=0),
        ChangeRecord("u-3", "", "tier", "T3", 1, 4, Status.FAILED, 5, "refused"),
    ]
    _, body = summary_of(job)
    section = body.split("Changes:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert section == [
        "  agent1: tier=T1 - -> 2 (succeeded, line 2)",
        "  agent2: tier=T2 3 -> - (succeeded, not in the desired state)",
        "  u-3: tier=T3 1 -> 4 (failed, line 5)",
    ]


def test_a_dry_runs_summary_lists_the_changes_it_would_make() -> None:
    job = result(outcome(2, "add", Status.PLANNED, "would add at level 2"), dry_run=True)
    job.changes = [ChangeRecord("u-1", "jdoe", "tier", "T2", None, 2, Status.PLANNED, 2, "would add")]
    _, body = summary_of(job)
    assert "\nChanges it would make:\n  jdoe: tier=T2 - -> 2 (planned, line 2)\n" in body


def test_a_large_jobs_changes_are_left_to_changes_csv() -> None:
    job = result(outcome(2, "add", Status.SUCCEEDED))
    job.changes = [record(n) for n in range(CHANGES_SHOWN)]
    assert "Changes:" in summary_of(job)[1]
    job.changes = [record(n) for n in range(CHANGES_SHOWN + 1)]
    _, body = summary_of(job)
    assert "Changes:" not in body
    assert "agent0" not in body
    # and a job with no change has no such section
    assert "Changes" not in summary_of(result(outcome(2, "add", Status.SKIPPED)))[1]


def test_the_summary_says_how_long_the_job_waited_for_another_on_the_instance() -> None:
    job = result(outcome(2, "add", Status.SUCCEEDED))
    summary = summarise(
        job,
        file_name="c.csv",
        instance_id="i",
        duration_seconds=70.0,
        location=LOCATION,
        waited_seconds=61.25,
    )
    lines = summary.body.split("\n")
    assert lines[2] == "It waited 61.2 s for another job on this instance to finish first."
    assert "waited" not in summary_of(job)[1]


def test_a_sync_jobs_retry_goes_back_into_sync() -> None:
    job = result(outcome(2, "set", Status.FAILED, "boom"))
    job.sync = True
    _, body = summary_of(job)
    assert "  retry.csv: the failed rows, to fix and drop into sync/ again" in body


@pytest.mark.parametrize("applied", [False, True])
def test_a_denial_says_which_permission_and_how_to_fix_the_stack(applied: bool) -> None:
    denial = Denial(
        "connect:ListUsers",
        "arn:aws:connect:us-east-1:123456789012:instance/inst-1",
        "User: x is not authorized to perform: connect:ListUsers on resource: arn:...",
    )
    summary = denial_summary(
        file_name="changes.csv",
        instance_id="inst-1",
        denial=denial,
        dry_run=False,
        location=LOCATION,
        applied=applied,
    )
    assert summary.subject == "Connect profiles: changes.csv: stopped, permission denied"
    lines = summary.body.split("\n")
    assert lines[0] == (
        "The job for changes.csv on Amazon Connect instance inst-1 stopped: AWS refused connect:ListUsers "
        "on arn:aws:connect:us-east-1:123456789012:instance/inst-1."
    )
    assert lines[1] == (
        "Changes made before it stopped are in the report below, and rollback.csv undoes them; rows not "
        "reached are in retry.csv."
        if applied
        else "Nothing in it was applied."
    )
    assert f"AWS said: {denial.message}" in lines
    assert any(line.startswith("How to fix it: the job's IAM role must allow this action") for line in lines)
    assert lines[-1] == f"Details: {LOCATION}"
    dry = denial_summary(
        file_name="c.csv", instance_id="i", denial=denial, dry_run=True, location=LOCATION, applied=applied
    )
    assert dry.subject == "DRY RUN Connect profiles: c.csv: stopped, permission denied"


def test_many_failures_for_one_reason_are_one_line_of_the_summary() -> None:
    # Given 30 rows failing for one reason and one for another
    from connect_profiles.domain.engine import JobResult
    from connect_profiles.domain.model import CsvRow, RowOutcome, Status
    from connect_profiles.domain.outputs import summarise

    def failed(line: int, message: str) -> RowOutcome:
        return RowOutcome(CsvRow(line, "x", "username", "add", "tier", "T", "9"), Status.FAILED, message)

    outcomes = [failed(line, "level must be 1-5") for line in range(2, 32)] + [failed(32, "no user")]
    body = summarise(
        JobResult(outcomes, [], [], []), file_name="f.csv", instance_id="i", duration_seconds=1, location="l"
    ).body
    # Then the summary groups them, most frequent first, with the first lines
    assert "Failures by reason (2 reasons):" in body
    assert "  30 rows (lines 2, 3, 4, 5, 6 and 25 more): level must be 1-5" in body
    assert "  1 rows (lines 32): no user" in body
