"""The Lambda job under the synthesised job role's policy: every call it makes must be allowed, and
every grant the role holds must be needed by some call (least privilege, both ways).

The policy is read from the synthesised template (tests/iam_policy.py), not copied; Connect calls
are checked against the ARNs the Service Authorization Reference requires (instance, and user for
per-user actions), S3/SNS/KMS/DynamoDB calls against theirs, with condition keys such as s3:prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from connect_emulator import SAMPLE_SEED, ConnectEmulator, load_seed
from connect_profiles.contract import SNAPSHOT_EVENT
from connect_profiles.entrypoints import handler
from iam_enforcement.policy import action_matches_pattern, resource_matches_pattern
from local_stand_ins import BUCKET, TABLE, Invocation, LocalAws, invoke
from tests.conftest import UNTHROTTLED
from tests.iam_policy import (
    Grant,
    IamEnforcement,
    JobRole,
    LocalResources,
    grants,
    job_role,  # noqa: F401  (a fixture)
    synthesized_job_role,
    unused_grants,
)
from tests.lambda_environment import forget_settings

HEADER = "identifier,identifier_type,action,attribute,value,level\n"


@dataclass
class Run:
    """One scenario's job(s) under one enforcement."""

    enforcement: IamEnforcement
    connect: ConnectEmulator
    outcomes: list[Invocation]


def _file(rows: list[str]) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


def _without_version(event: dict[str, Any]) -> dict[str, Any]:
    """The event an unversioned bucket sends: no versionId, so the job reads with s3:GetObject."""
    event["Records"][0]["s3"]["object"].pop("versionId", None)
    return event


def _apply(aws: LocalAws, connect: ConnectEmulator) -> list[Invocation]:
    # A job that adds, updates and removes, naming users by username and by id, in two batches.
    instance = next(iter(connect.service.instances.values()))
    users = sorted(instance.users.values(), key=lambda user: user.username)
    jdoe = next(user for user in users if user.username == "jdoe")
    jdoe.proficiencies = {("language", "English"): 2.0, ("tier", "Tier1"): 1.0}
    other = next(user for user in users if user.username not in ("jdoe", "Maria.Garcia"))
    event = aws.upload(
        "incoming/iam/changes.csv",
        _file(
            [
                "jdoe,username,add,language,French,4",
                "jdoe,username,update,language,English,5",
                "jdoe,username,remove,tier,Tier1,",
                # Two usernames: one ListUsers page costs less than two SearchUsers calls.
                "Maria.Garcia,username,add,product,Mobile,3",
                f"{other.id},user_id,add,product,TV,2",
            ]
        ),
    )
    return [invoke(handler.lambda_handler, event)]


def _duplicate(aws: LocalAws, connect: ConnectEmulator) -> list[Invocation]:
    # The same object version delivered twice: the second finds it claimed and runs no job.
    event = aws.upload("incoming/iam/twice.csv", _file(["jdoe,username,add,product,Billing,2"]))
    return [invoke(handler.lambda_handler, event), invoke(handler.lambda_handler, event)]


def _apply_unversioned(aws: LocalAws, connect: ConnectEmulator) -> list[Invocation]:
    event = _without_version(
        aws.upload("incoming/iam/plain.csv", _file(["jdoe,username,add,product,Mobile,1"]))
    )
    return [invoke(handler.lambda_handler, event)]


def _dry_run(aws: LocalAws, connect: ConnectEmulator) -> list[Invocation]:
    event = aws.upload("dry-run/iam/plan.csv", _file(["jdoe,username,add,product,TV,3"]))
    return [invoke(handler.lambda_handler, event)]


def _dry_run_unversioned(aws: LocalAws, connect: ConnectEmulator) -> list[Invocation]:
    event = _without_version(aws.upload("dry-run/iam/plain.csv", _file(["jdoe,username,remove,tier,Tier1,"])))
    return [invoke(handler.lambda_handler, event)]


def _sync(aws: LocalAws, connect: ConnectEmulator) -> list[Invocation]:
    # A desired-state file (read under sync/), with and without a version id.
    rows = ["jdoe,username,set,language,English,3", "jdoe,username,set,product,TV,2"]
    versioned = aws.upload("sync/iam/team.csv", _file(rows))
    plain = _without_version(aws.upload("sync/iam/plain.csv", _file(rows[:1])))
    return [invoke(handler.lambda_handler, versioned), invoke(handler.lambda_handler, plain)]


def _groups(aws: LocalAws, connect: ConnectEmulator) -> list[Invocation]:
    # Group rows of each kind: ListRoutingProfiles, ListSecurityProfiles, ListUserHierarchyGroups
    # resolve the names, SearchUsers finds the members, and each member is read and written.
    rows = [
        "Sales,routing_profile,add,skill,Retention,2",
        "Supervisor,security_profile,add,skill,Retention,2",
        "EMEA,hierarchy_group,add,region,NA,1",
    ]
    return [invoke(handler.lambda_handler, aws.upload("incoming/iam/groups.csv", _file(rows)))]


def _unknown_attribute(aws: LocalAws, connect: ConnectEmulator) -> list[Invocation]:
    # A misspelt attribute: ListPredefinedAttributes names the instance's for the row's message.
    rows = ["jdoe,username,add,langauge,French,2", "jdoe,username,add,product,TV,2"]
    return [invoke(handler.lambda_handler, aws.upload("incoming/iam/typo.csv", _file(rows)))]


def _snapshot(aws: LocalAws, connect: ConnectEmulator) -> list[Invocation]:
    # The stack's schedule: every user read, snapshots/<date>.csv written; paced at the account's
    # quotas (no rate in the settings), so Service Quotas is read first.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CONNECT_RATE")
        patch.delenv("CONNECT_BURST")
        patch.setenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS", connect.endpoint_url)
        forget_settings()
        return [invoke(handler.lambda_handler, dict(SNAPSHOT_EVENT))]


Scenario = Callable[[LocalAws, ConnectEmulator], list[Invocation]]
SCENARIOS: dict[str, Scenario] = {
    "apply": _apply,
    "apply-unversioned": _apply_unversioned,
    "duplicate": _duplicate,
    "dry-run": _dry_run,
    "dry-run-unversioned": _dry_run_unversioned,
    "sync": _sync,
    "groups": _groups,
    "unknown-attribute": _unknown_attribute,
    "snapshot": _snapshot,
}


# Granted for paths no scenario here reaches. Matched exactly: an entry that goes stale fails the test.
NOT_REACHED_HERE = {
    "dynamodb:GetItem": "Powertools reads the record only when a conditional put fails without returning "
    "it (ReturnValuesOnConditionCheckFailure; DynamoDB returns it), a fallback kept granted",
}


def run_scenario(scenario: str, enforcement: IamEnforcement, local_aws: LocalAws) -> Run:
    """One scenario's job(s) with the policy enforced, in a fresh sample instance."""
    local_aws.free_connect_instances()  # a scenario whose refused DeleteItem left its lease
    connect = enforcement.start_connect(load_seed(SAMPLE_SEED), quota=UNTHROTTLED)
    instance = next(iter(connect.service.instances.values()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_CONNECT", connect.endpoint_url)
        patch.setenv("CONNECT_INSTANCE_ID", instance.id)
        patch.setenv("SUMMARY_TOPIC_ARN", local_aws.topic_arn)
        patch.setenv("IDEMPOTENCY_TABLE_NAME", TABLE)
        patch.setenv("JOB_BUCKET_NAME", BUCKET)
        patch.setenv("CONNECT_RATE", "1000")
        patch.setenv("CONNECT_BURST", "100")
        patch.setenv("USERS_PER_BATCH", "1")  # two batches: the journal is listed per batch
        forget_settings()
        try:
            with enforcement.enforcer:
                outcomes = SCENARIOS[scenario](local_aws, connect)
        finally:
            connect.stop()
            forget_settings()
            local_aws.summaries()
    return Run(enforcement, connect, outcomes)


def _enforcement(role: JobRole, local_aws: LocalAws, **options: Any) -> IamEnforcement:
    local = LocalResources(topic_arn=local_aws.topic_arn)
    policy = role.policy(local)
    drop: Grant | None = options.pop("drop", None)
    return IamEnforcement(drop.drop_from(policy) if drop else policy, role.topic_keys(local), **options)


@pytest.fixture(scope="module")
def baseline(job_role: JobRole, local_aws: LocalAws) -> dict[str, Run]:  # noqa: F811
    """Every scenario once under the synthesised policy, unchanged."""
    return {name: run_scenario(name, _enforcement(job_role, local_aws), local_aws) for name in SCENARIOS}


def test_the_job_is_refused_nothing_and_needs_every_grant(
    baseline: dict[str, Run], local_aws: LocalAws
) -> None:
    # Given the synthesised job role's policy, enforced, when the job applies a file (adds, updates,
    # removes, by username and by id), meets a duplicate delivery, and dry-runs, with and without
    # object version ids
    checks = [check for run in baseline.values() for check in run.enforcement.log.checks]
    enforcement = next(iter(baseline.values())).enforcement
    # Then no call was refused, and every grant (but Lambda's own) was needed by some call
    refused = enforcement.denial_lines(checks)
    unused = unused_grants(enforcement.policy, checks)
    unexpected = [str(grant) for grant in unused if grant.action not in NOT_REACHED_HERE]
    stale = sorted(set(NOT_REACHED_HERE) - {grant.action for grant in unused})
    problems = [
        *(["the job role's policy refused calls the job made:", *refused, ""] if refused else []),
        *(["the job role grants what no call of the job used:", *unexpected, ""] if unexpected else []),
        *([f"NOT_REACHED_HERE entries now used or no longer granted: {stale}"] if stale else []),
    ]
    assert not problems, "\n".join(problems)
    # And every job ended as it does when nothing is refused
    assert [o.status for run in baseline.values() for o in run.outcomes] == ["SUCCEEDED"] * 11
    # And the misspelt attribute's row was told what was meant: the listing was not refused
    [typo] = baseline["unknown-attribute"].outcomes
    assert typo.result is not None
    [record] = typo.result["records"]
    report = local_aws.read(f"{record['prefix']}report.csv").decode("utf-8-sig")
    assert "did you mean 'language'? (attributes: language, product, region, skill, tier)" in report


def _grant_params() -> list[Any]:
    return [
        pytest.param(grant, id=str(grant))
        if grant.action not in NOT_REACHED_HERE
        else pytest.param(grant, id=str(grant), marks=pytest.mark.skip(reason=NOT_REACHED_HERE[grant.action]))
        for grant in grants(synthesized_job_role().policy())
    ]


@pytest.mark.parametrize("grant", _grant_params())
def test_dropping_any_grant_the_job_needs_gets_a_call_refused(
    grant: Grant,
    baseline: dict[str, Run],
    job_role: JobRole,  # noqa: F811
    local_aws: LocalAws,
) -> None:
    # Given the scenario whose calls used this (action, resource) grant
    used = [
        name for name, run in baseline.items() if any(grant.used_by(c) for c in run.enforcement.log.checks)
    ]
    if not used:
        pytest.fail(f"no call of the job used {grant}: the role does not need it")
    # When it runs under the synthesised policy less that one grant
    run = run_scenario(used[0], _enforcement(job_role, local_aws, drop=grant, expect_denials=True), local_aws)
    # Then a call the grant allowed is refused, in AWS's words
    refused = [
        check
        for check in run.enforcement.log.denials
        if action_matches_pattern(grant.action, check.action)
        and resource_matches_pattern(grant.resource, check.resource)
    ]
    assert refused, f"with {grant} dropped, no call was refused: another statement grants it too"
    assert (
        refused[0].decision.because
        == f"because no identity-based policy allows the {refused[0].action} action"
    )
