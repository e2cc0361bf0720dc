"""The snapshot's steps (list -> read each batch -> write) and job.json, over fakes."""

from __future__ import annotations

import csv
import io
import json

import pytest

from connect_profiles.domain.engine import ConnectBusy, EngineSettings, JobResult
from connect_profiles.domain.job import JobConfig
from connect_profiles.domain.model import ChangeRecord, CsvRow, RowOutcome, Status
from connect_profiles.domain.outputs import job_record
from connect_profiles.domain.snapshot import Snapshot, SnapshotState, read_everyone, snapshot_csv
from connect_profiles.ports import ConnectCallError, UserRef
from tests.fakes import LIST_PROFICIENCIES, FakeConnect, FakeNotifier, FakeStore, connect_error

NOW = 1_764_072_000.0  # 2025-11-25 12:00:00 UTC
JOB_ID = "arn:aws:lambda:us-east-1:123456789012:function:f:1/durable-execution/snap/1"


def world(users: int = 5, batch: int = 2) -> tuple[Snapshot, FakeConnect, FakeStore, FakeNotifier]:
    connect = FakeConnect(attributes={"tier": ["Tier1", "Tier2"], "region": ["NA", "EMEA"]})
    for n in range(users):
        held = [("tier", "Tier1", n % 5 + 1)] if n % 2 == 0 else []
        if n % 3 == 0:
            held.append(("region", "EMEA", 2))
        connect.add_user(f"u-{n}", f"agent{n}", *held)
    store, notifier = FakeStore(), FakeNotifier()
    snapshot = Snapshot(
        config=JobConfig(
            instance_id=connect.instance_id, engine=EngineSettings(workers=2), users_per_batch=batch
        ),
        store=store,
        gateway=connect,
        notifier=notifier,
        clock=lambda: NOW,
    )
    return snapshot, connect, store, notifier


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_a_snapshot_reads_every_user_once_in_batches_and_writes_a_sync_file() -> None:
    # Given 5 users read 2 per batch
    snapshot, connect, store, notifier = world()
    # When its steps run
    state = snapshot.plan(JOB_ID)
    read = [snapshot.run_batch(state, index) for index in range(state.batches)]
    finished = snapshot.finish(state)
    # Then it listed once, read each user once, in 3 batches
    assert (state.users, state.batches) == (5, 3)
    assert state.key == "snapshots/2025-11-25.csv"
    assert state.prefix.startswith("reports/_snapshots/20251125T120000Z-")
    assert state.prefix.endswith("/_job/")
    assert connect.calls[LIST_PROFICIENCIES] == 5
    assert sum(read) == finished["proficiencies"] == 5
    # And the file is every user's set rows, by username, the empty-set row for who holds nothing
    written = rows(store.latest("snapshots/2025-11-25.csv"))
    assert [(r["identifier"], r["attribute"], r["level"], r["username"]) for r in written] == [
        ("u-0", "tier", "1", "agent0"),
        ("u-0", "region", "2", "agent0"),
        ("u-1", "", "", "agent1"),
        ("u-2", "tier", "3", "agent2"),
        ("u-3", "region", "2", "agent3"),
        ("u-4", "tier", "5", "agent4"),
    ]
    assert {(r["identifier_type"], r["action"]) for r in written} == {("user_id", "set")}
    # And one summary says how many users and proficiencies, and where
    [(subject, body)] = notifier.messages
    assert subject == "Connect profiles: snapshot snapshots/2025-11-25.csv: 5 users, 5 proficiencies"
    assert f"s3://{store.bucket}/snapshots/2025-11-25.csv" in body
    assert connect.instance_id in body
    assert "sync/" in body
    assert finished == {"key": state.key, "users": 5, "proficiencies": 5, "duration": 0.0}


def test_the_snapshot_state_survives_its_checkpoint() -> None:
    snapshot, *_ = world()
    state = snapshot.plan(JOB_ID)
    assert SnapshotState.from_dict(json.loads(json.dumps(state.as_dict()))) == state


def test_a_user_deleted_since_the_listing_is_left_out() -> None:
    _, connect, *_ = world(users=3)
    users = [UserRef("u-0", "agent0"), UserRef("u-gone", "ghost"), UserRef("u-2", "agent2")]
    holdings = read_everyone(connect, users, workers=1)
    assert [user.id for user, _ in holdings] == ["u-0", "u-2"]


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServiceException"])
def test_connect_busy_past_the_retries_makes_the_batch_run_again(code: str) -> None:
    _, connect, *_ = world(users=2)
    connect.inject(
        LIST_PROFICIENCIES, connect_error(LIST_PROFICIENCIES, code, "busy", 429 if "Thr" in code else 500)
    )
    with pytest.raises(ConnectBusy):
        read_everyone(connect, [UserRef("u-0", "agent0"), UserRef("u-1", "agent1")], workers=1)


def test_an_error_that_will_not_pass_is_not_busy() -> None:
    _, connect, *_ = world(users=1)
    connect.inject(
        LIST_PROFICIENCIES, connect_error(LIST_PROFICIENCIES, "InvalidParameterException", "no", 400)
    )
    with pytest.raises(ConnectCallError, match="InvalidParameterException"):
        read_everyone(connect, [UserRef("u-0", "agent0")], workers=1)


def test_snapshot_csv_orders_users_by_username_ignoring_case() -> None:
    content = snapshot_csv([(UserRef("2", "Bob"), []), (UserRef("1", "alice"), [])])
    assert [r["username"] for r in rows(content)] == ["alice", "Bob"]


def test_job_json_says_who_ran_what_when_and_what_came_of_it() -> None:
    row = CsvRow(2, "jdoe", "username", "add", "tier", "Tier1", "2")
    result = JobResult(
        [RowOutcome(row, Status.SUCCEEDED, "added at level 2", "u-1")],
        [],
        [],
        [],
        dry_run=True,
        changes=[ChangeRecord("u-1", "jdoe", "tier", "Tier1", None, 2, Status.PLANNED, 2, "would add")],
        sync=True,
    )
    document = json.loads(
        job_record(
            result,
            who="AWS:AIDAEXAMPLE",
            source={"bucket": "b", "key": "dry-run/sync/x.csv", "version_id": "v1"},
            instance_id="i-1",
            started=NOW,
            finished=NOW + 61.4,
        )
    )
    assert document == {
        "uploader": "AWS:AIDAEXAMPLE",
        "object": {"bucket": "b", "key": "dry-run/sync/x.csv", "version_id": "v1"},
        "instance_id": "i-1",
        "mode": "dry-run sync",
        "started": "2025-11-25T12:00:00Z",
        "finished": "2025-11-25T12:01:01Z",
        "counts": {"succeeded": 1},
        "changes": {"planned": 1},
    }
    applied = json.loads(
        job_record(JobResult([], [], [], []), who="w", source={}, instance_id="i", started=NOW, finished=NOW)
    )
    assert applied["mode"] == "apply"


def test_read_everyone_reports_progress_for_every_user_read() -> None:
    _, connect, *_ = world(users=3)
    users = [UserRef("u-0", "agent0"), UserRef("u-gone", "ghost"), UserRef("u-2", "agent2")]
    seen: list[tuple[int, int]] = []
    read_everyone(connect, users, workers=2, progress=lambda done, total: seen.append((done, total)))
    # Each user read counts, the deleted one too: the bar ends at its total
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]
