"""The Lambda job under the synthesised job role's policy: every call it makes must be allowed, and
every grant the role holds must be needed by some call (least privilege, both ways).

The policy is read from the synthesised template (tests/iam_policy.py), not copied; Connect calls
are checked against the ARNs the Service Authorization Reference requires (instance, and user for
per-user actions), S3/SNS/KMS/DynamoDB calls against theirs, with condition keys such as s3:prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connect_emulator import SAMPLE_SEED, ConnectEmulator, load_seed
from connect_profiles import settings
from connect_profiles.adapters import clients as aws_clients
from connect_profiles.entrypoints import handler
from iam_enforcement import AccessLog, Check
from iam_enforcement.policy import action_matches_pattern, resource_matches_pattern
from local_stand_ins import BASE_ENVIRONMENT, TABLE, Invocation, LocalAws, invoke
from tests.conftest import UNTHROTTLED
from tests.iam_policy import (
    Grant,
    IamEnforcement,
    JobRole,
    LocalResources,
    grants,
    job_role,  # noqa: F401  (a fixture)
    synthesized_job_role,
)

HEADER = "identifier,identifier_type,action,attribute,value,level\n"


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in BASE_ENVIRONMENT.items():
            patch.setenv(name, value)
        aws = LocalAws().start()
        for name, value in aws.environment.items():
            patch.setenv(name, value)
        aws.create_resources()
        yield aws
        aws.stop()


def _forget_settings() -> None:
    settings.settings.cache_clear()
    aws_clients.aws_clients.cache_clear()
    handler._claim.cache_clear()


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
    other = next(user for user in users if user is not jdoe)
    event = aws.upload(
        "incoming/iam/changes.csv",
        _file(
            [
                "jdoe,username,add,language,French,4",
                "jdoe,username,update,language,English,5",
                "jdoe,username,remove,tier,Tier1,",
                f"{other.id},user_id,add,product,TV,2",
            ]
        ),
    )
    first = invoke(handler.lambda_handler, event)
    # The same object version delivered again: claimed already, no second job.
    second = invoke(handler.lambda_handler, event)
    return [first, second]


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


Scenario = Callable[[LocalAws, ConnectEmulator], list[Invocation]]
SCENARIOS: dict[str, Scenario] = {
    "apply": _apply,
    "apply-unversioned": _apply_unversioned,
    "dry-run": _dry_run,
    "dry-run-unversioned": _dry_run_unversioned,
}


@pytest.fixture
def run_job(
    job_role: JobRole,  # noqa: F811
    local_aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Run]:
    """Run a scenario with the given policy enforced (default: the synthesised job role's)."""

    def run(scenario: str, enforcement: IamEnforcement | None = None) -> Run:
        local = LocalResources(topic_arn=local_aws.topic_arn)
        if enforcement is None:
            enforcement = IamEnforcement(job_role.policy(local), job_role.topic_keys(local))
        connect = enforcement.start_connect(load_seed(SAMPLE_SEED), quota=UNTHROTTLED)
        instance = next(iter(connect.service.instances.values()))
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", connect.endpoint_url)
        monkeypatch.setenv("CONNECT_INSTANCE_ID", instance.id)
        monkeypatch.setenv("SUMMARY_TOPIC_ARN", local_aws.topic_arn)
        monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", TABLE)
        monkeypatch.setenv("CONNECT_RATE", "1000")
        monkeypatch.setenv("CONNECT_BURST", "100")
        monkeypatch.setenv("USERS_PER_BATCH", "1")  # two batches: the journal is listed per batch
        _forget_settings()
        try:
            with enforcement.enforcer:
                outcomes = SCENARIOS[scenario](local_aws, connect)
        finally:
            connect.stop()
            _forget_settings()
            local_aws.summaries()
        return Run(enforcement, connect, outcomes)

    return run


def _called(log: AccessLog) -> str:
    return log.summary()


def test_the_job_needs_every_grant_and_is_refused_nothing(run_job: Callable[..., Run]) -> None:
    # Given the synthesised job role's policy, enforced
    checks: list[Check] = []
    for scenario in SCENARIOS:
        # When the job applies a file (adds, updates, removes), meets a duplicate, dry-runs, with
        # and without object version ids
        run = run_job(scenario)
        checks += run.enforcement.log.checks
        # Then nothing it did was refused
        run.enforcement.assert_all_allowed()
        assert all(outcome.status == "SUCCEEDED" for outcome in run.outcomes), [o.error for o in run.outcomes]
    # And every grant (apart from those Lambda itself uses) was needed by some call
    run.enforcement.assert_no_unused_grants(checks)


def _grant_ids() -> list[Grant]:
    return grants(synthesized_job_role().policy())


@pytest.mark.parametrize("grant", _grant_ids(), ids=str)
def test_dropping_any_grant_the_job_needs_gets_a_call_refused(
    grant: Grant,
    run_job: Callable[..., Run],
    job_role: JobRole,  # noqa: F811
    local_aws: LocalAws,
) -> None:
    # Given the synthesised policy less this one (action, resource) grant
    local = LocalResources(topic_arn=local_aws.topic_arn)
    policy = grant.drop_from(job_role.policy(local))
    # When the scenarios run under it, until one is refused
    for scenario in SCENARIOS:
        enforcement = IamEnforcement(policy, job_role.topic_keys(local), expect_denials=True)
        run_job(scenario, enforcement)
        refused = [
            check
            for check in enforcement.log.denials
            if action_matches_pattern(grant.action, check.action)
            and resource_matches_pattern(grant.resource, check.resource)
        ]
        if refused:
            # Then a call the grant allowed is refused, with AWS's words
            assert refused[0].decision.because.endswith(f"allows the {refused[0].action} action")
            return
    pytest.fail(f"dropping {grant} refused no call: the job does not need it")
