"""The Lambda job's steps (plan -> run_batch per batch -> finish) over fakes of S3, SNS, Connect and
the journal: what each step reads and writes, and what people are told."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connect_profiles.domain.csv_input import Limits, read_csv
from connect_profiles.domain.engine import ConnectBusy, EngineSettings
from connect_profiles.domain.job import BatchDone, Job, JobConfig, JobState, ObjectRef, is_job_key
from connect_profiles.domain.model import Denial, Proficiency
from connect_profiles.entrypoints.handler import object_refs
from connect_profiles.ports import ConnectUnavailable, ConnectUnreachable, PermissionDenied
from tests.fakes import (
    ASSOCIATE,
    DISASSOCIATE,
    HEADER,
    FakeConnect,
    FakeNotifier,
    FakeStore,
    JournalShelf,
    csv_file,
    permission_denied,
)

EVENTS = Path(__file__).parents[1] / "fixtures" / "events"
KEY = "incoming/team/changes.csv"
JOB_ID = "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST/durable-execution/x/y#0"
ATTRIBUTES = {"tier": ["Tier1", "Tier2", "Tier3"], "region": ["EMEA", "APAC", "NA"]}


class World:
    """A job over fakes: the bucket, the topic, the Connect instance, the journals."""

    def __init__(self, *, users_per_batch: int = 200, users: int = 3) -> None:
        self.now = 1_764_072_000.0  # 2025-11-25 12:00 UTC; tests move it on
        self.store = FakeStore()
        self.notifier = FakeNotifier()
        self.connect = FakeConnect(attributes=ATTRIBUTES)
        for n in range(users):
            self.connect.add_user(f"u-{n}", f"agent{n}", ("tier", "Tier1", 1))
        self.journals = JournalShelf()
        self.job = Job(
            config=JobConfig(
                instance_id=self.connect.instance_id,
                engine=EngineSettings(workers=2),
                users_per_batch=users_per_batch,
            ),
            store=self.store,
            gateway=self.connect,
            notifier=self.notifier,
            journal=self.journals,
            clock=lambda: self.now,
        )

    def drop(self, content: bytes, key: str = KEY) -> ObjectRef:
        version = self.store.upload(key, content)
        return ObjectRef(self.store.bucket, key, version, "0055AED6DCD90281E5", '"etag"', len(content))

    def run(self, ref: ObjectRef) -> tuple[JobState, dict[str, Any]]:
        info = self.job.plan(ref, JOB_ID)
        assert not info.stopped, (info.rejected, info.denied)
        done = [self.job.run_batch(info, index, last_attempt=False) for index in range(info.batches)]
        return info, self.job.finish(info, done)

    def file(self, info: JobState, name: str) -> bytes:
        return self.store.latest(f"{info.prefix}{name}")


def report_rows(content: bytes) -> list[list[str]]:
    lines = content.decode("utf-8-sig").splitlines()
    return [line.split(",") for line in lines[1:]]


def test_plan_reads_the_exact_object_version_the_event_names() -> None:
    # Given two versions of the same key, the event naming the first
    world = World()
    ref = world.drop(csv_file("agent0,username,update,tier,Tier1,3"))
    world.drop(csv_file("agent0,username,update,tier,Tier1,5"))
    assert ref.version_id == "v1"
    # When the job runs
    world.run(ref)
    # Then it read that version, and applied what it says
    assert world.store.reads == [(KEY, "v1")]
    assert world.connect.held("u-0") == {("tier", "Tier1"): 3}


def test_a_job_writes_its_four_files_under_its_report_folder_and_publishes_one_summary() -> None:
    world = World()
    ref = world.drop(
        csv_file(
            "agent0,username,update,tier,Tier1,4",
            "agent1,username,add,region,EMEA,2",
            "agent2,username,remove,tier,Tier1,",
            "agent2,username,update,tier,Tier3,2",
            "agent1,username,add,region,EMEA,2",
        )
    )
    info, finished = world.run(ref)
    prefix = info.prefix
    assert prefix.startswith("reports/team/changes/")
    # The report: one row per data row, by line
    report = report_rows(world.file(info, "report.csv"))
    assert [(r[0], r[8]) for r in report] == [
        ("2", "succeeded"),
        ("3", "succeeded"),
        ("4", "succeeded"),
        ("5", "failed"),
        ("6", "skipped"),
    ]
    assert [r[7] for r in report[:4]] == ["u-0", "u-1", "u-2", "u-2"]
    # rollback.csv undoes every change, removals first; retry.csv holds the failed row
    rollback = [row.cells() for row in read_csv(world.file(info, "rollback.csv")).rows]
    assert rollback == [
        ("u-1", "user_id", "remove", "region", "EMEA", ""),
        ("u-0", "user_id", "update", "tier", "Tier1", "1"),
        ("u-2", "user_id", "add", "tier", "Tier1", "1"),
    ]
    assert world.file(info, "rollback.csv").decode("utf-8-sig").splitlines()[1] == (
        "u-1,user_id,remove,region,EMEA,,agent1"
    )
    retry = [row.cells() for row in read_csv(world.file(info, "retry.csv")).rows]
    assert retry == [("agent2", "username", "update", "tier", "Tier3", "2")]
    assert world.file(info, "retry.csv").decode("utf-8-sig").splitlines()[1] == (
        "agent2,username,update,tier,Tier3,2,not assigned; use add"
    )
    backup = sorted(row.cells() for row in read_csv(world.file(info, "backup.csv")).rows)
    assert backup == [(f"u-{n}", "user_id", "set", "tier", "Tier1", "1") for n in range(3)]
    # changes.csv: one line per (user, pair) changed
    changes = report_rows(world.file(info, "changes.csv"))
    assert sorted(changes) == [
        ["u-0", "agent0", "tier", "Tier1", "1", "4", "succeeded", "2", "updated from level 1 to 4"],
        ["u-1", "agent1", "region", "EMEA", "", "2", "succeeded", "3", "added at level 2"],
        ["u-2", "agent2", "tier", "Tier1", "1", "", "succeeded", "4", "removed (was level 1)"],
    ]
    # And one summary went out, naming the file, the counts and the folder
    [(subject, body)] = world.notifier.messages
    assert subject == "Connect profiles: changes.csv: 3 succeeded, 1 skipped, 1 failed"
    assert f"s3://{world.store.bucket}/{prefix}" in body
    assert finished["counts"] == {"succeeded": 3, "skipped": 1, "failed": 1}
    assert finished["subject"] == subject
    assert finished["message_id"] == "message-1"
    # Nothing was written where it would start another job
    assert [k for k in world.store.all_keys() if k.startswith(("incoming/", "dry-run/"))] == [KEY]


def test_each_batch_holds_its_own_users_and_the_report_gathers_them_all() -> None:
    world = World(users_per_batch=2, users=5)
    ref = world.drop(csv_file(*[f"agent{n},username,update,tier,Tier1,{n % 4 + 2}" for n in range(5)]))
    info = world.job.plan(ref, JOB_ID)
    assert (info.rows, info.users, info.batches) == (5, 5, 3)
    state = world.store.list_keys(info.state)
    assert sorted(k.rsplit("/", 1)[1] for k in state) == [
        "plan.json",
        "users-0.json",
        "users-1.json",
        "users-2.json",
    ]
    done = [world.job.run_batch(info, index, last_attempt=False) for index in range(3)]
    assert [(d.index, d.users, d.counts, d.denied) for d in done] == [
        (0, 2, {"succeeded": 2}, None),
        (1, 2, {"succeeded": 2}, None),
        (2, 1, {"succeeded": 1}, None),
    ]
    world.job.finish(info, done)
    report = report_rows(world.file(info, "report.csv"))
    assert [r[0] for r in report] == ["2", "3", "4", "5", "6"]
    assert {uid: world.connect.held(uid) for uid in world.connect.users} == {
        f"u-{n}": {("tier", "Tier1"): n % 4 + 2} for n in range(5)
    }


class RetriedReads(FakeConnect):
    """Each ListUserProficiencies needed three attempts (botocore's retries, counted by the adapter)."""

    def list_proficiencies(self, user_id: str, *, settling: bool = False) -> list[Proficiency]:
        self.reported_retries += 2
        return super().list_proficiencies(user_id, settling=settling)


def test_a_batch_reports_the_connect_retries_it_needed() -> None:
    world = World()
    connect = RetriedReads(attributes=ATTRIBUTES)
    for n in range(3):
        connect.add_user(f"u-{n}", f"agent{n}", ("tier", "Tier1", 1))
    connect.reported_retries = 7  # before this batch: not its own
    world.connect = connect
    world.job.gateway = connect
    info = world.job.plan(
        world.drop(csv_file("agent0,username,update,tier,Tier1,2", "agent1,username,update,tier,Tier1,2")),
        JOB_ID,
    )
    done = world.job.run_batch(info, 0, last_attempt=False)
    assert done.retries == 4
    assert world.job.finish(info, [done])["retries"] == 4


def test_a_dry_run_changes_nothing_and_says_so() -> None:
    world = World()
    ref = world.drop(csv_file("agent0,username,update,tier,Tier1,4"), key="dry-run/changes.csv")
    info, finished = world.run(ref)
    assert info.dry_run
    assert world.connect.writes == []
    assert [r[8] for r in report_rows(world.file(info, "report.csv"))] == ["planned"]
    assert world.file(info, "rollback.csv").decode("utf-8-sig").splitlines()[1:] == []
    [(subject, _)] = world.notifier.messages
    assert subject == "DRY RUN Connect profiles: changes.csv: 1 planned, 0 failed"
    assert finished["counts"] == {"planned": 1}


def test_the_summary_gives_the_jobs_duration() -> None:
    world = World()
    info = world.job.plan(world.drop(csv_file("agent0,username,update,tier,Tier1,2")), JOB_ID)
    done = world.job.run_batch(info, 0, last_attempt=False)
    world.now = info.started + 83.27
    finished = world.job.finish(info, [done])
    assert finished["duration"] == pytest.approx(83.27)
    [(_, body)] = world.notifier.messages
    assert "Duration: 83.3 s." in body


def test_a_rejected_file_gets_rejection_txt_an_empty_report_and_one_email_and_no_connect_call() -> None:
    world = World()
    ref = world.drop(b"identifier,action\r\njdoe,add\r\n")
    info = world.job.plan(ref, JOB_ID)
    reason = info.rejected
    assert reason is not None
    assert info.stopped
    assert info.denied is None
    assert reason.startswith("The header is missing the required columns identifier_type, attribute, value.")
    assert world.file(info, "rejection.txt").decode() == f"{reason}\n"
    assert world.file(info, "report.csv").decode("utf-8-sig").splitlines() == [
        "line,identifier,identifier_type,action,attribute,value,level,user_id,status,message"
    ]
    [(subject, body)] = world.notifier.messages
    assert subject == "Connect profiles: changes.csv: rejected, nothing applied"
    assert f"Reason: {reason}" in body
    assert sum(world.connect.calls.values()) == 0
    assert world.store.list_keys(info.state) == []


def test_an_instance_that_cannot_be_used_rejects_the_file_with_the_reason() -> None:
    world = World()
    world.connect.inject("SearchUsers", ConnectUnavailable("Instance x: ResourceNotFoundException: gone"))
    info = world.job.plan(world.drop(csv_file("agent0,username,update,tier,Tier1,2")), JOB_ID)
    assert info.rejected == "Instance x: ResourceNotFoundException: gone"
    [(subject, _)] = world.notifier.messages
    assert subject.endswith("rejected, nothing applied")
    assert world.connect.writes == []


def test_a_network_failure_while_planning_is_retried_not_a_rejection() -> None:
    world = World()
    world.connect.inject("SearchUsers", ConnectUnreachable("connection reset"))
    with pytest.raises(ConnectUnreachable):
        world.job.plan(world.drop(csv_file("agent0,username,update,tier,Tier1,2")), JOB_ID)
    assert world.notifier.messages == []


def test_a_batch_retried_after_a_crash_sends_only_what_is_left_and_reports_and_undoes_it_all() -> None:
    # Given a batch that died after agent0's Disassociate, before its Associate
    world = World()
    world.connect.inject(ASSOCIATE, RuntimeError("sandbox frozen"))
    ref = world.drop(csv_file("agent0,username,remove,tier,Tier1,", "agent0,username,add,tier,Tier2,3"))
    info = world.job.plan(ref, JOB_ID)
    with pytest.raises(RuntimeError):
        world.job.run_batch(info, 0, last_attempt=False)
    # When the durable step runs the batch again, and the job finishes
    done = world.job.run_batch(info, 0, last_attempt=False)
    world.job.finish(info, [done])
    # Then nothing was sent twice, every row is reported, and rollback undoes both changes
    assert [(w.operation, w.applied) for w in world.connect.writes] == [
        (DISASSOCIATE, True),
        (ASSOCIATE, False),
        (ASSOCIATE, True),
    ]
    assert [r[8] for r in report_rows(world.file(info, "report.csv"))] == ["succeeded", "succeeded"]
    rollback = [row.cells() for row in read_csv(world.file(info, "rollback.csv")).rows]
    assert rollback == [
        ("u-0", "user_id", "remove", "tier", "Tier2", ""),
        ("u-0", "user_id", "add", "tier", "Tier1", "1"),
    ]
    backup = [row.cells() for row in read_csv(world.file(info, "backup.csv")).rows]
    assert backup == [("u-0", "user_id", "set", "tier", "Tier1", "1")]
    assert len(world.notifier.messages) == 1


def test_each_record_names_the_exact_object_version_with_its_etag_and_size() -> None:
    event = json.loads((EVENTS / "s3-object-created-put.json").read_text())
    [ref] = object_refs(event)
    s3 = event["Records"][0]["s3"]["object"]
    assert (ref.version_id, ref.sequencer, ref.etag, ref.size) == (
        s3["versionId"],
        s3["sequencer"],
        s3["eTag"],
        s3["size"],
    )
    with pytest.raises(ValueError, match=r"^not an S3 event notification: no Records list$"):
        object_refs({"Records": None})


def test_the_report_folder_is_named_by_utc_time_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        world = World()
        info = world.job.plan(world.drop(csv_file("agent0,username,update,tier,Tier1,2")), JOB_ID)
    finally:
        monkeypatch.undo()
        time.tzset()
    stamp = datetime.fromtimestamp(info.started, UTC).strftime("%Y%m%dT%H%M%SZ")
    assert stamp == "20251125T120000Z"
    assert info.prefix.startswith(f"reports/team/changes/{stamp}-")


def test_a_rejection_names_the_instance_and_the_folder_and_is_plain_text() -> None:
    world = World()
    info = world.job.plan(world.drop(b"", key="dry-run/empty.csv"), JOB_ID)
    stored = world.store.latest_object(f"{info.prefix}rejection.txt")
    assert stored.content_type == "text/plain; charset=utf-8"
    [(subject, body)] = world.notifier.messages
    assert subject == "DRY RUN Connect profiles: empty.csv: rejected, nothing applied"
    assert world.connect.instance_id in body
    assert f"s3://{world.store.bucket}/{info.prefix}." in body


def test_a_batch_keeps_its_journal_in_the_jobs_state_folder() -> None:
    world = World()
    info = world.job.plan(world.drop(csv_file("agent0,username,update,tier,Tier1,2")), JOB_ID)
    world.job.run_batch(info, 0, last_attempt=False)
    assert world.journals.opened == [(world.store, f"{info.state}journal/")]
    assert world.journals.journals[f"{info.state}journal/"].recorded == ["u-0"]


def test_the_finish_step_names_the_instance_and_rounds_the_duration_to_milliseconds() -> None:
    world = World()
    info = world.job.plan(world.drop(csv_file("agent0,username,update,tier,Tier1,2")), JOB_ID)
    done = world.job.run_batch(info, 0, last_attempt=False)
    info = replace(info, started=1_000.0)
    world.now = 1_012.34567
    finished = world.job.finish(info, [done])
    assert finished["duration"] == 12.346
    [(_, body)] = world.notifier.messages
    assert f"Amazon Connect instance {world.connect.instance_id}." in body


def test_the_jobs_engine_limits_apply_to_the_dropped_file() -> None:
    world = World()
    world.job = Job(
        config=JobConfig(instance_id="i", engine=EngineSettings(limits=Limits(max_rows=1))),
        store=world.store,
        gateway=world.connect,
        notifier=world.notifier,
        journal=world.journals,
    )
    ref = world.drop(csv_file("agent0,username,update,tier,Tier1,2", "agent1,username,update,tier,Tier1,2"))
    rejected = world.job.plan(ref, JOB_ID).rejected
    assert rejected is not None
    assert rejected.startswith("The file has 2 data rows; the limit is 1.")


def test_warnings_about_the_file_reach_the_summary() -> None:
    world = World()
    ref = world.drop(csv_file("agent0,username,update,tier,Tier1,2,x", header=HEADER + ",notes"))
    world.run(ref)
    [(_, body)] = world.notifier.messages
    assert "\nWarning: Ignored unknown column: 'notes'." in body


# --- checkpoints ------------------------------------------------------------------------------------


def test_the_plan_and_batch_checkpoints_survive_json() -> None:
    denial = Denial("connect:ListUsers", "arn:aws:connect:us-east-1:1:instance/i", "refused")
    state = JobState(
        prefix="reports/x/20251125T120000Z-abcd1234/",
        started=1.5,
        dry_run=True,
        file="x.csv",
        rows=3,
        users=2,
        batches=1,
        denied=denial,
    )
    assert JobState.from_dict(json.loads(json.dumps(state.as_dict()))) == state
    assert state.state == "reports/x/20251125T120000Z-abcd1234/_job/"
    assert state.stopped
    assert not replace(state, denied=None).stopped
    assert replace(state, denied=None, rejected="bad").stopped
    done = BatchDone(2, 5, {"succeeded": 4, "failed": 1}, 3, denial)
    assert BatchDone.from_dict(json.loads(json.dumps(done.as_dict()))) == done
    assert BatchDone.from_dict(json.loads(json.dumps(replace(done, denied=None).as_dict()))).denied is None


# --- a refused permission ---------------------------------------------------------------------------


class RefusingStore(FakeStore):
    """A bucket the job may read but not write explanations to."""

    def put_bytes(self, key: str, content: bytes, content_type: str = "text/csv; charset=utf-8") -> None:
        if key.endswith("rejection.txt"):
            raise PermissionDenied("s3:PutObject", f"arn:aws:s3:::{self.bucket}/{key}", "denied")
        super().put_bytes(key, content, content_type)


@pytest.mark.parametrize("store_refuses", [False, True])
def test_a_permission_refused_while_planning_ends_the_job_with_one_email_saying_which(
    store_refuses: bool,
) -> None:
    world = World()
    if store_refuses:
        world.store = RefusingStore()
        world.job.store = world.store
    denied = permission_denied("SearchUsers", world.connect.instance_id)
    world.connect.inject("SearchUsers", denied)
    info = world.job.plan(world.drop(csv_file("agent0,username,update,tier,Tier1,2")), JOB_ID)
    # Then the job stopped, denied rather than rejected, naming the action and resource AWS refused
    assert info.stopped
    assert info.rejected is None
    assert info.denied == Denial(denied.action, denied.resource, denied.message)
    assert info.denied.action == "connect:SearchUsers"
    # And one email says so and how to fix it; nothing was planned or written to Connect
    [(subject, body)] = world.notifier.messages
    assert subject == "Connect profiles: changes.csv: stopped, permission denied"
    assert "Nothing in it was applied." in body
    assert f"AWS refused connect:SearchUsers on {denied.resource}." in body
    assert world.connect.writes == []
    assert world.store.list_keys(info.state) == []
    # The explanation is beside the reports too, where the bucket allows it
    if store_refuses:
        assert world.store.list_keys(info.prefix) == []
    else:
        assert world.file(info, "rejection.txt").decode() == f"{body}\n"


def test_a_permission_refused_in_a_batch_stops_the_job_and_the_summary_says_what_was_done() -> None:
    # Given three users, one per batch, and IAM refusing the second user's Associate
    world = World(users_per_batch=1)
    denied = permission_denied(ASSOCIATE, world.connect.instance_id)
    world.connect.inject(ASSOCIATE, denied, nth=2)
    ref = world.drop(csv_file(*[f"agent{n},username,add,region,EMEA,2" for n in range(3)]))
    info = world.job.plan(ref, JOB_ID)
    first = world.job.run_batch(info, 0, last_attempt=False)
    second = world.job.run_batch(info, 1, last_attempt=False)
    assert first.denied is None
    assert second.denied == Denial(denied.action, denied.resource, denied.message)
    # When the job finishes without running the third batch (the handler stops at a denial)
    finished = world.job.finish(info, [first, second])
    assert finished["denied"] is True
    assert finished["counts"] == {"succeeded": 1, "failed": 2}
    # Then the report says what happened to each row
    report = report_rows(world.file(info, "report.csv"))
    assert [r[8] for r in report] == ["succeeded", "failed", "failed"]
    assert (
        world.file(info, "report.csv")
        .decode("utf-8-sig")
        .splitlines()[3]
        .endswith(f"not applied: the job stopped because {denied.action} on {denied.resource} was denied")
    )
    # And the rollback undoes what was done, the retry holds the rest
    rollback = [row.cells() for row in read_csv(world.file(info, "rollback.csv")).rows]
    assert rollback == [("u-0", "user_id", "remove", "region", "EMEA", "")]
    assert [row.line for row in read_csv(world.file(info, "retry.csv")).rows] == [2, 3]
    # And the one email leads with the denial, then the usual summary
    [(subject, body)] = world.notifier.messages
    assert subject == "Connect profiles: changes.csv: stopped, permission denied"
    assert body.startswith(
        f"The job for changes.csv on Amazon Connect instance {world.connect.instance_id} stopped"
    )
    assert "Changes made before it stopped are in the report below" in body
    assert "\n\nApplied changes.csv to Amazon Connect instance" in body


# --- Connect busy: the step is retried; on the last attempt the rows fail ---------------------------


def test_a_busy_connect_fails_the_batch_step_to_be_retried_and_the_retry_sends_only_what_is_left() -> None:
    world = World()
    world.connect.inject(ASSOCIATE, nth=2)  # agent1's Associate: a 500 after botocore's retries
    ref = world.drop(csv_file(*[f"agent{n},username,add,region,EMEA,2" for n in range(3)]))
    info = world.job.plan(ref, JOB_ID)
    with pytest.raises(ConnectBusy):
        world.job.run_batch(info, 0, last_attempt=False)
    done = world.job.run_batch(info, 0, last_attempt=False)
    assert done.counts == {"succeeded": 3}
    world.job.finish(info, [done])
    assert [r[8] for r in report_rows(world.file(info, "report.csv"))] == ["succeeded"] * 3
    applied = [w.user_id for w in world.connect.writes if w.applied]
    assert sorted(applied) == ["u-0", "u-1", "u-2"]  # each once


def test_on_the_last_attempt_a_busy_connect_fails_the_rows_into_retry_csv() -> None:
    world = World()
    world.connect.inject(ASSOCIATE, nth=1)
    info = world.job.plan(world.drop(csv_file("agent0,username,add,region,EMEA,2")), JOB_ID)
    done = world.job.run_batch(info, 0, last_attempt=True)
    assert done.counts == {"failed": 1}
    world.job.finish(info, [done])
    retry = world.file(info, "retry.csv").decode("utf-8-sig").splitlines()
    assert retry[1:] == [
        "agent0,username,add,region,EMEA,2,"
        "AssociateUserProficiencies failed: InternalServiceException: injected fault"
    ]


def test_the_summary_says_how_long_the_job_waited_for_the_instance() -> None:
    world = World()
    info = world.job.plan(world.drop(csv_file("agent0,username,update,tier,Tier1,2")), JOB_ID)
    done = world.job.run_batch(info, 0, last_attempt=False)
    world.job.finish(info, [done], waited=42.0)
    [(_, body)] = world.notifier.messages
    assert "It waited 42.0 s for another job on this instance to finish first." in body


# --- desired-state files in the bucket (DESIGN.md 2, 3) ---------------------------------------------


def test_the_backup_dropped_into_sync_puts_the_users_back_exactly() -> None:
    world = World()
    before = {uid: world.connect.held(uid) for uid in world.connect.users}
    info, _ = world.run(
        world.drop(csv_file("agent0,username,add,region,EMEA,2", "agent1,username,remove,tier,Tier1,"))
    )
    assert world.connect.held("u-0") != before["u-0"]
    key = "sync/restore.csv"
    assert is_job_key(key)
    restored, _ = world.run(world.drop(world.file(info, "backup.csv"), key=key))
    assert {uid: world.connect.held(uid) for uid in world.connect.users} == before
    assert restored.prefix.startswith("reports/")


def test_a_semicolon_file_gets_semicolon_reports_across_batches_that_read_back_to_the_same_values() -> None:
    # Given a file saved by Excel where ';' is the list separator (decimal comma levels), run in
    # batches, so the delimiter has to survive the plan's checkpoint
    world = World(users_per_batch=1)
    rows = ["agent0;username;update;tier;Tier1;4,0", "agent1;username;add;tier;Tier3;2", "agent2;x;y;z;;"]
    header = ";".join(HEADER.split(","))
    info, _ = world.run(world.drop(f"\ufeff{header}\r\n{chr(10).join(rows)}\r\n".encode()))
    assert info.batches == 2
    for name in ("report.csv", "rollback.csv", "retry.csv", "backup.csv", "changes.csv"):
        content = world.file(info, name)
        # Then each file has a BOM and is delimited by ';' (a header of several columns, no comma)
        assert content.startswith(b"\xef\xbb\xbf"), name
        header = content.decode("utf-8-sig").splitlines()[0]
        assert len(header.split(";")) >= 7, (name, header)
        assert "," not in header, (name, header)
    # And they read back to what a comma file would have given
    rollback = [row.cells() for row in read_csv(world.file(info, "rollback.csv")).rows]
    assert sorted(rollback) == [
        ("u-0", "user_id", "update", "tier", "Tier1", "1"),
        ("u-1", "user_id", "remove", "tier", "Tier3", ""),
    ]
    report = read_csv(world.file(info, "report.csv"))
    assert [row.level for row in report.rows] == ["4,0", "2", ""]  # the row's cells, as they were read
    assert world.connect.held("u-0") == {("tier", "Tier1"): 4}


def test_the_email_links_the_s3_console_pages_of_report_html_and_report_csv() -> None:
    world = World()
    info, _ = world.run(world.drop(csv_file("agent0,username,update,tier,Tier1,4")))
    [(_, body)] = world.notifier.messages
    bucket, region = world.store.bucket, world.store.region
    for name in ("report.html", "report.csv"):
        link = (
            f"https://console.aws.amazon.com/s3/object/{bucket}?region={region}&bucketType=general"
            f"&prefix={info.prefix}{name}"
        )
        assert f"  {name}: {link}" in body.splitlines()
    assert "Open in the S3 console:" in body
