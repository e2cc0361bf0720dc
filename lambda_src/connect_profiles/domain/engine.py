"""The engine: CSV bytes in, the fewest paced Connect calls, outcomes and undo files out.

    read (offline) -> prepare (attributes, usernames) -> run users (read, fold, write) -> assemble

It knows nothing of Lambda, S3 or terminals: the CLI and the Lambda handler drive these steps and
decide where the bytes go. The steps are separate so a durable job can checkpoint between them.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from connect_profiles.contract import DEFAULT_MAX_GROUP_USERS, DEFAULT_MAX_PROFICIENCIES
from connect_profiles.domain.csv_input import DEFAULT_LIMITS, Limits, check_row, find_duplicates, read_csv
from connect_profiles.domain.model import (
    STATUS_ORDER,
    Action,
    Change,
    ChangeRecord,
    CsvRow,
    IdentifierType,
    Proficiency,
    RowOutcome,
    Status,
)
from connect_profiles.domain.planning import UserPlan, fold, fold_sync
from connect_profiles.domain.resolution import Directory, Group, resolve_groups, resolve_usernames
from connect_profiles.ports import (
    CallCancelled,
    Connect,
    ConnectCallError,
    ConnectUnavailable,
    ConnectUnreachable,
    Journal,
    PermissionDenied,
)

logger = logging.getLogger(__name__)

Cells = tuple[str, str, str, str, str, str]
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    max_proficiencies: int = DEFAULT_MAX_PROFICIENCIES
    # Enough threads that every API's bucket always has a caller waiting, reads running ahead.
    workers: int = 16
    limits: Limits = DEFAULT_LIMITS
    max_group_users: int = DEFAULT_MAX_GROUP_USERS

    def __post_init__(self) -> None:
        if self.max_group_users < 1:
            raise ValueError(f"max group users must be at least 1, got {self.max_group_users}")
        if self.max_proficiencies < 1:
            raise ValueError(f"max proficiencies per agent must be at least 1, got {self.max_proficiencies}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")


@dataclass(slots=True)
class OfflineCheck:
    """What can be known without Connect: rows settled already, and the changes still to look up."""

    settled: list[RowOutcome]
    changes: list[Change]
    warnings: list[str]
    data_rows: int
    sync: bool = False
    delimiter: str = ","  # the file's, so the reports open in columns where it was made


@dataclass(slots=True)
class UserWork:
    """One user's rows, in file order, ready to fold over what the user holds."""

    user_id: str
    changes: list[Change]
    notes: dict[int, str] = field(default_factory=dict)
    username: str = ""  # for the files people read; "" where unknown
    # The cells the user was first named by (a sync file's implicit removals carry them).
    identifier: tuple[str, str] = ("", "")
    sync: bool = False  # the rows are the user's whole desired set


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A group row that resolved: how many users it reaches, and a remark for its message. Its
    members' outcomes are folded into its one report row when the job assembles."""

    row: CsvRow
    members: int
    note: str = ""


@dataclass(slots=True)
class JobPlan:
    settled: list[RowOutcome]
    users: list[UserWork]
    warnings: list[str]
    data_rows: int
    groups: list[GroupRow] = field(default_factory=list)
    delimiter: str = ","


@dataclass(slots=True)
class UserResult:
    user_id: str
    outcomes: list[RowOutcome]
    before: list[Proficiency]
    undo: list[Cells]  # input-format rows that restore what this user's calls changed
    changes: list[ChangeRecord] = field(default_factory=list)
    username: str = ""
    read: bool = True  # False: the user was never read (not reached, or unknown): no backup row


@dataclass(slots=True)
class JobResult:
    outcomes: list[RowOutcome]  # one per data row, by line; a sync file's implicit removals last
    backup: list[Cells]
    rollback: list[Cells]
    warnings: list[str]
    dry_run: bool = False
    denied: PermissionDenied | None = None
    changes: list[ChangeRecord] = field(default_factory=list)
    usernames: dict[str, str] = field(default_factory=dict)  # user id -> username, where known
    sync: bool = False
    delimiter: str = ","  # the input file's: the reports are written with it

    @property
    def retry(self) -> list[RowOutcome]:
        """The failed data rows (a sync file's implicit removals are not rows of the file). A sync
        file's rows are each user's whole set, so for a user with any failure it holds all of the
        user's rows: dropped into sync/ again it must not remove what the job did set."""
        failed = [o for o in self.outcomes if o.status is Status.FAILED and o.row.line > 0]
        if not self.sync:
            return failed
        users = {o.user_id for o in failed if o.user_id}
        return [o for o in self.outcomes if o.row.line > 0 and (o in failed or o.user_id in users)]

    def counts(self) -> Counter[str]:
        return Counter(outcome.status.value for outcome in self.outcomes)

    def counts_by_action(self) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {}
        for outcome in self.outcomes:
            action = outcome.row.action.lower() or "(blank)"
            table.setdefault(action, Counter())[outcome.status.value] += 1
        return table

    @property
    def failed(self) -> int:
        return self.counts()[Status.FAILED.value]

    @property
    def failures(self) -> list[RowOutcome]:
        """Every failed outcome, a sync file's implicit removals included (retry.csv holds rows)."""
        return [outcome for outcome in self.outcomes if outcome.status is Status.FAILED]

    def statuses_shown(self) -> list[Status]:
        """The statuses people are shown counts of, in STATUS_ORDER: those the job has, and failed
        always (a clean job says `0 failed`)."""
        counts = self.counts()
        return [status for status in STATUS_ORDER if counts[status.value] or status is Status.FAILED]


# --- read -------------------------------------------------------------------------------------


def check_offline(data: bytes, limits: Limits = DEFAULT_LIMITS, *, sync: bool = False) -> OfflineCheck:
    """Read the file and check every row without Connect. Raises FileRejected for file problems.
    `sync`: a desired-state file (see `check_row`)."""
    parsed = read_csv(data, limits)
    duplicates = find_duplicates(parsed.rows)
    settled: list[RowOutcome] = []
    changes: list[Change] = []
    for row in parsed.rows:
        first = duplicates.get(row.line)
        if first is not None:
            settled.append(RowOutcome(row, Status.SKIPPED, f"duplicate of line {first}"))
            continue
        checked = check_row(row, sync=sync)
        if isinstance(checked, str):
            settled.append(RowOutcome(row, Status.FAILED, checked))
        else:
            changes.append(checked)
    return OfflineCheck(settled, changes, parsed.warnings, len(parsed.rows), sync, parsed.delimiter)


# --- prepare ----------------------------------------------------------------------------------


def prepare(
    offline: OfflineCheck, gateway: Connect, *, max_group_users: int = DEFAULT_MAX_GROUP_USERS
) -> JobPlan:
    """Check attributes and values, resolve usernames and group rows, and group the changes by
    user. A group row becomes one change for each member, in its place in the file, so each member
    folds it between the member's own rows before and after it."""
    attributes = sorted({c.row.attribute for c in offline.changes if not c.empties})
    usernames = sorted(
        {c.row.identifier for c in offline.changes if c.identifier_type is IdentifierType.USERNAME}
    )
    group_keys = sorted(
        {(c.identifier_type, c.row.identifier) for c in offline.changes if c.identifier_type.is_group}
    )
    # An `all` row lists the instance (ListUsers, 1,000 a page), and usernames resolve from it.
    listing = any(c.identifier_type in (IdentifierType.USER_ID, IdentifierType.ALL) for c in offline.changes)
    user_count = gateway.count_users()  # fails fast on an unknown instance or bad credentials
    # Describing attributes and resolving usernames use different APIs, so they run side by side.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="prepare") as pool:
        described = pool.submit(_describe_attributes, gateway, attributes)
        directory = resolve_usernames(gateway, usernames, user_count, name_ids=listing)
        groups = resolve_groups(gateway, group_keys, directory, max_users=max_group_users)
        values, names = described.result()

    settled = list(offline.settled)
    users: dict[str, UserWork] = {}
    group_rows: list[GroupRow] = []
    for change in offline.changes:
        problem = "" if change.empties else _attribute_problem(change, values, names)
        if problem:
            settled.append(RowOutcome(change.row, Status.FAILED, problem))
            continue
        if change.identifier_type.is_group:
            group = groups[(change.identifier_type, change.row.identifier)]
            if _add_group_row(change, group, users, group_rows):
                continue
            settled.append(RowOutcome(change.row, Status.FAILED, group.note))
            continue
        user_id, note = change.row.identifier, ""
        if change.identifier_type is IdentifierType.USERNAME:
            resolution = directory.usernames[change.row.identifier]
            if resolution.user_id is None:
                settled.append(RowOutcome(change.row, Status.FAILED, resolution.note))
                continue
            user_id, note = resolution.user_id, resolution.note
        elif directory.listed and user_id not in directory.names:
            settled.append(
                RowOutcome(change.row, Status.FAILED, f"no user with id {user_id!r} in this instance")
            )
            continue
        identifier = (change.row.identifier, change.identifier_type.value)
        work = users.setdefault(
            user_id, UserWork(user_id, [], username=directory.names.get(user_id, ""), identifier=identifier)
        )
        work.changes.append(change)
        if note:
            work.notes[change.row.line] = note
    if offline.sync:
        for work in users.values():
            work.sync = True
        settled += _all_or_nothing(users, settled, directory)
    return JobPlan(
        settled, list(users.values()), offline.warnings, offline.data_rows, group_rows, offline.delimiter
    )


def _add_group_row(change: Change, group: Group, users: dict[str, UserWork], rows: list[GroupRow]) -> bool:
    """Give each member the group row's change, after the member's rows so far; False when the
    group did not resolve (or is over the limit)."""
    if group.members is None:
        return False
    rows.append(GroupRow(change.row, len(group.members), group.note))
    for member in group.members:
        work = users.setdefault(
            member.id,
            UserWork(
                member.id, [], username=member.username, identifier=(member.id, IdentifierType.USER_ID.value)
            ),
        )
        work.username = work.username or member.username
        work.changes.append(change)
    return True


def _all_or_nothing(
    users: dict[str, UserWork], settled: list[RowOutcome], directory: Directory
) -> list[RowOutcome]:
    """In a sync file a user with any bad row is left untouched: every row of the user fails,
    naming the bad line, and the user is taken out of the plan."""
    bad_lines: dict[str, list[int]] = {}
    for outcome in settled:
        if outcome.status is Status.FAILED:
            user_id = _named_user(outcome.row, directory)
            if user_id in users:
                bad_lines.setdefault(user_id, []).append(outcome.row.line)
    failed: list[RowOutcome] = []
    for user_id, lines in bad_lines.items():
        work = users.pop(user_id)
        shown = ", ".join(str(line) for line in sorted(lines))
        message = (
            f"not applied: line {shown} of this user failed its checks, and a sync file changes a user "
            "all or nothing; fix it and drop the file again"
        )
        failed += [RowOutcome(change.row, Status.FAILED, message, user_id) for change in work.changes]
    return failed


def _named_user(row: CsvRow, directory: Directory) -> str | None:
    kind, identifier = row.identifier_type.strip().lower(), row.identifier.strip()
    if kind == IdentifierType.USER_ID.value:
        return identifier
    if kind == IdentifierType.USERNAME.value:
        resolution = directory.usernames.get(identifier)
        return resolution.user_id if resolution else None
    return None


def _describe_attributes(
    gateway: Connect, attributes: Sequence[str]
) -> tuple[dict[str, list[str] | None], list[str] | None]:
    """Each attribute's values (None: no such attribute) and, only when the file names an unknown
    one, every attribute's name for the hint: one listing per job, none when all are known."""
    values = {name: gateway.attribute_values(name) for name in attributes}
    if all(allowed is not None for allowed in values.values()):
        return values, None
    try:
        names = gateway.attribute_names()
    except (ConnectCallError, ConnectUnavailable, PermissionDenied) as error:
        # Only a hint: refused or busy, the rows fail as they would without it.
        logger.warning("predefined attributes not listed for the hint", extra={"reason": str(error)})
        return values, None
    return values, sorted(names, key=str.casefold)


def _attribute_problem(
    change: Change, values: Mapping[str, list[str] | None], names: Sequence[str] | None
) -> str:
    allowed = values[change.row.attribute]
    if allowed is None:
        attribute = change.row.attribute
        hint = _hint(attribute, names)
        return f"attribute {attribute!r} is not a predefined attribute in this instance{hint}"
    if change.row.value not in allowed:
        shown = ", ".join(allowed[:10]) + (", …" if len(allowed) > 10 else "")
        attribute = change.row.attribute
        return f"value {change.row.value!r} is not a value of attribute {attribute!r} (values: {shown})"
    return ""


def _hint(attribute: str, names: Sequence[str] | None) -> str:
    """The closest attribute name (ignoring case first) and the first ten names there are."""
    if names is None:
        return ""
    if not names:
        return "; this instance has no predefined attributes at all"
    shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
    closest = _closest(attribute, names)
    guess = f"; did you mean {closest!r}?" if closest else ""
    return f"{guess} (attributes: {shown})"


def _closest(attribute: str, names: Sequence[str]) -> str | None:
    folded = {name.casefold(): name for name in names}
    if attribute.casefold() in folded:
        return folded[attribute.casefold()]
    matches = difflib.get_close_matches(attribute.casefold(), list(folded), n=1)
    return folded[matches[0]] if matches else None


# --- run --------------------------------------------------------------------------------------

NOT_APPLIED_INTERRUPTED = "not applied: interrupted"


class ConnectBusy(Exception):
    """Connect stayed throttled, failing (5xx) or unreachable past the adapter's own retries. Nothing
    is lost by stopping: the journal lets the batch run again later and send only what is left."""


class _Halt:
    """Why a batch stops starting new work: interrupted (the caller's event), Connect busy, or a
    permission refused. The first cause wins; users already in flight finish what they are doing."""

    def __init__(self, interrupt: threading.Event | None) -> None:
        self._interrupt = interrupt
        self._lock = threading.Lock()
        self.error: ConnectBusy | PermissionDenied | None = None

    def stop(self, error: ConnectBusy | PermissionDenied) -> None:
        with self._lock:
            if self.error is None:
                self.error = error

    @property
    def interrupted(self) -> bool:
        return self._interrupt is not None and self._interrupt.is_set()

    @property
    def reason(self) -> str:
        """The message of a row that was not reached, or "" to go on."""
        if self.interrupted:
            return NOT_APPLIED_INTERRUPTED
        if isinstance(self.error, PermissionDenied):
            return f"not applied: the job stopped because {self.error}"
        if self.error is not None:
            return f"not applied: Connect is unavailable ({self.error})"
        return ""


@dataclass(slots=True)
class UsersRun:
    results: list[UserResult]
    # The refused permission that stopped the run; users after it were not reached.
    denied: PermissionDenied | None = None


def not_reached(work: UserWork, reason: str) -> UserResult:
    """A user the job stopped before: every row failed, nothing read or changed."""
    return UserResult(work.user_id, _fail_all(work, reason), [], [], username=work.username, read=False)


def run_users(
    users: Sequence[UserWork],
    gateway: Connect,
    settings: EngineSettings,
    *,
    dry_run: bool,
    progress: Progress | None = None,
    journal: Journal | None = None,
    interrupt: threading.Event | None = None,
    retry_later: bool = True,
) -> UsersRun:
    """Read, fold and (unless dry_run) write each user; users run side by side, paced per API.

    Once `interrupt` is set, no new call is sent: users in flight finish the call they are in, and
    every row not reached fails with "not applied: interrupted". Errors that may pass (throttling,
    5xx, timeouts) stop the batch the same way and raise ConnectBusy once in-flight users are done, so
    the caller runs the batch again later; with `retry_later=False` (the last attempt, or a caller
    that cannot retry) they fail the rows instead. A refused permission stops the batch the same way
    (every user would meet it) and is returned in `denied`, with the results of what was done.
    """
    halt = _Halt(interrupt)

    def one(work: UserWork) -> UserResult:
        if halt.reason:
            return not_reached(work, halt.reason)
        try:
            return run_user(
                work,
                gateway,
                settings,
                dry_run=dry_run,
                journal=journal,
                halt=halt,
                retry_later=retry_later,
            )
        except (ConnectBusy, PermissionDenied) as error:
            # Raised before this user changed anything, or (busy) with the journal to resume from.
            halt.stop(error)
            return not_reached(work, halt.reason)

    results: list[UserResult] = []
    with ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="user") as pool:
        futures = [pool.submit(one, work) for work in users]
        for done, future in enumerate(futures, start=1):
            results.append(future.result())
            if progress:
                progress(done, len(users))
    if isinstance(halt.error, ConnectBusy) and not halt.interrupted:
        raise halt.error
    return UsersRun(results, halt.error if isinstance(halt.error, PermissionDenied) else None)


def run_user(
    work: UserWork,
    gateway: Connect,
    settings: EngineSettings,
    *,
    dry_run: bool,
    journal: Journal | None = None,
    halt: _Halt | None = None,
    retry_later: bool = False,
) -> UserResult:
    halt = halt or _Halt(None)
    try:
        held = gateway.list_proficiencies(work.user_id)
    except CallCancelled:
        return not_reached(work, NOT_APPLIED_INTERRUPTED)
    except (ConnectCallError, ConnectUnavailable) as error:
        _raise_if_passing(error, retry_later)
        message = str(error)
        if isinstance(error, ConnectCallError) and error.not_found:
            message = f"no user with id {work.user_id!r} in this instance"
        return UserResult(work.user_id, _fail_all(work, message), [], [], username=work.username, read=False)
    remembered = journal.recall(work.user_id) if journal and not dry_run else None
    before = held if remembered is None else remembered
    limit = settings.max_proficiencies
    if work.sync:
        plan = fold_sync(
            work.user_id, work.identifier, before, work.changes, max_proficiencies=limit, notes=work.notes
        )
    else:
        plan = fold(work.user_id, before, work.changes, max_proficiencies=limit, notes=work.notes)
    if dry_run:
        plan.outcomes[:] = _as_planned(plan.outcomes)
        return UserResult(work.user_id, plan.outcomes, before, [], _records(work, plan), work.username)
    if journal and remembered is None and plan.has_writes:
        journal.record(work.user_id, before)
    current = {(p.attribute, p.value): p.level for p in held}
    undo = _write(plan, current, gateway, halt, retry_later=retry_later)
    return UserResult(work.user_id, plan.outcomes, before, undo, _records(work, plan), work.username)


def _records(work: UserWork, plan: UserPlan) -> list[ChangeRecord]:
    """changes.csv's rows for this user: each pair the job changed, planned or failed to change,
    with the outcome of the last row that asked for it."""
    records = []
    for outcome in plan.outcomes:
        # A group row's member whose row failed before any call: its reason is on no report row.
        if outcome.status is Status.FAILED and _is_group_row(outcome.row):
            key = (outcome.row.attribute, outcome.row.value)
            if key not in plan.carried:
                level = plan.before.get(key)
                records.append(
                    ChangeRecord(
                        work.user_id,
                        work.username,
                        *key,
                        level_before=level,
                        level_after=level,
                        status=outcome.status,
                        line=outcome.row.line,
                        message=outcome.message,
                    )
                )
    for key, indexes in plan.carried.items():
        outcome = plan.outcomes[indexes[-1]]
        records.append(
            ChangeRecord(
                work.user_id,
                work.username,
                *key,
                level_before=plan.before.get(key),
                level_after=plan.after.get(key),
                status=outcome.status,
                line=outcome.row.line,
                message=outcome.message,
            )
        )
    return records


def _is_group_row(row: CsvRow) -> bool:
    kind = _IDENTIFIER_TYPES.get(row.identifier_type.strip().lower())
    return kind is not None and kind.is_group


_IDENTIFIER_TYPES = {t.value: t for t in IdentifierType}


def _is_passing(error: Exception) -> bool:
    """Would this error likely be gone if the call were made again later?"""
    if isinstance(error, ConnectCallError):
        return error.transient
    return isinstance(error, ConnectUnreachable)


def _raise_if_passing(error: Exception, retry_later: bool) -> None:
    if retry_later and _is_passing(error):
        raise ConnectBusy(str(error)) from error


def _write(
    plan: UserPlan,
    current: dict[tuple[str, str], int],
    gateway: Connect,
    halt: _Halt,
    *,
    retry_later: bool,
) -> list[Cells]:
    """Send the user's net changes, removals first so they free slots for additions, and return undo
    rows for every change that holds afterwards.

    No write carries a client token, so a call that fails may still have been applied (its response
    lost, or a botocore retry refused because the first attempt went through). After any failed call
    the user is read again and each row is settled by what Connect now holds: what holds succeeded,
    what does not failed, or, if the error may pass, the batch is retried.
    """
    uid = plan.user_id
    writes = plan.writes_from(current)
    calls: list[tuple[list[tuple[str, str]], Callable[[], None]]] = [
        (writes.disassociate, lambda: gateway.disassociate(uid, writes.disassociate)),
        (
            [(p.attribute, p.value) for p in writes.update],
            lambda: gateway.update(uid, writes.update),
        ),
        (
            [(p.attribute, p.value) for p in writes.associate],
            lambda: gateway.associate(uid, writes.associate),
        ),
    ]
    unsent: set[tuple[str, str]] = set()
    uncertain: dict[tuple[str, str], Exception] = {}
    for keys, send in calls:
        if not keys:
            continue
        if halt.reason:
            _fail_carried(plan, keys, halt.reason)
            unsent.update(keys)
            continue
        try:
            send()
        except CallCancelled:
            # Cancelled while waiting for its token: never sent.
            _fail_carried(plan, keys, NOT_APPLIED_INTERRUPTED)
            unsent.update(keys)
        except PermissionDenied as error:
            # IAM refuses before the call runs: not applied, and no later call would be allowed.
            halt.stop(error)
            _fail_carried(plan, keys, str(error))
            unsent.update(keys)
        except (ConnectCallError, ConnectUnavailable) as error:
            uncertain.update(dict.fromkeys(keys, error))
    if uncertain:
        _settle(plan, uncertain, gateway, halt, retry_later=retry_later)
    undo: list[Cells] = []
    for key in plan.carried:
        if key in unsent or plan.outcomes[plan.carried[key][0]].status is Status.FAILED:
            continue
        was, now = plan.before.get(key), plan.after.get(key)
        if was is None:
            undo.append((uid, "user_id", "remove", *key, ""))
        elif now is None:
            undo.append((uid, "user_id", "add", *key, str(was)))
        else:
            undo.append((uid, "user_id", "update", *key, str(was)))
    return undo


def _settle(
    plan: UserPlan,
    uncertain: Mapping[tuple[str, str], Exception],
    gateway: Connect,
    halt: _Halt,
    *,
    retry_later: bool,
) -> None:
    """Read the user again and settle the rows of failed calls by what now holds."""
    try:
        held = gateway.list_proficiencies(plan.user_id, settling=True)
        now = {(p.attribute, p.value): p.level for p in held}
    except (ConnectCallError, ConnectUnavailable, PermissionDenied) as error:
        if isinstance(error, PermissionDenied):
            halt.stop(error)  # the calls that went through are still reported and undone
        else:
            _raise_if_passing(error, retry_later)
        for key, cause in uncertain.items():
            _fail_carried(
                plan, [key], f"{cause}; whether it was applied is unknown (re-reading failed: {error})"
            )
        return
    for key, cause in uncertain.items():
        if now.get(key) == plan.after.get(key):
            for index in plan.carried.get(key, []):
                outcome = plan.outcomes[index]
                message = f"{outcome.message} (confirmed by reading the user again after: {cause})"
                plan.outcomes[index] = RowOutcome(outcome.row, outcome.status, message, outcome.user_id)
        else:
            _raise_if_passing(cause, retry_later)
            _fail_carried(plan, [key], str(cause))


def _fail_carried(plan: UserPlan, keys: Iterable[tuple[str, str]], message: str) -> None:
    for key in keys:
        for index in plan.carried.get(key, []):
            outcome = plan.outcomes[index]
            plan.outcomes[index] = RowOutcome(outcome.row, Status.FAILED, message, outcome.user_id)


def _fail_all(work: UserWork, message: str) -> list[RowOutcome]:
    return [RowOutcome(change.row, Status.FAILED, message, work.user_id) for change in work.changes]


_PLANNED_VERBS = {"added": "would add", "updated": "would update", "removed": "would remove"}


def _as_planned(outcomes: list[RowOutcome]) -> list[RowOutcome]:
    planned = []
    for outcome in outcomes:
        if outcome.status is not Status.SUCCEEDED:
            planned.append(outcome)
            continue
        verb, _, rest = outcome.message.partition(" ")
        message = f"{_PLANNED_VERBS.get(verb, verb)} {rest}"
        planned.append(RowOutcome(outcome.row, Status.PLANNED, message, outcome.user_id))
    return planned


# --- assemble ---------------------------------------------------------------------------------

_UNDO_ORDER = {"remove": 0, "update": 1, "add": 2}


def assemble(plan: JobPlan, results: Iterable[UserResult], *, dry_run: bool, sync: bool = False) -> JobResult:
    outcomes = list(plan.settled)
    backup: list[Cells] = []
    undo: list[Cells] = []
    changes: list[ChangeRecord] = []
    usernames: dict[str, str] = {}
    group_lines = {group.row.line for group in plan.groups}
    members: dict[int, list[RowOutcome]] = {line: [] for line in group_lines}
    for result in results:
        for outcome in result.outcomes:
            if outcome.row.line in group_lines:
                members[outcome.row.line].append(outcome)
            else:
                outcomes.append(outcome)
        if result.read:
            backup.extend(backup_rows(result.user_id, result.before))
        undo.extend(result.undo)
        changes.extend(result.changes)
        if result.username:
            usernames[result.user_id] = result.username
    outcomes += [group_outcome(group, members[group.row.line], dry_run=dry_run) for group in plan.groups]
    # By line; a sync file's implicit removals (line 0) after the data rows, in the users' order.
    outcomes.sort(key=lambda outcome: (outcome.row.line == 0, outcome.row.line))
    # Removals first, so that dropped back in, the rollback never meets the per-agent limit.
    undo.sort(key=lambda row: _UNDO_ORDER[row[2]])
    return JobResult(
        outcomes,
        backup,
        undo,
        plan.warnings,
        dry_run,
        changes=changes,
        usernames=usernames,
        sync=sync,
        delimiter=plan.delimiter,
    )


def group_outcome(group: GroupRow, members: Sequence[RowOutcome], *, dry_run: bool) -> RowOutcome:
    """A group row's one report row, from its members' outcomes: `N users: C changed, A already so,
    F failed`. Failed when any member failed, skipped when none needed a change, else succeeded
    (planned in a dry run). A member with no outcome (never reached) counts as failed."""
    changed = sum(1 for o in members if o.status in (Status.SUCCEEDED, Status.PLANNED))
    already = sum(1 for o in members if o.status is Status.SKIPPED)
    failures = [o for o in members if o.status is Status.FAILED]
    failed = len(failures) + max(0, group.members - len(members))
    verb = "would change" if dry_run else "changed"
    message = f"{group.members} users: {changed} {verb}, {already} already so, {failed} failed"
    if failures:
        message += (
            f"; first failure: {failures[0].user_id}: {failures[0].message} (every member in changes.csv)"
        )
    if group.note:
        message += f"; {group.note}"
    if failed:
        status = Status.FAILED
    elif not changed:
        status = Status.SKIPPED
    else:
        status = Status.PLANNED if dry_run else Status.SUCCEEDED
    return RowOutcome(group.row, status, message)


def backup_rows(user_id: str, held: Sequence[Proficiency]) -> list[Cells]:
    """A user's proficiencies as `set` rows of a sync file: dropped into sync/ they put the user back
    exactly. A user who held nothing gets the one row that says so (blank attribute, value, level)."""
    if not held:
        return [(user_id, IdentifierType.USER_ID.value, Action.SET.value, "", "", "")]
    return [
        (user_id, IdentifierType.USER_ID.value, Action.SET.value, p.attribute, p.value, str(p.level))
        for p in held
    ]


@dataclass(frozen=True, slots=True)
class Preview:
    """What an apply would do, known once rows, users and attributes are resolved and each user read
    and folded, before any write: what a person is asked to confirm."""

    rows: int
    changes: int  # (user, proficiency) changes it would make
    users: int  # users it would change
    failed: int  # rows that would fail


Confirm = Callable[[Preview], bool]


class NotConfirmed(Exception):
    """The person declined the preview: nothing was written."""

    def __init__(self, preview: Preview) -> None:
        super().__init__("not confirmed")
        self.preview = preview


def preview(
    plan: JobPlan,
    gateway: Connect,
    settings: EngineSettings,
    *,
    progress: Progress | None = None,
    interrupt: threading.Event | None = None,
) -> Preview | None:
    """A dry run of the plan: what it would change. None when the dry run was stopped (a refused
    permission, an interrupt): the real run meets the same stop and reports it, asking nothing."""
    run = run_users(
        plan.users, gateway, settings, dry_run=True, progress=progress, interrupt=interrupt, retry_later=False
    )
    if run.denied is not None or (interrupt is not None and interrupt.is_set()):
        return None
    result = assemble(plan, run.results, dry_run=True)
    planned = [change for change in result.changes if change.status is Status.PLANNED]
    return Preview(len(result.outcomes), len(planned), len({c.user_id for c in planned}), result.failed)


def run_job(
    data: bytes,
    gateway: Connect,
    settings: EngineSettings,
    *,
    dry_run: bool,
    progress: Progress | None = None,
    interrupt: threading.Event | None = None,
    sync: bool = False,
    confirm: Confirm | None = None,
) -> JobResult:
    """The whole job in one go (the CLI's path; the Lambda checkpoints between the steps). There is
    no later attempt here, so errors that may pass fail their rows, and retry.csv holds them.

    `confirm` (an apply only): called once, after resolution and a dry run of every user, before the
    first write, unless there is nothing to write; False raises NotConfirmed with nothing written.
    The real run reads each user again, so what it writes is diffed against Connect as it is then."""
    offline = check_offline(data, settings.limits, sync=sync)
    plan = prepare(offline, gateway, max_group_users=settings.max_group_users)
    if confirm is not None and not dry_run:
        seen = preview(plan, gateway, settings, progress=progress, interrupt=interrupt)
        if seen is not None and seen.changes and not confirm(seen):
            raise NotConfirmed(seen)
    run = run_users(
        plan.users,
        gateway,
        settings,
        dry_run=dry_run,
        progress=progress,
        interrupt=interrupt,
        retry_later=False,
    )
    result = assemble(plan, run.results, dry_run=dry_run, sync=sync)
    result.denied = run.denied
    return result
