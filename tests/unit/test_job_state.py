"""What a durable job keeps in S3 between steps comes back exactly as it was."""

from __future__ import annotations

import json

from connect_profiles.domain.engine import JobPlan, UserResult, UserWork
from connect_profiles.domain.job_state import plan_from_json, plan_to_json, results_from_json, results_to_json
from connect_profiles.domain.model import (
    Action,
    Change,
    CsvRow,
    IdentifierType,
    Proficiency,
    RowOutcome,
    Status,
)


def _row(line: int, action: str = "add", level: str = "3") -> CsvRow:
    return CsvRow(line, "=jdoe", "username", action, "language", 'Español, "Latam"', level)


def test_a_plan_round_trips_through_json() -> None:
    plan = JobPlan(
        settled=[RowOutcome(_row(4), Status.SKIPPED, "duplicate of line 2")],
        users=[
            UserWork(
                "user-1",
                [
                    Change(_row(2), IdentifierType.USERNAME, Action.ADD, 3),
                    Change(_row(3, "remove", ""), IdentifierType.USERNAME, Action.REMOVE, None),
                ],
                {2: "username matched 'JDoe' ignoring case"},
            )
        ],
        warnings=["unknown column 'notes' ignored"],
        data_rows=3,
    )
    assert plan_from_json(json.loads(json.dumps(plan_to_json(plan)))) == plan


def test_user_results_round_trip_through_json() -> None:
    results = [
        UserResult(
            "user-1",
            [RowOutcome(_row(2), Status.SUCCEEDED, "added at level 3", "user-1")],
            [Proficiency("tier", "Tier1", 2)],
            [("user-1", "user_id", "remove", "language", "Español", "")],
        )
    ]
    assert results_from_json(json.loads(json.dumps(results_to_json(results)))) == results
