"""The daily snapshot schedule: when it fires, what it sends to which alias, and all its role may do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connect_profiles.contract import DEFAULT_SNAPSHOT_SCHEDULE, SNAPSHOT_EVENT
from tests.infrastructure.intrinsics import render, statements
from tests.infrastructure.synthesis import EMAIL, INSTANCE_ID, Synthesis, synthesize

SCHEDULE_GROUP = "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule-group/default"


@pytest.fixture(scope="module")
def off(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The default synthesis (`synth`), but for the schedule."""
    settings = {"instanceId": INSTANCE_ID, "notificationEmail": EMAIL, "snapshotSchedule": "off"}
    return synthesize(tmp_path_factory.mktemp("cdk.out.off"), settings)


def schedule(synth: Synthesis) -> dict[str, Any]:
    _, resource = synth.only("AWS::Scheduler::Schedule")
    properties: dict[str, Any] = resource["Properties"]
    return properties


def role_statements(synth: Synthesis, role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in statements(policy["Properties"]["PolicyDocument"])
    ]


def test_by_default_the_snapshot_runs_daily_at_two_utc_exactly_on_time(synth: Synthesis) -> None:
    properties = schedule(synth)

    assert properties["ScheduleExpression"] == DEFAULT_SNAPSHOT_SCHEDULE == "cron(0 2 * * ? *)"
    assert properties["ScheduleExpressionTimezone"] == "Etc/UTC"
    assert properties["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert properties["State"] == "ENABLED"
    assert "GroupName" not in properties  # the default group, which the role's trust policy names


def test_it_invokes_the_live_alias_with_the_snapshot_event(synth: Synthesis) -> None:
    alias_id, _ = synth.only("AWS::Lambda::Alias")

    target = schedule(synth)["Target"]
    # Ref of an alias is its ARN: qualified, as durable functions require.
    assert target["Arn"] == {"Ref": alias_id}
    assert json.loads(target["Input"]) == SNAPSHOT_EVENT == {"connectProfiles": "snapshot"}


def test_undeliverable_snapshots_are_retried_for_an_hour_then_go_to_the_failed_events_queue(
    synth: Synthesis,
) -> None:
    queue_id, _ = synth.only("AWS::SQS::Queue")

    target = schedule(synth)["Target"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}


def test_its_role_is_its_own_trusted_by_scheduler_for_this_account_and_group_only(synth: Synthesis) -> None:
    role_id = synth.logical_id("AWS::IAM::Role", "Snapshots/Role/")
    role = synth.resources("AWS::IAM::Role")[role_id]["Properties"]

    assert schedule(synth)["Target"]["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Effect"], trust["Action"], trust["Principal"]) == (
        "Allow",
        "sts:AssumeRole",
        {"Service": "scheduler.amazonaws.com"},
    )
    conditions = trust["Condition"]["StringEquals"]
    assert conditions["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert render(conditions["aws:SourceArn"]) == SCHEDULE_GROUP
    assert "ManagedPolicyArns" not in role


def test_its_role_may_invoke_the_alias_and_send_to_the_dead_letter_queue_and_nothing_else(
    synth: Synthesis,
) -> None:
    role_id = synth.logical_id("AWS::IAM::Role", "Snapshots/Role/")
    alias_id, _ = synth.only("AWS::Lambda::Alias")
    queue_id, _ = synth.only("AWS::SQS::Queue")

    granted = sorted(
        (action, resource, json.dumps(statement.get("Condition")))
        for statement in role_statements(synth, role_id)
        for action in statement["Action"]
        for resource in statement["Resource"]
        if statement["Effect"] == "Allow"
    )
    # The alias only: not the unqualified function, no other version.
    assert granted == [
        ("lambda:InvokeFunction", f"${{{alias_id}}}", "null"),
        ("sqs:SendMessage", f"${{{queue_id}.Arn}}", "null"),
    ]


def test_off_removes_the_schedule_and_its_role(off: Synthesis) -> None:
    assert off.resources("AWS::Scheduler::Schedule") == {}
    paths = [
        resource.get("Metadata", {}).get("aws:cdk:path", "")
        for resource in off.resources("AWS::IAM::Role").values()
    ]
    assert not [path for path in paths if "Snapshots" in path]
    assert "scheduler.amazonaws.com" not in json.dumps(off.template_json)


def test_off_leaves_the_rest_of_the_stack_as_it_was(synth: Synthesis, off: Synthesis) -> None:
    def shape(synthesis: Synthesis) -> list[tuple[str, str]]:
        return sorted(
            (resource.get("Metadata", {}).get("aws:cdk:path", ""), resource["Type"])
            for resource in synthesis.template_json["Resources"].values()
            if "/Snapshots/" not in resource.get("Metadata", {}).get("aws:cdk:path", "")
        )

    assert shape(off) == shape(synth)
    assert off.messages == []


def test_the_schedule_setting_is_the_schedule_expression(variant: Synthesis) -> None:
    properties = schedule(variant)

    assert properties["ScheduleExpression"] == "rate(12 hours)"
    assert properties["ScheduleExpressionTimezone"] == "Etc/UTC"
