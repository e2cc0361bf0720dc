"""The job role grants what the job calls (the contract) and what Lambda needs for it, and nothing more.

Least privilege both ways: every action in `contract.JOB_ACTIONS` is granted on exactly the ARNs (and
conditions) of its `Resource`, and every action the role grants is in the contract or is one of the
platform needs infra lists in `PLATFORM_GRANTS`, each granted on exactly its own resource.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from connect_profiles import contract
from connect_profiles.contract import JOB_ACTIONS, Grant, Resource
from infra.permissions import (
    PLATFORM_GRANTS,
    PlatformNeed,
    Target,
    UnmappedResourceError,
    grant_job_actions,
    job_targets,
)
from tests.infrastructure.intrinsics import as_list, statements
from tests.infrastructure.synthesis import INSTANCE_ID, Synthesis, synthesize

CONNECT = f"arn:${{AWS::Partition}}:connect:${{AWS::Region}}:${{AWS::AccountId}}:instance/{INSTANCE_ID}"
CONNECT_USERS = f"{CONNECT}/agent/*"
REPORTS_ONLY = {"StringLike": {"s3:prefix": ["reports/*"]}}
# (resource, condition as JSON text): what one action is allowed on.
Scope = tuple[str, str]


def job_role_statements(synth: Synthesis) -> list[dict[str, Any]]:
    role_id = synth.logical_id("AWS::IAM::Role", "Job/Role/")
    found: list[dict[str, Any]] = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found.extend(statements(policy["Properties"]["PolicyDocument"]))
    return found


def granted(synth: Synthesis) -> dict[str, set[Scope]]:
    """action -> every (resource, condition) the job role may use it on."""
    allowed: dict[str, set[Scope]] = defaultdict(set)
    for statement in job_role_statements(synth):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        condition = json.dumps(statement.get("Condition"), sort_keys=True)
        for action in statement["Action"]:
            allowed[action].update((resource, condition) for resource in statement["Resource"])
    return dict(allowed)


def resource_ids(synth: Synthesis) -> dict[str, str]:
    return {
        "bucket": synth.logical_id("AWS::S3::Bucket", "Storage/JobBucket/"),
        "topic": synth.only("AWS::SNS::Topic")[0],
        "key": synth.only("AWS::KMS::Key")[0],
        "table": synth.only("AWS::DynamoDB::Table")[0],
        "queue": synth.only("AWS::SQS::Queue")[0],
        "log_group": synth.only("AWS::Logs::LogGroup")[0],
        "function": synth.logical_id("AWS::Lambda::Function", "Job/Function/"),
    }


def contract_scopes(synth: Synthesis) -> dict[Resource, tuple[set[str], dict[str, Any] | None]]:
    """What each contract `Resource` must be in the template, written out independently of infra."""
    ids = resource_ids(synth)
    bucket = f"${{{ids['bucket']}.Arn}}"
    return {
        Resource.CONNECT_INSTANCE: ({CONNECT}, None),
        # Per-user Connect actions require the instance ARN and the user ARN.
        Resource.CONNECT_INSTANCE_USERS: ({CONNECT, CONNECT_USERS}, None),
        Resource.INPUT_OBJECTS: ({f"{bucket}/incoming/*", f"{bucket}/dry-run/*", f"{bucket}/sync/*"}, None),
        Resource.REPORT_OBJECTS: ({f"{bucket}/reports/*"}, None),
        Resource.REPORTS_LISTING: ({bucket}, REPORTS_ONLY),
        Resource.SNAPSHOT_OBJECTS: ({f"{bucket}/snapshots/*"}, None),
        Resource.SUMMARY_TOPIC: ({f"${{{ids['topic']}}}"}, None),
        Resource.JOB_TABLE: ({f"${{{ids['table']}.Arn}}"}, None),
        # ListServiceQuotas has no resource types: `*` is the only way to grant it.
        Resource.SERVICE_QUOTAS: ({"*"}, None),
    }


def platform_scopes(synth: Synthesis) -> dict[PlatformNeed, set[str]]:
    ids = resource_ids(synth)
    return {
        PlatformNeed.OWN_LOG_GROUP: {f"${{{ids['log_group']}.Arn}}"},
        PlatformNeed.TRACES: {"*"},
        PlatformNeed.OWN_EXECUTIONS: {f"${{{ids['function']}.Arn}}:*"},
        PlatformNeed.FAILURE_QUEUE: {f"${{{ids['queue']}.Arn}}"},
        PlatformNeed.TOPIC_KEY: {f"${{{ids['key']}.Arn}}"},
    }


def expected_from_contract(
    synth: Synthesis, grants: tuple[Grant, ...] = JOB_ACTIONS
) -> dict[str, set[Scope]]:
    scopes = contract_scopes(synth)
    expected: dict[str, set[Scope]] = defaultdict(set)
    for grant in grants:
        resources, condition = scopes[grant.resource]
        for action in grant.actions:
            expected[action].update(
                (resource, json.dumps(condition, sort_keys=True)) for resource in resources
            )
    return dict(expected)


def expected_for_the_platform(synth: Synthesis) -> dict[str, set[Scope]]:
    scopes = platform_scopes(synth)
    return {
        action: {(resource, "null") for resource in scopes[grant.need]}
        for grant in PLATFORM_GRANTS
        for action in grant.actions
    }


def test_job_role_is_assumed_by_lambda_only_and_has_no_managed_policies(synth: Synthesis) -> None:
    role_id = synth.logical_id("AWS::IAM::Role", "Job/Role/")
    role = synth.resources("AWS::IAM::Role")[role_id]["Properties"]

    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role


def test_this_test_knows_where_every_contract_resource_lives(synth: Synthesis) -> None:
    assert set(contract_scopes(synth)) == {grant.resource for grant in JOB_ACTIONS} == set(Resource)
    assert set(platform_scopes(synth)) == {grant.need for grant in PLATFORM_GRANTS} == set(PlatformNeed)


def test_every_contract_action_is_granted_on_exactly_its_resources(synth: Synthesis) -> None:
    allowed = granted(synth)

    for action, scopes in expected_from_contract(synth).items():
        assert allowed.get(action) == scopes, action


def test_every_granted_action_is_in_the_contract_or_a_listed_lambda_need(synth: Synthesis) -> None:
    contract_actions = expected_from_contract(synth)
    platform_actions = expected_for_the_platform(synth)

    assert not set(contract_actions) & set(platform_actions), "an action is listed twice"
    assert granted(synth) == {**contract_actions, **platform_actions}


def test_every_platform_grant_says_why_and_touches_nothing_the_contract_names(synth: Synthesis) -> None:
    assert len({grant.need for grant in PLATFORM_GRANTS}) == len(PLATFORM_GRANTS)
    for grant in PLATFORM_GRANTS:
        assert len(grant.why) >= 40, grant
        assert not set(grant.actions) & {action for g in JOB_ACTIONS for action in g.actions}, grant


def test_no_predefined_attribute_arns_and_no_calls_the_job_does_not_make(synth: Synthesis) -> None:
    allowed = granted(synth)

    assert "connect:DescribeUser" not in allowed
    assert not [
        scope for scopes in allowed.values() for scope in scopes if "predefined-attribute" in scope[0]
    ]


def test_listing_is_the_only_bucket_wide_grant_and_stays_under_reports(synth: Synthesis) -> None:
    bucket = f"${{{resource_ids(synth)['bucket']}.Arn}}"

    on_bucket = {
        action for action, scopes in granted(synth).items() for resource, _ in scopes if resource == bucket
    }
    assert on_bucket == {"s3:ListBucket"}
    assert granted(synth)["s3:ListBucket"] == {(bucket, json.dumps(REPORTS_ONLY))}


def test_only_xray_and_the_quota_read_are_granted_on_every_resource(synth: Synthesis) -> None:
    on_everything = {
        action for action, scopes in granted(synth).items() if any(resource == "*" for resource, _ in scopes)
    }

    assert on_everything == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "servicequotas:ListServiceQuotas",
    }


def test_the_quota_read_is_alone_in_its_statement(synth: Synthesis) -> None:
    [statement] = [s for s in job_role_statements(synth) if "servicequotas:ListServiceQuotas" in s["Action"]]

    assert (statement["Action"], statement["Resource"]) == (["servicequotas:ListServiceQuotas"], ["*"])


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_connect_resources_never_leave_the_configured_instance(
    which: str, request: pytest.FixtureRequest
) -> None:
    synthesis: Synthesis = request.getfixturevalue(which)

    connect_resources = {
        resource
        for action, scopes in granted(synthesis).items()
        if action.startswith("connect:")
        for resource, _ in scopes
    }
    assert connect_resources == {CONNECT, CONNECT_USERS}


def test_no_policy_in_the_stack_uses_a_wildcard_action(synth: Synthesis) -> None:
    for logical_id, policy in synth.resources("AWS::IAM::Policy").items():
        for statement in statements(policy["Properties"]["PolicyDocument"]):
            for action in statement["Action"]:
                assert "*" not in action, (logical_id, action)


def test_cdk_bucket_notifications_handler_may_configure_only_the_job_bucket(synth: Synthesis) -> None:
    ids = resource_ids(synth)
    handler_role_id = synth.logical_id("AWS::IAM::Role", "BucketNotificationsHandler")

    handler_statements = [
        statement
        for policy in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": handler_role_id} in policy["Properties"]["Roles"]
        for statement in statements(policy["Properties"]["PolicyDocument"])
    ]
    assert handler_statements == [
        {"Action": ["s3:PutBucketNotification"], "Effect": "Allow", "Resource": [f"${{{ids['bucket']}.Arn}}"]}
    ]
    managed = as_list(synth.resources("AWS::IAM::Role")[handler_role_id]["Properties"]["ManagedPolicyArns"])
    assert len(managed) == 1


def test_a_new_action_in_the_contract_ships_with_its_grant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = Grant(("connect:DescribeRoutingProfile",), Resource.CONNECT_INSTANCE, "a future call")
    monkeypatch.setattr(contract, "JOB_ACTIONS", (*JOB_ACTIONS, extra))

    synthesis = synthesize(tmp_path, {"instanceId": INSTANCE_ID})

    assert granted(synthesis)["connect:DescribeRoutingProfile"] == {(CONNECT, "null")}
    assert granted(synthesis) == {
        **expected_from_contract(synthesis, (*JOB_ACTIONS, extra)),
        **expected_for_the_platform(synthesis),
    }


def bare_stack_targets() -> tuple[iam.Role, dict[Resource, Target]]:
    stack = Stack(App(), "Bare")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    targets = job_targets(
        stack,
        instance_id=INSTANCE_ID,
        bucket=s3.Bucket(stack, "Bucket"),
        topic=sns.Topic(stack, "Topic"),
        table=dynamodb.Table(
            stack, "Table", partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)
        ),
    )
    return role, targets


def test_a_contract_resource_without_arns_fails_the_synth() -> None:
    role, targets = bare_stack_targets()
    del targets[Resource.JOB_TABLE]

    with pytest.raises(UnmappedResourceError, match="job-table"):
        grant_job_actions(role, targets)


def test_a_wildcard_without_a_reason_fails_the_synth() -> None:
    role, targets = bare_stack_targets()
    targets[Resource.JOB_TABLE] = Target(("arn:aws:dynamodb:eu-west-1:123456789012:table/*",))

    with pytest.raises(ValueError, match="wildcard ARN needs a reason"):
        grant_job_actions(role, targets)
