"""The job role can do exactly what the job needs, on exactly the resources it needs, and nothing more."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from tests.infrastructure.intrinsics import as_list, statements
from tests.infrastructure.synthesis import INSTANCE_ID, Synthesis

CONNECT = f"arn:${{AWS::Partition}}:connect:${{AWS::Region}}:${{AWS::AccountId}}:instance/{INSTANCE_ID}"
CONNECT_USERS = f"{CONNECT}/agent/*"
CONNECT_ATTRIBUTES = f"{CONNECT}/predefined-attribute/*"


def job_role_statements(synth: Synthesis) -> list[dict[str, Any]]:
    role_id = synth.logical_id("AWS::IAM::Role", "Job/Role/")
    found: list[dict[str, Any]] = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found.extend(statements(policy["Properties"]["PolicyDocument"]))
    return found


def grants(synth: Synthesis) -> dict[str, set[str]]:
    """action -> every resource the job role may use it on."""
    allowed: dict[str, set[str]] = defaultdict(set)
    for statement in job_role_statements(synth):
        assert statement["Effect"] == "Allow"
        assert "Condition" not in statement, statement
        for action in statement["Action"]:
            allowed[action].update(statement["Resource"])
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


def test_job_role_is_assumed_by_lambda_only_and_has_no_managed_policies(synth: Synthesis) -> None:
    role_id = synth.logical_id("AWS::IAM::Role", "Job/Role/")
    role = synth.resources("AWS::IAM::Role")[role_id]["Properties"]

    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role


def test_job_role_grants_exactly_these_actions_on_these_resources(synth: Synthesis) -> None:
    ids = resource_ids(synth)
    bucket = f"${{{ids['bucket']}.Arn}}"

    assert grants(synth) == {
        # Amazon Connect, inside the one configured instance.
        "connect:ListUsers": {CONNECT},
        "connect:SearchUsers": {CONNECT},
        "connect:ListPredefinedAttributes": {CONNECT},
        "connect:DescribeUser": {CONNECT_USERS},
        "connect:ListUserProficiencies": {CONNECT_USERS},
        "connect:DescribePredefinedAttribute": {CONNECT_ATTRIBUTES},
        "connect:AssociateUserProficiencies": {CONNECT_USERS, CONNECT_ATTRIBUTES},
        "connect:UpdateUserProficiencies": {CONNECT_USERS, CONNECT_ATTRIBUTES},
        "connect:DisassociateUserProficiencies": {CONNECT_USERS, CONNECT_ATTRIBUTES},
        # S3, by prefix: read inputs, write reports.
        "s3:GetObject": {f"{bucket}/incoming/*", f"{bucket}/dry-run/*"},
        "s3:GetObjectVersion": {f"{bucket}/incoming/*", f"{bucket}/dry-run/*"},
        "s3:PutObject": {f"{bucket}/reports/*"},
        # The summary, through the encrypted topic.
        "sns:Publish": {f"${{{ids['topic']}}}"},
        "kms:Decrypt": {f"${{{ids['key']}.Arn}}"},
        "kms:GenerateDataKey*": {f"${{{ids['key']}.Arn}}"},
        # Duplicate-event suppression.
        "dynamodb:GetItem": {f"${{{ids['table']}.Arn}}"},
        "dynamodb:PutItem": {f"${{{ids['table']}.Arn}}"},
        "dynamodb:UpdateItem": {f"${{{ids['table']}.Arn}}"},
        "dynamodb:DeleteItem": {f"${{{ids['table']}.Arn}}"},
        # Durable execution checkpoints, on this function's own executions.
        "lambda:CheckpointDurableExecution": {f"${{{ids['function']}.Arn}}:*"},
        "lambda:GetDurableExecutionState": {f"${{{ids['function']}.Arn}}:*"},
        # The on-failure destination (Lambda sends with the function's role).
        "sqs:SendMessage": {f"${{{ids['queue']}.Arn}}"},
        "sqs:GetQueueAttributes": {f"${{{ids['queue']}.Arn}}"},
        "sqs:GetQueueUrl": {f"${{{ids['queue']}.Arn}}"},
        # Logs into its own log group; traces (X-Ray has no resource-level permissions).
        "logs:CreateLogStream": {f"${{{ids['log_group']}.Arn}}"},
        "logs:PutLogEvents": {f"${{{ids['log_group']}.Arn}}"},
        "xray:PutTraceSegments": {"*"},
        "xray:PutTelemetryRecords": {"*"},
    }


def test_only_xray_is_granted_on_every_resource(synth: Synthesis) -> None:
    on_everything = {action for action, resources in grants(synth).items() if "*" in resources}

    assert on_everything == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_connect_resources_never_leave_the_configured_instance(
    which: str, request: pytest.FixtureRequest
) -> None:
    synthesis: Synthesis = request.getfixturevalue(which)

    connect_resources = {
        resource
        for action, resources in grants(synthesis).items()
        if action.startswith("connect:")
        for resource in resources
    }
    assert connect_resources == {CONNECT, CONNECT_USERS, CONNECT_ATTRIBUTES}


def test_no_policy_in_the_stack_uses_a_wildcard_action(synth: Synthesis) -> None:
    for logical_id, policy in synth.resources("AWS::IAM::Policy").items():
        for statement in statements(policy["Properties"]["PolicyDocument"]):
            for action in statement["Action"]:
                assert action != "*", logical_id
                assert not action.endswith(":*"), (logical_id, action)


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
