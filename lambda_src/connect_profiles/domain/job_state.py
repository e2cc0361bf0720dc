"""JSON forms of the engine's intermediate results, so a durable job can keep them in S3 between
steps and checkpoint only pointers and counts."""

from __future__ import annotations

from typing import Any

from connect_profiles.domain.engine import Cells, GroupRow, JobPlan, UserResult, UserWork
from connect_profiles.domain.model import (
    Action,
    Change,
    ChangeRecord,
    CsvRow,
    IdentifierType,
    Proficiency,
    RowOutcome,
    Status,
)


def _row(row: CsvRow) -> list[Any]:
    return [row.line, *row.cells()]


def _row_from(data: list[Any]) -> CsvRow:
    return CsvRow(int(data[0]), *(str(cell) for cell in data[1:7]))


def _outcome(outcome: RowOutcome) -> dict[str, Any]:
    return {
        "row": _row(outcome.row),
        "status": outcome.status.value,
        "message": outcome.message,
        "user": outcome.user_id,
    }


def _outcome_from(data: dict[str, Any]) -> RowOutcome:
    return RowOutcome(_row_from(data["row"]), Status(data["status"]), data["message"], data["user"])


def _change(change: Change) -> dict[str, Any]:
    return {
        "row": _row(change.row),
        "type": change.identifier_type.value,
        "action": change.action.value,
        "level": change.level,
    }


def _change_from(data: dict[str, Any]) -> Change:
    return Change(_row_from(data["row"]), IdentifierType(data["type"]), Action(data["action"]), data["level"])


def users_to_json(users: list[UserWork]) -> list[dict[str, Any]]:
    return [
        {
            "id": work.user_id,
            "changes": [_change(c) for c in work.changes],
            "notes": {str(line): note for line, note in work.notes.items()},
            "username": work.username,
            "identifier": list(work.identifier),
            "sync": work.sync,
        }
        for work in users
    ]


def users_from_json(data: list[dict[str, Any]]) -> list[UserWork]:
    return [
        UserWork(
            entry["id"],
            [_change_from(c) for c in entry["changes"]],
            {int(line): note for line, note in entry["notes"].items()},
            username=entry["username"],
            identifier=(entry["identifier"][0], entry["identifier"][1]),
            sync=entry["sync"],
        )
        for entry in data
    ]


def _record(change: ChangeRecord) -> list[Any]:
    return [
        change.user_id,
        change.username,
        change.attribute,
        change.value,
        change.level_before,
        change.level_after,
        change.status.value,
        change.line,
        change.message,
    ]


def _record_from(data: list[Any]) -> ChangeRecord:
    uid, username, attribute, value, before, after, status, line, message = data
    return ChangeRecord(uid, username, attribute, value, before, after, Status(status), line, message)


def plan_to_json(plan: JobPlan) -> dict[str, Any]:
    return {
        "settled": [_outcome(o) for o in plan.settled],
        "users": users_to_json(plan.users),
        "warnings": plan.warnings,
        "data_rows": plan.data_rows,
        "groups": [{"row": _row(g.row), "members": g.members, "note": g.note} for g in plan.groups],
        "delimiter": plan.delimiter,
    }


def plan_from_json(data: dict[str, Any]) -> JobPlan:
    users = users_from_json(data["users"])
    groups = [GroupRow(_row_from(g["row"]), int(g["members"]), g["note"]) for g in data.get("groups", [])]
    settled = [_outcome_from(o) for o in data["settled"]]
    delimiter = data.get("delimiter", ",")  # plans checkpointed before reports kept the file's delimiter
    return JobPlan(settled, users, data["warnings"], data["data_rows"], groups, delimiter)


def proficiencies_to_json(held: list[Proficiency]) -> list[list[Any]]:
    return [[p.attribute, p.value, p.level] for p in held]


def proficiencies_from_json(data: list[list[Any]]) -> list[Proficiency]:
    return [Proficiency(str(a), str(v), int(level)) for a, v, level in data]


def results_to_json(results: list[UserResult]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.user_id,
            "outcomes": [_outcome(o) for o in r.outcomes],
            "before": proficiencies_to_json(r.before),
            "undo": [list(cells) for cells in r.undo],
            "changes": [_record(c) for c in r.changes],
            "username": r.username,
            "read": r.read,
        }
        for r in results
    ]


def results_from_json(data: list[dict[str, Any]]) -> list[UserResult]:
    results = []
    for entry in data:
        undo: list[Cells] = [(c[0], c[1], c[2], c[3], c[4], c[5]) for c in entry["undo"]]
        results.append(
            UserResult(
                entry["id"],
                [_outcome_from(o) for o in entry["outcomes"]],
                proficiencies_from_json(entry["before"]),
                undo,
                [_record_from(c) for c in entry["changes"]],
                entry["username"],
                entry["read"],
            )
        )
    return results
