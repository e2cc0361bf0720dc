"""The engine: CSV bytes in, the fewest paced Connect calls, outcomes and undo files out.

    read (offline) -> prepare (attributes, usernames) -> run users (read, fold, write) -> assemble

It knows nothing of Lambda, S3 or terminals: the CLI and the Lambda handler drive these steps and
decide where the bytes go. The steps are separate so a durable job can checkpoint between them.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from connect_profiles.contract import DEFAULT_MAX_PROFICIENCIES
from connect_profiles.domain.csv_input import DEFAULT_LIMITS, Limits, check_row, find_duplicates, read_csv
from connect_profiles.domain.model import (
    Change,
    CsvRow,
    IdentifierType,
    Proficiency,
    RowOutcome,
    Status,
)
from connect_profiles.domain.planning import UserPlan, fold
from connect_profiles.domain.resolution import resolve_usernames
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

    def __post_init__(self) -> None:
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


@dataclass(slots=True)
class UserWork:
    """One user's rows, in file order, ready to fold over what the user holds."""

    user_id: str
    changes: list[Change]
    notes: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class JobPlan:
    settled: list[RowOutcome]
    users: list[UserWork]
    warnings: list[str]
    data_rows: int


@dataclass(slots=True)
class UserResult:
    user_id: str
    outcomes: list[RowOutcome]
    before: list[Proficiency]
    undo: list[Cells]  # input-format rows that restore what this user's calls changed


@dataclass(slots=True)
class JobResult:
    outcomes: list[RowOutcome]  # one per data row, by line
    backup: list[Cells]
    rollback: list[Cells]
    warnings: list[str]
    dry_run: bool = False
    denied: PermissionDenied | None = None

    @property
    def retry(self) -> list[CsvRow]:
        return [outcome.row for outcome in self.outcomes if outcome.status is Status.FAILED]

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


# --- read -------------------------------------------------------------------------------------


def check_offline(data: bytes, limits: Limits = DEFAULT_LIMITS) -> OfflineCheck:
    """Read the file and check every row without Connect. Raises FileRejected for file problems."""
    parsed = read_csv(data, limits)
    duplicates = find_duplicates(parsed.rows)
    settled: list[RowOutcome] = []
    changes: list[Change] = []
    for row in parsed.rows:
        first = duplicates.get(row.line)
        if first is not None:
            settled.append(RowOutcome(row, Status.SKIPPED, f"duplicate of line {first}"))
            continue
        checked = check_row(row)
        if isinstance(checked, str):
            settled.append(RowOutcome(row, Status.FAILED, checked))
        else:
            changes.append(checked)
    return OfflineCheck(settled, changes, parsed.warnings, len(parsed.rows))


# --- prepare ----------------------------------------------------------------------------------


def prepare(offline: OfflineCheck, gateway: Connect) -> JobPlan:
    """Check attributes and values, resolve usernames, and group the changes by user."""
    attributes = sorted({change.row.attribute for change in offline.changes})
    usernames = sorted(
        {c.row.identifier for c in offline.changes if c.identifier_type is IdentifierType.USERNAME}
    )
    user_count = gateway.count_users()  # fails fast on an unknown instance or bad credentials
    # Describing attributes and resolving usernames use different APIs, so they run side by side.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="prepare") as pool:
        values_future = pool.submit(lambda: {name: gateway.attribute_values(name) for name in attributes})
        resolved = resolve_usernames(gateway, usernames, user_count)
        values = values_future.result()

    settled = list(offline.settled)
    users: dict[str, UserWork] = {}
    for change in offline.changes:
        problem = _attribute_problem(change, values)
        if problem:
            settled.append(RowOutcome(change.row, Status.FAILED, problem))
            continue
        user_id, note = change.row.identifier, ""
        if change.identifier_type is IdentifierType.USERNAME:
            resolution = resolved[change.row.identifier]
            if resolution.user_id is None:
                settled.append(RowOutcome(change.row, Status.FAILED, resolution.note))
                continue
            user_id, note = resolution.user_id, resolution.note
        work = users.setdefault(user_id, UserWork(user_id, []))
        work.changes.append(change)
        if note:
            work.notes[change.row.line] = note
    return JobPlan(settled, list(users.values()), offline.warnings, offline.data_rows)


def _attribute_problem(change: Change, values: Mapping[str, list[str] | None]) -> str:
    allowed = values[change.row.attribute]
    if allowed is None:
        return f"attribute {change.row.attribute!r} is not a predefined attribute in this instance"
    if change.row.value not in allowed:
        shown = ", ".join(allowed[:10]) + (", …" if len(allowed) > 10 else "")
        attribute = change.row.attribute
        return f"value {change.row.value!r} is not a value of attribute {attribute!r} (values: {shown})"
    return ""


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
    return UserResult(work.user_id, _fail_all(work, reason), [], [])


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
        return UserResult(work.user_id, _fail_all(work, message), [], [])
    remembered = journal.recall(work.user_id) if journal and not dry_run else None
    before = held if remembered is None else remembered
    plan = fold(
        work.user_id, before, work.changes, max_proficiencies=settings.max_proficiencies, notes=work.notes
    )
    if dry_run:
        return UserResult(work.user_id, _as_planned(plan.outcomes), before, [])
    if journal and remembered is None and plan.has_writes:
        journal.record(work.user_id, before)
    current = {(p.attribute, p.value): p.level for p in held}
    undo = _write(plan, current, gateway, halt, retry_later=retry_later)
    return UserResult(work.user_id, plan.outcomes, before, undo)


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
        _settle(plan, uncertain, gateway, retry_later=retry_later)
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
    *,
    retry_later: bool,
) -> None:
    """Read the user again and settle the rows of failed calls by what now holds."""
    try:
        held = gateway.list_proficiencies(plan.user_id, settling=True)
        now = {(p.attribute, p.value): p.level for p in held}
    except (ConnectCallError, ConnectUnavailable) as error:
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


def assemble(plan: JobPlan, results: Iterable[UserResult], *, dry_run: bool) -> JobResult:
    outcomes = list(plan.settled)
    backup: list[Cells] = []
    undo: list[Cells] = []
    for result in results:
        outcomes.extend(result.outcomes)
        backup.extend(
            (result.user_id, "user_id", "add", p.attribute, p.value, str(p.level)) for p in result.before
        )
        undo.extend(result.undo)
    outcomes.sort(key=lambda outcome: outcome.row.line)
    # Removals first, so that dropped back in, the rollback never meets the per-agent limit.
    undo.sort(key=lambda row: _UNDO_ORDER[row[2]])
    return JobResult(outcomes, backup, undo, plan.warnings, dry_run)


def run_job(
    data: bytes,
    gateway: Connect,
    settings: EngineSettings,
    *,
    dry_run: bool,
    progress: Progress | None = None,
    interrupt: threading.Event | None = None,
) -> JobResult:
    """The whole job in one go (the CLI's path; the Lambda checkpoints between the steps). There is
    no later attempt here, so errors that may pass fail their rows, and retry.csv holds them."""
    plan = prepare(check_offline(data, settings.limits), gateway)
    run = run_users(
        plan.users,
        gateway,
        settings,
        dry_run=dry_run,
        progress=progress,
        interrupt=interrupt,
        retry_later=False,
    )
    result = assemble(plan, run.results, dry_run=dry_run)
    result.denied = run.denied
    return result
