"""Per-user planning: fold a user's rows, in file order, over the proficiencies the user holds.

Each row sees the state the rows before it leave. The net difference between the state before and
after becomes at most one Associate, one Update and one Disassociate call, and each call remembers
the rows it carries, so a failed call fails exactly those rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from connect_profiles.domain.model import Action, Change, CsvRow, Proficiency, RowOutcome, Status

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Writes:
    disassociate: list[Key]
    update: list[Proficiency]
    associate: list[Proficiency]


@dataclass(slots=True)
class UserPlan:
    user_id: str
    before: dict[Key, int]
    after: dict[Key, int]
    outcomes: list[RowOutcome]
    # key -> indexes into `outcomes` of the succeeded rows whose effect the key's call carries
    carried: dict[Key, list[int]] = field(default_factory=dict)

    def writes_from(self, current: Mapping[Key, int]) -> Writes:
        """The calls that take the keys this file changes from `current` to the planned state.

        `current` is what the user held before (a fresh job), or what the user holds now when a
        job resumes after some of its calls went through; keys the file does not change are never
        touched, whatever happened to them meanwhile."""
        after = self.after
        keys = list(self.carried)
        return Writes(
            disassociate=[key for key in keys if key in current and key not in after],
            update=[
                Proficiency(*key, after[key])
                for key in keys
                if key in current and key in after and current[key] != after[key]
            ],
            associate=[Proficiency(*key, after[key]) for key in keys if key not in current and key in after],
        )

    @property
    def has_writes(self) -> bool:
        return self.before != self.after


def fold(
    user_id: str,
    held: Iterable[Proficiency],
    changes: Iterable[Change],
    *,
    max_proficiencies: int,
    notes: Mapping[int, str] | None = None,
) -> UserPlan:
    """Evaluate `changes` (one user's rows, in file order) against what the user holds."""
    before = {(p.attribute, p.value): p.level for p in held}
    state = dict(before)
    outcomes: list[RowOutcome] = []
    touched: dict[Key, list[int]] = {}
    notes = notes or {}
    for change in changes:
        status, message = _apply_row(change, state, max_proficiencies)
        note = notes.get(change.row.line)
        if note:
            message = f"{message}; {note}"
        if status is Status.SUCCEEDED:
            touched.setdefault(change.key, []).append(len(outcomes))
        outcomes.append(RowOutcome(change.row, status, message, user_id))
    # Only keys whose state really differs need a call; rows on the others (add then remove) are
    # already true without one.
    carried = {key: rows for key, rows in touched.items() if before.get(key) != state.get(key)}
    return UserPlan(user_id, before, state, outcomes, carried)


def _apply_row(change: Change, state: dict[Key, int], limit: int) -> tuple[Status, str]:
    key, level = change.key, change.level
    held = state.get(key)
    if change.action is Action.SET:
        assert level is not None
        if held is None:
            return _apply_row(Change(change.row, change.identifier_type, Action.ADD, level), state, limit)
        if held == level:
            return Status.SKIPPED, f"already at level {held}"
        state[key] = level
        return Status.SUCCEEDED, f"updated from level {held} to {level}"
    if change.action is Action.ADD:
        assert level is not None
        if held is not None:
            suffix = "" if held == level else "; use update"
            return Status.SKIPPED, f"already at level {held}{suffix}"
        if len(state) >= limit:
            return (
                Status.FAILED,
                f"would exceed the limit of {limit} proficiencies per agent (the user holds {len(state)})",
            )
        state[key] = level
        return Status.SUCCEEDED, f"added at level {level}"
    if change.action is Action.UPDATE:
        assert level is not None
        if held is None:
            return Status.FAILED, "not assigned; use add"
        if held == level:
            return Status.SKIPPED, f"already at level {held}"
        state[key] = level
        return Status.SUCCEEDED, f"updated from level {held} to {level}"
    if held is None:
        return Status.SKIPPED, "not assigned"
    del state[key]
    return Status.SUCCEEDED, f"removed (was level {held})"


NOT_DESIRED = "not in the desired state"


def fold_sync(
    user_id: str,
    identifier: tuple[str, str],
    held: Iterable[Proficiency],
    changes: Iterable[Change],
    *,
    max_proficiencies: int,
    notes: Mapping[int, str] | None = None,
) -> UserPlan:
    """A sync file's rows for one user are the user's whole desired set: listed pairs end at their
    levels, held pairs not listed are removed, each removal reported on a row of its own (line 0,
    after the data rows) carrying `identifier` (the cells the user was named by). The per-agent
    limit applies to the final set; over it, or with one pair listed at two levels, nothing
    changes and every row of the user fails."""
    changes = list(changes)
    before = {(p.attribute, p.value): p.level for p in held}
    desired: dict[Key, int] = {}
    first_line: dict[Key, int] = {}
    for change in changes:
        if change.empties:
            continue
        assert change.level is not None
        if change.key in desired and desired[change.key] != change.level:
            name, value = change.key
            return _refuse_all(
                user_id,
                before,
                changes,
                f"{name}={value} is listed twice with different levels (lines {first_line[change.key]} "
                f"and {change.row.line}); the user was left unchanged",
            )
        desired[change.key] = change.level
        first_line.setdefault(change.key, change.row.line)
    if len(desired) > max_proficiencies:
        return _refuse_all(
            user_id,
            before,
            changes,
            f"the desired set has {len(desired)} proficiencies, over the limit of {max_proficiencies} "
            "per agent; the user was left unchanged",
        )
    notes = notes or {}
    outcomes: list[RowOutcome] = []
    carried: dict[Key, list[int]] = {}
    removals = [key for key in before if key not in desired]
    for change in changes:
        if change.empties:
            status, message = (
                (Status.SUCCEEDED, f"desired set is empty: {len(removals)} removed")
                if removals
                else (Status.SKIPPED, "already holds nothing")
            )
        else:
            status, message = _desired_row(change, before, first_line)
            if status is Status.SUCCEEDED:
                carried.setdefault(change.key, []).append(len(outcomes))
        note = notes.get(change.row.line)
        outcomes.append(RowOutcome(change.row, status, f"{message}; {note}" if note else message, user_id))
    id_cell, id_type = identifier
    for key in removals:
        row = CsvRow(0, id_cell, id_type, Action.REMOVE.value, *key, "")
        carried[key] = [len(outcomes)]
        outcomes.append(RowOutcome(row, Status.SUCCEEDED, NOT_DESIRED, user_id))
    return UserPlan(user_id, before, desired, outcomes, carried)


def _desired_row(
    change: Change, before: Mapping[Key, int], first_line: Mapping[Key, int]
) -> tuple[Status, str]:
    assert change.level is not None
    if first_line[change.key] != change.row.line:
        return Status.SKIPPED, f"already listed at line {first_line[change.key]}"
    held = before.get(change.key)
    if held is None:
        return Status.SUCCEEDED, f"added at level {change.level}"
    if held == change.level:
        return Status.SKIPPED, f"already at level {held}"
    return Status.SUCCEEDED, f"updated from level {held} to {change.level}"


def _refuse_all(user_id: str, before: dict[Key, int], changes: Iterable[Change], message: str) -> UserPlan:
    outcomes = [RowOutcome(change.row, Status.FAILED, message, user_id) for change in changes]
    return UserPlan(user_id, before, dict(before), outcomes, {})
