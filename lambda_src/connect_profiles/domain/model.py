"""The engine's vocabulary: rows as read, changes as validated, outcomes as reported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

# The input format, in this order; rollback.csv, retry.csv, backup.csv and exports use it too.
INPUT_COLUMNS = ("identifier", "identifier_type", "action", "attribute", "value", "level")
REPORT_COLUMNS = (
    "line",
    "identifier",
    "identifier_type",
    "action",
    "attribute",
    "value",
    "level",
    "user_id",
    "status",
    "message",
)
# Columns the project writes after the input ones (rollback, retry, backup, exports) for people to
# read; the reader accepts them without a warning and ignores them.
INFORMATIONAL_COLUMNS = ("username", "message")
CHANGES_COLUMNS = (
    "user_id",
    "username",
    "attribute",
    "value",
    "level_before",
    "level_after",
    "status",
    "line",
    "message",
)
MIN_LEVEL = 1
MAX_LEVEL = 5


class Action(StrEnum):
    ADD = "add"
    UPDATE = "update"
    REMOVE = "remove"
    SET = "set"  # add if absent, update if held at another level


class IdentifierType(StrEnum):
    USERNAME = "username"
    USER_ID = "user_id"
    # Group rows: the row applies to every member, resolved when the job plans.
    ROUTING_PROFILE = "routing_profile"
    SECURITY_PROFILE = "security_profile"
    HIERARCHY_GROUP = "hierarchy_group"
    ALL = "all"  # identifier `*`: every user of the instance

    @property
    def is_group(self) -> bool:
        return self not in (IdentifierType.USERNAME, IdentifierType.USER_ID)

    @property
    def label(self) -> str:
        """How a message names the kind: `routing profile`, `hierarchy group`."""
        return self.value.replace("_", " ")


ALL_USERS = "*"  # the identifier of an `all` row


class Status(StrEnum):
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"
    PLANNED = "planned"


# The order people read the counts in, in every output.
STATUS_ORDER = (Status.SUCCEEDED, Status.PLANNED, Status.SKIPPED, Status.FAILED)


def tally(counts: Mapping[str, int]) -> str:
    """`3 succeeded, 1 failed`: the non-zero counts by status value, in STATUS_ORDER."""
    return ", ".join(f"{counts[s.value]} {s.value}" for s in STATUS_ORDER if counts.get(s.value))


# The files a job writes (DESIGN section 3), named here so every output can point at the others.
REPORT = "report.csv"
REPORT_HTML = "report.html"
ROLLBACK = "rollback.csv"
RETRY = "retry.csv"
BACKUP = "backup.csv"
CHANGES = "changes.csv"
JOB_RECORD = "job.json"


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row as read: cells trimmed, `line` the spreadsheet row number (header = 1)."""

    line: int
    identifier: str
    identifier_type: str
    action: str
    attribute: str
    value: str
    level: str

    def cells(self) -> tuple[str, str, str, str, str, str]:
        return (self.identifier, self.identifier_type, self.action, self.attribute, self.value, self.level)


@dataclass(frozen=True, slots=True)
class Change:
    """A row that passed the offline checks. `level` is None for remove, and for the `set` row of
    a sync file that says the user's desired set is empty (blank attribute, value and level)."""

    row: CsvRow
    identifier_type: IdentifierType
    action: Action
    level: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.row.attribute, self.row.value)

    @property
    def empties(self) -> bool:
        """The sync row that says: this user holds nothing."""
        return self.action is Action.SET and self.level is None


@dataclass(frozen=True, slots=True)
class Proficiency:
    attribute: str
    value: str
    level: int


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One (user, proficiency) change made, planned or failed: a line of changes.csv. Levels are
    None where the pair was not held (before) or is not held any more (after)."""

    user_id: str
    username: str
    attribute: str
    value: str
    level_before: int | None
    level_after: int | None
    status: Status
    line: int  # the input line that asked for it; 0 for a sync file's implicit removal
    message: str


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What happened to one data row; one line of report.csv."""

    row: CsvRow
    status: Status
    message: str
    user_id: str = ""


def failures_by_reason(failures: Sequence[RowOutcome]) -> list[tuple[str, list[int]]]:
    """Failed rows grouped by their message, most frequent first: a thousand rows failing for one
    reason are one line to read, not a thousand."""
    grouped: dict[str, list[int]] = {}
    for outcome in failures:
        grouped.setdefault(outcome.message, []).append(outcome.row.line)
    return sorted(grouped.items(), key=lambda item: (-len(item[1]), item[1][0]))


@dataclass(frozen=True, slots=True)
class Denial:
    """A refused permission that stopped the job: what to tell the person who must fix the stack."""

    action: str
    resource: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"action": self.action, "resource": self.resource, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Denial:
        return cls(data["action"], data["resource"], data["message"])


class FileRejected(Exception):
    """A file-level problem: nothing in the file is applied. The message says what to fix."""
