"""What a job writes: its CSV files and the summary message."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

from connect_profiles.domain.csv_output import changes_csv, input_format_csv, report_csv
from connect_profiles.domain.engine import JobResult
from connect_profiles.domain.model import (
    BACKUP,
    CHANGES,
    REPORT,
    REPORT_HTML,
    RETRY,
    ROLLBACK,
    ChangeRecord,
    Denial,
    IdentifierType,
    failures_by_reason,
    tally,
)
from connect_profiles.domain.report_html import report_html

CHANGES_SHOWN = 20
REASON_LINES_SHOWN = 5  # a small job's summary lists its changes
# SNS: "ASCII text that begins with a letter, number, or punctuation mark; must not include line
# breaks or control characters; and must be less than 100 characters long" (Publish API reference).
SUBJECT_LIMIT = 99
FAILURES_SHOWN = 10
# How the job came in, so the summary says how to use its files again: drop them into the bucket,
# or run them with the CLI.
Door = Literal["bucket", "cli"]


def render_files(result: JobResult, *, file_name: str, instance_id: str) -> dict[str, bytes]:
    """The job's CSV files and report.html, the page to look at. rollback.csv and backup.csv name
    users by id and add the username after the input columns; retry.csv adds why each row failed.
    The reader ignores those columns. Each CSV is delimited as the input file was."""
    names, delimiter = result.usernames, result.delimiter
    return {
        REPORT: report_csv(result.outcomes, delimiter=delimiter),
        REPORT_HTML: report_html(result, file_name=file_name, instance_id=instance_id),
        ROLLBACK: input_format_csv(
            ((*cells, names.get(cells[0], "")) for cells in result.rollback),
            ("username",),
            delimiter=delimiter,
        ),
        RETRY: input_format_csv(
            ((*o.row.cells(), o.message) for o in result.retry), ("message",), delimiter=delimiter
        ),
        BACKUP: input_format_csv(
            ((*cells, names.get(cells[0], "")) for cells in result.backup),
            ("username",),
            delimiter=delimiter,
        ),
        CHANGES: changes_csv(result.changes, delimiter=delimiter),
    }


def job_record(
    result: JobResult,
    *,
    who: str,
    source: Mapping[str, str | None],
    instance_id: str,
    started: float,
    finished: float,
) -> bytes:
    """job.json: who ran what, where, when, and what came of it."""
    document = {
        "uploader": who,
        "object": dict(source),
        "instance_id": instance_id,
        "mode": ("dry-run" if result.dry_run else "apply") + (" sync" if result.sync else ""),
        "started": _iso(started),
        "finished": _iso(finished),
        "counts": dict(sorted(result.counts().items())),
        "changes": dict(sorted(Counter(change.status.value for change in result.changes).items())),
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Summary:
    subject: str
    body: str


def _counts_phrase(result: JobResult) -> str:
    counts = result.counts()
    return ", ".join(f"{counts[s.value]} {s.value}" for s in result.statuses_shown())


def summarise(
    result: JobResult,
    *,
    file_name: str,
    instance_id: str,
    duration_seconds: float,
    location: str | None,
    waited_seconds: float = 0.0,
    notes: Sequence[str] = (),
    door: Door = "bucket",
    links: Sequence[str] = (),
) -> Summary:
    """The message for people: subject with the file and counts, body with what happened and where.
    `location` None: no files were written, so none are listed. `door`: how the files are used again,
    by dropping them into the bucket or with the CLI. `links`: lines pointing at the files (console)."""
    prefix = "DRY RUN " if result.dry_run else ""
    counts = _counts_phrase(result)
    subject = _subject(prefix, file_name, counts)
    lines = [
        f"{'Dry run of' if result.dry_run else 'Applied'} {file_name} "
        f"to Amazon Connect instance {instance_id}.",
        *(["Nothing was changed: every change below is planned, not applied."] if result.dry_run else []),
        f"Duration: {duration_seconds:.1f} s. Rows: {len(result.outcomes)} ({counts}).",
        *(
            [f"It waited {waited_seconds:.1f} s for another job on this instance to finish first."]
            if waited_seconds > 0
            else []
        ),
        "",
        "By action:",
    ]
    for action, by_status in sorted(result.counts_by_action().items()):
        detail = tally(by_status)
        lines.append(f"  {action}: {detail}")
    lines += _group_lines(result)
    failures = result.failures
    groups = failures_by_reason(failures)
    if len(groups) < len(failures):
        lines += ["", f"Failures by reason ({len(groups)} reasons):"]
        for reason, lines_of in groups[:FAILURES_SHOWN]:
            shown = ", ".join(str(line) for line in lines_of[:REASON_LINES_SHOWN])
            more = (
                f" and {len(lines_of) - REASON_LINES_SHOWN} more"
                if len(lines_of) > REASON_LINES_SHOWN
                else ""
            )
            lines.append(f"  {len(lines_of)} rows (lines {shown}{more}): {reason}")
    if failures:
        lines += ["", f"Failures (first {min(len(failures), FAILURES_SHOWN)} of {len(failures)}):"]
        lines += [
            f"  line {f.row.line}: {f.row.identifier} {f.row.action} {f.row.attribute}={f.row.value}: "
            f"{f.message}"
            for f in failures[:FAILURES_SHOWN]
        ]
    if 0 < len(result.changes) <= CHANGES_SHOWN:
        lines += ["", "Changes:" if not result.dry_run else "Changes it would make:"]
        lines += [f"  {_change_line(change)}" for change in result.changes]
    lines += ["", *(f"Warning: {warning}" for warning in result.warnings)] if result.warnings else []
    lines += ["", *notes] if notes else []
    lines += _file_lines(result, location, door, links, instance_id)
    return Summary(subject, "\n".join(lines))


def _file_lines(
    result: JobResult, location: str | None, door: Door, links: Sequence[str], instance_id: str
) -> list[str]:
    """The files, each with what it is for, worded for the door the job came in by."""
    if location is None:
        return []
    if door == "cli":
        folder, on = location.rstrip("/"), f"--instance-id {instance_id}"
        sync = " --sync" if result.sync else ""
        rollback = f"undoes this job's changes: connect-profiles apply {folder}/{ROLLBACK} {on}"
        retry = f"the failed rows: fix them, then connect-profiles apply{sync} {folder}/{RETRY} {on}"
        backup = f"puts them back exactly: connect-profiles apply --sync {folder}/{BACKUP} {on}"
    else:
        rollback = "drop it into incoming/ to undo this job's changes"
        retry = f"the failed rows, to fix and drop into {'sync/' if result.sync else 'incoming/'} again"
        backup = "drop it into sync/ to put them back exactly"
    return [
        "",
        f"Files in {location}:",
        f"  {REPORT_HTML}: the page to open: counts, failures by reason, changes per user",
        f"  {REPORT}: every row with its status and message",
        f"  {CHANGES}: every proficiency changed, per user, before and after",
        f"  {ROLLBACK}: {rollback}",
        f"  {RETRY}: {retry}",
        f"  {BACKUP}: every touched user's proficiencies before the job; {backup}",
        *links,
    ]


def s3_console_links(bucket: str, prefix: str, region: str, names: Sequence[str]) -> list[str]:
    """Lines linking the S3 console's pages of the job's files, for people reading the email on a
    phone or in a mail client, where an s3:// path is no link. The console's address scheme is not
    documented; this is the one the console itself shows for an object, per partition."""
    console = next((url for start, url in _CONSOLES if region.startswith(start)), _CONSOLE)
    # Bucket names and Regions are letters, digits, dots and hyphens: only the key needs quoting.
    where = f"region={region}&bucketType=general"
    return ["", "Open in the S3 console:"] + [
        f"  {name}: {console}/s3/object/{bucket}?{where}&prefix={quote(prefix + name)}" for name in names
    ]


# The console of each partition, by the start of its Regions' names (aws-cn, aws-us-gov; else aws).
_CONSOLES = (("cn-", "https://console.amazonaws.cn"), ("us-gov-", "https://console.amazonaws-us-gov.com"))
_CONSOLE = "https://console.aws.amazon.com"


def _group_lines(result: JobResult) -> list[str]:
    """Each group row and how many users it reaches (would reach, in a dry run)."""
    groups = [o for o in result.outcomes if o.row.identifier_type.strip().lower() in GROUP_TYPES]
    if not groups:
        return []
    return ["", "Group rows:"] + [
        f"  line {g.row.line}: {g.row.identifier_type.strip().lower()} {g.row.identifier} {g.row.action} "
        f"{g.row.attribute}={g.row.value}: {g.message}"
        for g in groups[:FAILURES_SHOWN]
    ]


GROUP_TYPES = frozenset(t.value for t in IdentifierType if t.is_group)


def _change_line(change: ChangeRecord) -> str:
    who = change.username or change.user_id
    before = "-" if change.level_before is None else str(change.level_before)
    after = "-" if change.level_after is None else str(change.level_after)
    where = f"line {change.line}" if change.line else "not in the desired state"
    return f"{who}: {change.attribute}={change.value} {before} -> {after} ({change.status.value}, {where})"


def ascii_text(text: str) -> str:
    """Text SNS accepts in a subject: accents dropped (`Français.csv` -> `Francais.csv`), dashes,
    curly quotes and the ellipsis spelled in ASCII, anything else non-ASCII or a control character
    (line breaks included) turned into a space, runs of spaces collapsed."""
    text = text.translate(_ASCII_LOOKALIKES)
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c if " " <= c <= "~" else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(kept.split())


_ASCII_LOOKALIKES = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
    }
)
_ELLIPSIS = "..."


def _subject(prefix: str, file_name: str, counts: str) -> str:
    fixed = f"{prefix}Connect profiles: "
    tail = f": {counts}"
    name = ascii_text(file_name) or "(unnamed file)"
    room = SUBJECT_LIMIT - len(fixed) - len(tail)
    if len(name) > room:
        name = name[: max(room - len(_ELLIPSIS), 1)] + _ELLIPSIS
    return ascii_text(fixed + name + tail)[:SUBJECT_LIMIT]


def denial_summary(
    *, file_name: str, instance_id: str, denial: Denial, dry_run: bool, location: str, applied: bool
) -> Summary:
    """The job stopped because AWS refused a permission: which one, and how to fix the stack."""
    prefix = "DRY RUN " if dry_run else ""
    subject = _subject(prefix, file_name, "stopped, permission denied")
    done = (
        "Changes made before it stopped are in the report below, and rollback.csv undoes them; rows "
        "not reached are in retry.csv."
        if applied
        else "Nothing in it was applied."
    )
    body = "\n".join(
        [
            f"The job for {file_name} on Amazon Connect instance {instance_id} stopped: AWS refused "
            f"{denial.action} on {denial.resource}.",
            done,
            "",
            f"AWS said: {denial.message}",
            "",
            "How to fix it: the job's IAM role must allow this action on this resource. Deploy the stack "
            "again from this version (make deploy INSTANCE_ID=<instance id>), which grants every action "
            "the job calls; if the stack is current, look for a permissions boundary, service control "
            "policy or resource policy denying it. Then drop the file again.",
            f"Details: {location}",
        ]
    )
    return Summary(subject, body)


def rejection_summary(
    *, file_name: str, instance_id: str, reason: str, dry_run: bool, location: str
) -> Summary:
    prefix = "DRY RUN " if dry_run else ""
    subject = _subject(prefix, file_name, "rejected, nothing applied")
    body = "\n".join(
        [
            f"{file_name} was rejected: nothing in it was applied to Amazon Connect instance {instance_id}.",
            "",
            f"Reason: {reason}",
            "",
            f"Fix the file and drop it again. Details are in {location}.",
        ]
    )
    return Summary(subject, body)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, width: int = 60) -> str:
    """Rows as an aligned text table for a terminal, long cells clipped."""
    clipped = [[cell if len(cell) <= width else cell[: width - 1] + "…" for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in [header, *clipped]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *clipped]
    )
