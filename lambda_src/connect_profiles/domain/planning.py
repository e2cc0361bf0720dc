"""Per-user planning: fold a user's rows, in file order, over the proficiencies the user holds.

Each row sees the state the rows before it leave. The net difference between the state before and
after becomes at most one Associate, one Update and one Disassociate call, and each call remembers
the rows it carries, so a failed call fails exactly those rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from connect_profiles.domain.model import Action, Change, Proficiency, RowOutcome, Status

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
