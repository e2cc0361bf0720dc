"""The Lambda job end to end: moto server for S3/SNS/SQS/DynamoDB, the Connect emulator, and the
durable testing runner playing the Lambda service."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from connect_emulator import (
    SAMPLE_SEED,
    AllowActions,
    Behaviour,
    Faults,
    OnAssociateExisting,
    OnDisassociateMissing,
    Outage,
    Quota,
    load_seed,
)
from connect_emulator.server import ConnectEmulator
from connect_profiles.adapters.s3 import S3Store
from connect_profiles.contract import JOB_ACTIONS, SNAPSHOT_EVENT
from connect_profiles.entrypoints import handler
from connect_profiles.entrypoints.durable import STEP_ATTEMPTS
from local_stand_ins import (
    BUCKET,
    TABLE,
    Invocation,
    LocalAws,
    invoke,
    invoke_together,
    start_connect,
)
from tests.conftest import UNTHROTTLED
from tests.iam_policy import IamEnforcement, iam_enforced, job_role  # noqa: F401  (fixtures)
from tests.lambda_environment import forget_settings

EVENTS = Path(__file__).parents[1] / "fixtures" / "events"


@pytest.fixture(autouse=True)
def _iam(iam_enforced: IamEnforcement) -> IamEnforcement:  # noqa: F811  (the imported fixture)
    """Every test here runs under the synthesised job role's policy: a refused call fails it."""
    return iam_enforced


HEADER = "identifier,identifier_type,action,attribute,value,level\n"


@pytest.fixture
def connect(local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectEmulator]:
    """A fresh sample instance, and the function's environment pointing at everything."""
    emulator = start_connect(load_seed(SAMPLE_SEED), quota=UNTHROTTLED)
    _point_function_at(emulator, local_aws, monkeypatch)
    yield emulator
    emulator.stop()
    forget_settings()


def _run(event: dict[str, Any]) -> Invocation:
    return invoke(handler.lambda_handler, event)


def _report(local_aws: LocalAws, prefix: str, name: str = "report.csv") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(local_aws.read(f"{prefix}{name}").decode("utf-8-sig"))))


def _user(connect: ConnectEmulator, username: str) -> Any:
    instance = next(iter(connect.service.instances.values()))
    return next(user for user in instance.users.values() if user.username == username)


def _sample_file(rows: list[str]) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


_TYPED = {
    "report.html": "text/html; charset=utf-8",
    "report.csv": "text/csv; charset=utf-8",
    "changes.csv": "text/csv; charset=utf-8",
    "job.json": "application/json",
}


def test_a_dropped_file_is_applied_reported_and_summarised(
    local_aws: LocalAws, connect: ConnectEmulator
) -> None:
    # Given jdoe holds English at 2, and a file with a space and a plus in its name
    jdoe = _user(connect, "jdoe")
    jdoe.proficiencies = {("language", "English"): 2.0, ("tier", "Tier1"): 1.0}
    content = _sample_file(
        [
            "jdoe,username,add,language,French,4",
            "jdoe,username,update,language,English,5",
            "jdoe,username,remove,tier,Tier1,",
            "jdoe,username,add,language,French,4",
            "jdoe,username,add,tier,Tier2,0",
            "ghost,username,add,tier,Tier2,1",
        ]
    )
    event = local_aws.upload("incoming/team a+b/changes.csv", content)
    # When S3's event reaches the function
    outcome = _run(event)
    # Then the job succeeded and Connect holds the new state
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result is not None
    [record] = outcome.result["records"]
    assert record["status"] == "done"
    assert jdoe.proficiencies == {("language", "English"): 5.0, ("language", "French"): 4.0}
    # And the four files are under reports/<name>/<UTC time>-<short id>/
    prefix = record["prefix"]
    assert prefix.startswith("reports/team a+b/changes/")
    assert {key[len(prefix) :] for key in local_aws.keys(prefix) if "/_job/" not in key} == {
        "report.csv",
        "report.html",
        "rollback.csv",
        "retry.csv",
        "backup.csv",
        "changes.csv",
        "job.json",
    }
    report = _report(local_aws, prefix)
    assert [row["status"] for row in report] == [
        "succeeded",
        "succeeded",
        "succeeded",
        "skipped",
        "failed",
        "failed",
    ]
    assert [row["identifier"] for row in _report(local_aws, prefix, "retry.csv")] == ["jdoe", "ghost"]
    # And S3 serves the page as HTML, so the console opens it, and the CSV files as CSV
    s3 = local_aws.client("s3")
    types = {name: s3.head_object(Bucket=BUCKET, Key=f"{prefix}{name}")["ContentType"] for name in _TYPED}
    assert types == _TYPED
    page = local_aws.read(f"{prefix}report.html").decode("utf-8")
    assert "<h1>Connect profiles: changes.csv</h1>" in page
    assert next(iter(connect.service.instances)) in page
    # And one summary email says what happened and where the files are
    [summary] = local_aws.summaries()
    assert summary["subject"] == "Connect profiles: changes.csv: 3 succeeded, 1 skipped, 2 failed"
    assert f"s3://connect-profiles-local/{prefix}" in summary["body"]
    console = (
        "https://console.aws.amazon.com/s3/object/connect-profiles-local?region=us-east-1&bucketType=general"
    )
    assert f"  report.csv: {console}&prefix={quote(prefix)}report.csv" in summary["body"].splitlines()
    assert "line 6: jdoe add tier=Tier2: level must be a whole number from 1 to 5" in summary["body"]
    assert next(iter(connect.service.instances)) in summary["body"]


def test_a_dry_run_plans_and_changes_nothing(local_aws: LocalAws, connect: ConnectEmulator) -> None:
    event = local_aws.upload("dry-run/plan.csv", _sample_file(["jdoe,username,add,product,TV,3"]))
    outcome = _run(event)
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result is not None
    [record] = outcome.result["records"]
    assert [row["status"] for row in _report(local_aws, record["prefix"])] == ["planned"]
    assert connect.service.stats().writes == []
    [summary] = local_aws.summaries()
    assert summary["subject"].startswith("DRY RUN ")
    assert "Nothing was changed" in summary["body"]


def test_a_duplicate_delivery_runs_no_second_job_and_sends_no_second_email(
    local_aws: LocalAws, connect: ConnectEmulator
) -> None:
    event = local_aws.upload("incoming/once.csv", _sample_file(["jdoe,username,add,product,Billing,2"]))
    first, second = _run(event), _run(event)
    assert first.status == second.status == "SUCCEEDED"
    assert second.result == {"records": [{"key": "incoming/once.csv", "status": "duplicate"}]}
    assert len(connect.service.stats().writes) == 1
    assert len(local_aws.summaries()) == 1
    assert connect.service.stats().calls["ListUserProficiencies"] == 1


def test_a_large_file_runs_across_several_invocations(
    local_aws: LocalAws, connect: ConnectEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given batches of 5 users and an invocation told it always has too little time left
    monkeypatch.setenv("USERS_PER_BATCH", "5")
    monkeypatch.setenv("YIELD_BELOW_SECONDS", "100000")
    forget_settings()
    instance = next(iter(connect.service.instances.values()))
    usernames = sorted(user.username for user in instance.users.values())[:23]
    event = local_aws.upload(
        "incoming/large.csv", _sample_file([f"{name},username,add,product,Insurance,1" for name in usernames])
    )
    outcome = _run(event)
    # Then five batches ran in five invocations, and every row got through exactly once
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.invocations == 5
    assert outcome.result is not None
    [record] = outcome.result["records"]
    report = _report(local_aws, record["prefix"])
    assert len(report) == 23
    assert {row["status"] for row in report} <= {"succeeded", "skipped"}
    assert connect.service.stats().calls["ListUserProficiencies"] == 23


def test_a_crash_mid_job_resumes_without_sending_any_write_twice(
    local_aws: LocalAws, connect: ConnectEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given batches of 4 users, each needing an Associate, an Update and a Disassociate
    monkeypatch.setenv("USERS_PER_BATCH", "4")
    forget_settings()
    instance = next(iter(connect.service.instances.values()))
    users = sorted(instance.users.values(), key=lambda user: user.username)[:10]
    rows = []
    for user in users:
        user.proficiencies = {("tier", "Tier1"): 1.0, ("region", "NA"): 1.0}
        rows += [
            f"{user.username},username,add,product,TV,2",
            f"{user.username},username,update,tier,Tier1,3",
            f"{user.username},username,remove,region,NA,",
        ]
    original = {user.id: dict(user.proficiencies) for user in users}
    # And the function dies after batch 1 has sent its writes, before its results are saved
    put_json = S3Store.put_json
    crashes: list[str] = []

    def crash_once(store: S3Store, key: str, document: Any) -> None:
        if key.endswith("/batch-1.json") and not crashes:
            crashes.append(key)
            raise ConnectionError("Lambda runtime died")
        put_json(store, key, document)

    monkeypatch.setattr(S3Store, "put_json", crash_once)
    event = local_aws.upload("incoming/crash.csv", _sample_file(rows))
    # When S3's event reaches the function
    outcome = _run(event)
    # Then the execution resumed in a later invocation and finished
    assert outcome.status == "SUCCEEDED", outcome.error
    assert crashes
    assert outcome.invocations >= 2
    # And the emulator saw every write exactly once
    writes = Counter((w.operation, w.user_id, w.proficiencies) for w in connect.service.stats().writes)
    assert len(writes) == 30
    assert set(writes.values()) == {1}
    # And the report and rollback describe the first attempt's writes as this job's own
    assert outcome.result is not None
    [record] = outcome.result["records"]
    assert {row["status"] for row in _report(local_aws, record["prefix"])} == {"succeeded"}
    assert len(_report(local_aws, record["prefix"], "rollback.csv")) == 30
    for user in users:
        assert user.proficiencies == {("tier", "Tier1"): 3.0, ("product", "TV"): 2.0}
    # And dropping the rollback file restores the original state
    rollback = local_aws.read(f"{record['prefix']}rollback.csv")
    monkeypatch.setattr(S3Store, "put_json", put_json)
    assert _run(local_aws.upload("incoming/undo.csv", rollback)).status == "SUCCEEDED"
    assert {user.id: dict(user.proficiencies) for user in users} == original


def test_a_rejected_file_is_reported_and_emailed_not_retried(
    local_aws: LocalAws, connect: ConnectEmulator
) -> None:
    event = local_aws.upload("incoming/broken.csv", b"identifier,action\njdoe,add\n")
    outcome = _run(event)
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.invocations == 1
    assert outcome.result is not None
    [record] = outcome.result["records"]
    assert record["status"] == "rejected"
    reason = local_aws.read(f"{record['prefix']}rejection.txt").decode()
    assert "identifier_type" in reason
    assert _report(local_aws, record["prefix"]) == []
    [summary] = local_aws.summaries()
    assert summary["subject"] == "Connect profiles: broken.csv: rejected, nothing applied"
    assert "identifier_type" in summary["body"]
    assert sum(connect.service.stats().calls.values()) == 0


def test_the_summary_subject_fits_sns_whatever_the_file_name(
    local_aws: LocalAws, connect: ConnectEmulator
) -> None:
    long_name = "quarterly-skills-review-" + "x" * 120 + ".csv"
    event = local_aws.upload(f"dry-run/{long_name}", _sample_file(["jdoe,username,add,product,TV,3"]))
    assert _run(event).status == "SUCCEEDED"
    [summary] = local_aws.summaries()
    assert len(summary["subject"]) <= 100
    assert summary["subject"].startswith("DRY RUN Connect profiles: quarterly-skills-review-")
    assert summary["subject"].endswith(": 1 planned, 0 failed")


def test_keys_outside_the_trigger_prefixes_are_ignored(local_aws: LocalAws, connect: ConnectEmulator) -> None:
    event = local_aws.upload("reports/somewhere/report.csv", _sample_file(["jdoe,username,add,product,TV,3"]))
    outcome = _run(event)
    assert outcome.status == "SUCCEEDED"
    assert outcome.result == {"records": []}
    assert local_aws.summaries() == []


def test_the_documented_event_shape_with_an_encoded_key(
    local_aws: LocalAws, connect: ConnectEmulator
) -> None:
    # Given the S3 event from the AWS documentation (kept as a fixture), for an object whose key has
    # spaces, a plus and an ampersand, pointed at the object version just uploaded
    key = "incoming/Team A/agents & skills + tiers.csv"
    uploaded = local_aws.upload(key, _sample_file(["jdoe,username,add,product,Mobile,2"]))["Records"][0]["s3"]
    event = json.loads((EVENTS / "s3-object-created-put.json").read_text())
    record = event["Records"][0]["s3"]
    assert record["object"]["key"] == "incoming/Team+A/agents+%26+skills+%2B+tiers.csv"
    record["bucket"]["name"] = BUCKET
    record["object"].update(versionId=uploaded["object"]["versionId"], eTag=uploaded["object"]["eTag"])
    # When it reaches the function
    outcome = _run(event)
    # Then that exact object version was read and applied
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result is not None
    assert outcome.result["records"][0]["prefix"].startswith("reports/Team A/agents & skills + tiers/")
    assert _user(connect, "jdoe").proficiencies[("product", "Mobile")] == 2.0


# --- every change reported is a change that holds ------------------------------------------------


def _proficiency_changes(users: list[Any]) -> list[str]:
    """Each user gets an Associate, an Update and a Disassociate."""
    rows = []
    for user in users:
        user.proficiencies = {("tier", "Tier1"): 1.0, ("region", "NA"): 1.0}
        rows += [
            f"{user.username},username,add,product,TV,2",
            f"{user.username},username,update,tier,Tier1,3",
            f"{user.username},username,remove,region,NA,",
        ]
    return rows


def test_an_outage_of_one_api_retries_the_batch_and_applies_each_change_once(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Connect answers its first AssociateUserProficiencies calls with 500, and botocore gives
    # up on the first failure (so only the durable step retry can get the rows through). Each
    # attempt but the last meets at least one of them, however many calls the machine's speed lets
    # into flight before the batch stops: so many calls are sure to be over by the last attempt.
    emulator = start_connect(
        load_seed(SAMPLE_SEED),
        quota=UNTHROTTLED,
        outages=[Outage("AssociateUserProficiencies", first_calls=STEP_ATTEMPTS - 1)],
    )
    try:
        _point_function_at(emulator, local_aws, monkeypatch)
        monkeypatch.setenv("CONNECT_MAX_ATTEMPTS", "1")
        forget_settings()
        instance = next(iter(emulator.service.instances.values()))
        users = sorted(instance.users.values(), key=lambda user: user.username)[:12]
        event = local_aws.upload("incoming/outage.csv", _sample_file(_proficiency_changes(users)))
        # When the file is dropped
        outcome = _run(event)
        # Then every row succeeded, Connect holds the new state, and no change was applied twice
        assert outcome.status == "SUCCEEDED", outcome.error
        assert outcome.result is not None
        [record] = outcome.result["records"]
        assert {row["status"] for row in _report(local_aws, record["prefix"])} == {"succeeded"}
        assert emulator.service.stats().faults or any(
            entry.outcome == "outage" for entry in emulator.service.request_log()
        )
        applied = Counter(
            (entry.operation, entry.user_id, entry.proficiencies)
            for entry in emulator.service.request_log()
            if entry.applied and entry.proficiencies is not None
        )
        assert len(applied) == 36
        assert set(applied.values()) == {1}
        for user in users:
            assert user.proficiencies == {("tier", "Tier1"): 3.0, ("product", "TV"): 2.0}
    finally:
        emulator.stop()


@pytest.mark.parametrize("associate_existing", ["reject", "overwrite"])
@pytest.mark.parametrize("disassociate_missing", ["reject", "ignore"])
def test_lost_responses_are_settled_by_what_connect_holds(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch, associate_existing: str, disassociate_missing: str
) -> None:
    # Given a third of the writes are applied and then answered 500 (the response is lost), under
    # each reading of what Connect does with a retried Associate or Disassociate
    behaviour = Behaviour(
        on_associate_existing=OnAssociateExisting(associate_existing),
        on_disassociate_missing=OnDisassociateMissing(disassociate_missing),
    )
    lost = Faults(rate=0.34, seed=7, when="after", operations=WRITES)
    emulator = start_connect(load_seed(SAMPLE_SEED, behaviour=behaviour), quota=UNTHROTTLED, faults=lost)
    try:
        _point_function_at(emulator, local_aws, monkeypatch)
        instance = next(iter(emulator.service.instances.values()))
        users = sorted(instance.users.values(), key=lambda user: user.username)[:8]
        rows = _proficiency_changes(users)
        seed = {user.id: dict(user.proficiencies) for user in users}
        # When the file is dropped
        outcome = _run(local_aws.upload("incoming/lossy.csv", _sample_file(rows)))
        # Then responses were lost, yet every row succeeded and Connect holds exactly the new state
        assert outcome.status == "SUCCEEDED", outcome.error
        assert any(entry.outcome == "lost" for entry in emulator.service.request_log())
        assert outcome.result is not None
        [record] = outcome.result["records"]
        assert {row["status"] for row in _report(local_aws, record["prefix"])} == {"succeeded"}
        for user in users:
            assert user.proficiencies == {("tier", "Tier1"): 3.0, ("product", "TV"): 2.0}
        # And the rollback holds every change, and restores the seed when dropped back in
        assert len(_report(local_aws, record["prefix"], "rollback.csv")) == 24
        emulator.service.configure(faults=[])
        rollback = local_aws.read(f"{record['prefix']}rollback.csv")
        assert _run(local_aws.upload("incoming/lossy-undo.csv", rollback)).status == "SUCCEEDED"
        assert {user.id: dict(user.proficiencies) for user in users} == seed
    finally:
        emulator.stop()


def test_two_uploads_never_interleave_their_connect_calls(
    local_aws: LocalAws, connect: ConnectEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two files for different users, each job spanning several invocations (batches of 2,
    # yielding after each), and moto answering one request at a time (its conditional writes are
    # not atomic otherwise, unlike DynamoDB's)
    local_aws.serialise_requests()
    monkeypatch.setenv("USERS_PER_BATCH", "2")
    monkeypatch.setenv("YIELD_BELOW_SECONDS", "100000")
    forget_settings()
    instance = next(iter(connect.service.instances.values()))
    users = sorted(instance.users.values(), key=lambda user: user.username)[:12]
    first, second = users[:6], users[6:]
    events = [
        local_aws.upload(f"incoming/{name}.csv", _sample_file(_proficiency_changes(group)))
        for name, group in (("first", first), ("second", second))
    ]
    # When both are uploaded at once
    outcomes = invoke_together(handler.lambda_handler, events)
    # Then both jobs finished, each over several invocations
    assert [o.status for o in outcomes] == ["SUCCEEDED", "SUCCEEDED"], [o.error for o in outcomes]
    assert min(o.invocations for o in outcomes) >= 3
    # And Connect saw all of one job's calls, then all of the other's
    owner = {user.id: 0 for user in first} | {user.id: 1 for user in second}
    sequence = [owner[e.user_id] for e in connect.service.request_log() if e.user_id in owner]
    assert len(sequence) == 12 * 4  # a read and three writes per user
    assert sequence == sorted(sequence) or sequence == sorted(sequence, reverse=True)
    # And the one that waited says so
    summaries = local_aws.summaries()
    assert len(summaries) == 2
    assert sum("for another job on this instance to finish first" in s["body"] for s in summaries) == 1


def test_a_role_without_a_connect_permission_ends_with_one_email_naming_it(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Connect refuses ListUserProficiencies to the job's role
    allowed = {
        "connect:SearchUsers",
        "connect:ListUsers",
        "connect:DescribePredefinedAttribute",
        *(f"connect:{operation}" for operation in WRITES),
    }
    emulator = start_connect(load_seed(SAMPLE_SEED), quota=UNTHROTTLED, authorizer=AllowActions(allowed))
    try:
        _point_function_at(emulator, local_aws, monkeypatch)
        event = local_aws.upload("incoming/denied.csv", _sample_file(["jdoe,username,add,product,TV,3"]))
        # When a file is dropped
        outcome = _run(event)
        # Then the job ended at once, without retrying, and one email names the action and resource
        assert outcome.status == "SUCCEEDED", outcome.error
        refused = [e for e in emulator.service.request_log() if e.status == 403]
        assert len(refused) == 1
        [summary] = local_aws.summaries()
        assert summary["subject"] == "Connect profiles: denied.csv: stopped, permission denied"
        jdoe = _user(emulator, "jdoe")
        assert (
            f"connect:ListUserProficiencies on {_instance_arn(emulator)}/agent/{jdoe.id}" in summary["body"]
        )
        assert "make deploy" in summary["body"]
        assert emulator.service.stats().writes == []
    finally:
        emulator.stop()


def test_the_job_cannot_read_the_upload_ends_with_one_email(
    local_aws: LocalAws, connect: ConnectEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given S3 refuses the job's GetObject of the upload, as it answers a role without the grant
    make_api_call = BaseClient._make_api_call

    def refuse(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "GetObject" and params["Key"].startswith("incoming/unreadable"):
            message = (
                "User: arn:aws:sts::123456789012:assumed-role/job/x is not authorized to perform: "
                f's3:GetObjectVersion on resource: "arn:aws:s3:::{BUCKET}/{params["Key"]}" because no '
                "identity-based policy allows the s3:GetObjectVersion action"
            )
            error = {
                "Error": {"Code": "AccessDenied", "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            }
            raise ClientError(error, operation)
        return make_api_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", refuse)
    outcome = _run(
        local_aws.upload("incoming/unreadable.csv", _sample_file(["jdoe,username,add,product,TV,3"]))
    )
    assert outcome.status == "SUCCEEDED", outcome.error
    [summary] = local_aws.summaries()
    assert "stopped, permission denied" in summary["subject"]
    assert f"s3:GetObjectVersion on arn:aws:s3:::{BUCKET}/incoming/unreadable.csv" in summary["body"]
    assert sum(connect.service.stats().calls.values()) == 0


WRITES = frozenset({"AssociateUserProficiencies", "UpdateUserProficiencies", "DisassociateUserProficiencies"})


def _instance_arn(emulator: ConnectEmulator) -> str:
    return next(iter(emulator.service.instances.values())).arn


def _point_function_at(
    emulator: ConnectEmulator, local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function's environment pointing at this emulator and the local stand-ins."""
    instance = next(iter(emulator.service.instances.values()))
    monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS", emulator.endpoint_url)
    monkeypatch.setenv("CONNECT_INSTANCE_ID", instance.id)
    monkeypatch.setenv("SUMMARY_TOPIC_ARN", local_aws.topic_arn)
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", TABLE)
    monkeypatch.setenv("JOB_BUCKET_NAME", BUCKET)
    # These tests are about behaviour, not pacing: far above Connect's 2/s.
    monkeypatch.setenv("CONNECT_RATE", "1000")
    monkeypatch.setenv("CONNECT_BURST", "100")
    forget_settings()
    local_aws.summaries()  # drain what earlier tests published


def test_the_job_reads_the_accounts_quotas_and_the_summary_gives_each_apis_rate(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account whose read APIs are at 10/s, the rest at 2/s, and no rate in the settings
    quotas = {"ListUserProficiencies": Quota(10.0, 10), "ListUsers": Quota(10.0, 10)}
    emulator = start_connect(load_seed(SAMPLE_SEED), quota=Quota(2.0, 5), quotas=quotas)
    try:
        _point_function_at(emulator, local_aws, monkeypatch)
        monkeypatch.delenv("CONNECT_RATE")
        monkeypatch.delenv("CONNECT_BURST")
        forget_settings()
        event = local_aws.upload("incoming/paced.csv", _sample_file(["jdoe,username,add,product,TV,3"]))
        # When a file is dropped
        outcome = _run(event)
        # Then Service Quotas was read and each API paced at 90% of its own quota, as the email says
        assert outcome.status == "SUCCEEDED", outcome.error
        assert emulator.service.service_quotas.requests > 0
        [summary] = local_aws.summaries()
        assert "Pacing per Connect API (at 90% of each quota read from Service Quotas):" in summary["body"]
        assert "  ListUserProficiencies: 9/s, burst 10 (quota 10/s)" in summary["body"]
        assert "  AssociateUserProficiencies: 1.8/s, burst 5 (quota 2/s)" in summary["body"]
        assert "Warning" not in summary["body"]
    finally:
        emulator.stop()
        forget_settings()


def test_a_role_without_the_quota_read_warns_in_the_summary_and_applies_at_the_defaults(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a role that may call Connect but not servicequotas:ListServiceQuotas
    allowed = {action for grant in JOB_ACTIONS for action in grant.actions if action.startswith("connect:")}
    emulator = start_connect(load_seed(SAMPLE_SEED), quota=UNTHROTTLED, authorizer=AllowActions(allowed))
    try:
        _point_function_at(emulator, local_aws, monkeypatch)
        monkeypatch.delenv("CONNECT_RATE")
        monkeypatch.delenv("CONNECT_BURST")
        monkeypatch.setenv("CONNECT_API_RATES", "DescribePredefinedAttribute=50:10")
        forget_settings()
        event = local_aws.upload("incoming/refused.csv", _sample_file(["jdoe,username,add,product,TV,3"]))
        outcome = _run(event)
        # Then the job ran, at Connect's documented default, and the email says why
        assert outcome.status == "SUCCEEDED", outcome.error
        assert _user(emulator, "jdoe").proficiencies[("product", "TV")] == 3.0
        [summary] = local_aws.summaries()
        assert "Warning: could not read the account's Connect quotas from Service Quotas" in summary["body"]
        assert "servicequotas:ListServiceQuotas" in summary["body"]
        assert "  AssociateUserProficiencies: 1.8/s, burst 5 (documented default)" in summary["body"]
        assert "  DescribePredefinedAttribute: 50/s, burst 10 (--api-rate)" in summary["body"]
    finally:
        emulator.stop()
        forget_settings()


# --- desired state: sync files, backup, changes.csv, job.json --------------------------------------


def test_a_sync_file_sets_each_named_users_whole_set_and_backup_restores_it(
    local_aws: LocalAws, connect: ConnectEmulator
) -> None:
    # Given jdoe holds three pairs and msmith two, and a sync file naming jdoe (twice) and msmith
    jdoe, other = _user(connect, "jdoe"), _user(connect, "Maria.Garcia")
    jdoe.proficiencies = {("language", "English"): 2.0, ("tier", "Tier1"): 1.0, ("region", "NA"): 3.0}
    other.proficiencies = {("skill", "Sales"): 4.0}
    before = {jdoe.id: dict(jdoe.proficiencies), other.id: dict(other.proficiencies)}
    content = _sample_file(
        [
            "jdoe,username,set,language,English,4",
            "jdoe,username,add,product,TV,2",
            f"{other.id},user_id,set,,,",
        ]
    )
    # When it is dropped into sync/
    outcome = _run(local_aws.upload("sync/team.csv", content))
    # Then each named user holds exactly the listed set, and nothing else changed
    assert outcome.status == "SUCCEEDED", outcome.error
    assert jdoe.proficiencies == {("language", "English"): 4.0, ("product", "TV"): 2.0}
    assert other.proficiencies == {}
    assert outcome.result is not None
    [record] = outcome.result["records"]
    prefix = record["prefix"]
    assert prefix.startswith("reports/team/")
    report = _report(local_aws, prefix)
    # And the implicit removals are reported after the data rows, with a blank line
    assert [(r["line"], r["action"], r["attribute"], r["status"], r["message"]) for r in report] == [
        ("2", "set", "language", "succeeded", "updated from level 2 to 4"),
        ("3", "add", "product", "succeeded", "added at level 2"),
        ("4", "set", "", "succeeded", "desired set is empty: 1 removed"),
        ("", "remove", "tier", "succeeded", "not in the desired state"),
        ("", "remove", "region", "succeeded", "not in the desired state"),
        ("", "remove", "skill", "succeeded", "not in the desired state"),
    ]
    # And changes.csv names each user and each change, before and after
    changes = _report(local_aws, prefix, "changes.csv")
    assert {(c["username"], c["attribute"], c["level_before"], c["level_after"]) for c in changes} == {
        ("jdoe", "language", "2", "4"),
        ("jdoe", "product", "", "2"),
        ("jdoe", "tier", "1", ""),
        ("jdoe", "region", "3", ""),
        ("Maria.Garcia", "skill", "4", ""),
    }
    # And job.json says who dropped what
    job = json.loads(local_aws.read(f"{prefix}job.json"))
    assert job["uploader"] == "AWS:AIDAEXAMPLE"
    assert job["object"]["key"] == "sync/team.csv"
    assert job["mode"] == "apply sync"
    # When backup.csv is dropped into sync/
    backup = local_aws.read(f"{prefix}backup.csv")
    assert _run(local_aws.upload("sync/team-restore.csv", backup)).status == "SUCCEEDED"
    # Then both users are exactly as they were
    assert {jdoe.id: dict(jdoe.proficiencies), other.id: dict(other.proficiencies)} == before


def test_a_sync_user_with_a_bad_row_is_left_untouched(local_aws: LocalAws, connect: ConnectEmulator) -> None:
    jdoe = _user(connect, "jdoe")
    jdoe.proficiencies = {("tier", "Tier1"): 1.0}
    content = _sample_file(["jdoe,username,set,language,English,4", "jdoe,username,remove,tier,Tier1,"])
    outcome = _run(local_aws.upload("sync/bad.csv", content))
    assert outcome.status == "SUCCEEDED", outcome.error
    assert jdoe.proficiencies == {("tier", "Tier1"): 1.0}
    assert outcome.result is not None
    report = _report(local_aws, outcome.result["records"][0]["prefix"])
    assert [(r["line"], r["status"]) for r in report] == [("2", "failed"), ("3", "failed")]
    assert report[0]["message"].startswith("not applied: line 3 of this user failed its checks")
    assert report[1]["message"] == "sync files list the desired proficiencies: use set"
    assert connect.service.stats().writes == []


def test_a_dry_run_sync_file_plans_the_removals(local_aws: LocalAws, connect: ConnectEmulator) -> None:
    jdoe = _user(connect, "jdoe")
    jdoe.proficiencies = {("tier", "Tier1"): 1.0}
    outcome = _run(
        local_aws.upload("dry-run/sync/plan.csv", _sample_file(["jdoe,username,set,tier,Tier2,2"]))
    )
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result is not None
    report = _report(local_aws, outcome.result["records"][0]["prefix"])
    assert [(r["action"], r["status"]) for r in report] == [("set", "planned"), ("remove", "planned")]
    assert jdoe.proficiencies == {("tier", "Tier1"): 1.0}
    [summary] = local_aws.summaries()
    assert summary["subject"].startswith("DRY RUN ")


def test_the_scheduled_snapshot_writes_everyone_as_a_sync_file(
    local_aws: LocalAws, connect: ConnectEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the sample instance, read in batches of 20 users
    monkeypatch.setenv("USERS_PER_BATCH", "20")
    forget_settings()
    instance = next(iter(connect.service.instances.values()))
    held = sum(len(user.proficiencies) for user in instance.users.values())
    empty = sum(1 for user in instance.users.values() if not user.proficiencies)
    # When the stack's schedule invokes the function
    outcome = _run(dict(SNAPSHOT_EVENT))
    # Then snapshots/<UTC date>.csv holds every user's proficiencies as set rows
    assert outcome.status == "SUCCEEDED", outcome.error
    [key] = local_aws.keys("snapshots/")
    assert key == f"snapshots/{datetime.now(UTC):%Y-%m-%d}.csv"
    rows = list(csv.DictReader(io.StringIO(local_aws.read(key).decode("utf-8-sig"))))
    assert len(rows) == held + empty
    assert {row["action"] for row in rows} == {"set"}
    assert {row["identifier"] for row in rows} == set(instance.users)
    assert connect.service.stats().calls["ListUserProficiencies"] == len(instance.users)
    [summary] = local_aws.summaries()
    assert summary["subject"].startswith(f"Connect profiles: snapshot {key}: {len(instance.users)} users")
    # And dropped into dry-run/sync/ it would change nothing
    plan = _run(local_aws.upload("dry-run/sync/snapshot.csv", local_aws.read(key)))
    assert plan.result is not None
    report = _report(local_aws, plan.result["records"][0]["prefix"])
    assert {row["status"] for row in report} == {"skipped"}


def test_group_rows_span_batches_and_report_one_row_each(
    local_aws: LocalAws, connect: ConnectEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given batches of 2 users, the sample's EMEA hierarchy (8 agents, UK's 5 beneath it), and a
    # security-profile row for the one Supervisor
    monkeypatch.setenv("USERS_PER_BATCH", "2")
    forget_settings()
    rows = [
        "qito,username,add,skill,Retention,1",
        "EMEA,hierarchy_group,add,skill,Retention,3",
        "Supervisor,security_profile,add,region,NA,2",
        "qito,username,remove,skill,Retention,",
    ]
    outcome = _run(local_aws.upload("incoming/teams.csv", _sample_file(rows)))
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result is not None
    [record] = outcome.result["records"]
    report = _report(local_aws, record["prefix"])
    # Then each group row has one report row with its members' counts, assembled over five batches
    assert [(r["line"], r["status"], r["message"]) for r in report] == [
        ("2", "succeeded", "added at level 1"),
        ("3", "succeeded", "8 users: 7 changed, 1 already so, 0 failed"),
        ("4", "succeeded", "1 users: 1 changed, 0 already so, 0 failed"),
        ("5", "succeeded", "removed (was level 1)"),
    ]
    assert "Retention" not in {v for (_, v) in _user(connect, "qito").proficiencies}
    assert _user(connect, "brossi").proficiencies[("skill", "Retention")] == 3.0
    changes = _report(local_aws, record["prefix"], "changes.csv")
    # (qito added and removed the same pair: no net change, no row)
    assert Counter(row["line"] for row in changes) == {"3": 7, "4": 1}
    # And the calls: one list per kind used, one SearchUsers per group (plus the size probe),
    # one read per member
    calls = connect.service.stats().calls
    assert (calls["ListUserHierarchyGroups"], calls["ListSecurityProfiles"]) == (1, 1)
    assert calls["ListRoutingProfiles"] == 0
    assert calls["SearchUsers"] == 1 + 1 + 2  # probe, qito, then one per group
    assert calls["ListUserProficiencies"] == 9
    [summary] = local_aws.summaries()
    assert "line 3: hierarchy_group EMEA add skill=Retention: 8 users: 7 changed" in summary["body"]


def test_a_dry_run_group_row_says_how_many_users_it_would_reach(
    local_aws: LocalAws, connect: ConnectEmulator
) -> None:
    event = local_aws.upload("dry-run/sales.csv", _sample_file(["Sales,routing_profile,add,tier,Tier2,2"]))
    outcome = _run(event)
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result is not None
    [record] = outcome.result["records"]
    [row] = _report(local_aws, record["prefix"])
    assert (row["status"], row["message"]) == ("planned", "5 users: 4 would change, 1 already so, 0 failed")
    assert connect.service.stats().writes == []
    [summary] = local_aws.summaries()
    assert "5 users: 4 would change, 1 already so, 0 failed" in summary["body"]


def test_the_stacks_group_limit_fails_a_row_before_any_write(
    local_aws: LocalAws, connect: ConnectEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_GROUP_USERS", "4")
    forget_settings()
    outcome = _run(
        local_aws.upload("incoming/too-many.csv", _sample_file(["Sales,routing_profile,add,tier,Tier2,2"]))
    )
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result is not None
    [record] = outcome.result["records"]
    [row] = _report(local_aws, record["prefix"])
    assert row["status"] == "failed"
    assert row["message"].startswith("routing profile 'Sales' reaches 5 users, over the limit of 4 users")
    assert connect.service.stats().writes == []
