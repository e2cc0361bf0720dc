"""The durable function, its alias, logs, async settings and on-failure queue, and the idempotency table."""

from __future__ import annotations

from typing import Any

from tests.infrastructure.intrinsics import statements
from tests.infrastructure.synthesis import INSTANCE_ID, Synthesis

HANDLER = "connect_profiles.entrypoints.handler.lambda_handler"


def job_function(synth: Synthesis) -> tuple[str, dict[str, Any]]:
    logical_id = synth.logical_id("AWS::Lambda::Function", "Job/Function/")
    return logical_id, synth.resources("AWS::Lambda::Function")[logical_id]["Properties"]


def test_function_runs_the_handler_on_the_durable_python_runtime_the_asset_is_tested_on(
    synth: Synthesis,
) -> None:
    _, properties = job_function(synth)

    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == HANDLER


def test_function_is_durable_for_a_day_and_keeps_execution_state_two_weeks(synth: Synthesis) -> None:
    _, properties = job_function(synth)

    assert properties["DurableConfig"] == {"ExecutionTimeout": 86400, "RetentionPeriodInDays": 14}


def test_function_is_sized_and_traced(synth: Synthesis) -> None:
    _, properties = job_function(synth)

    assert properties["Timeout"] == 900
    assert properties["MemorySize"] == 512
    assert properties["TracingConfig"] == {"Mode": "Active"}


def test_function_uses_its_own_role_and_log_group_with_retention(synth: Synthesis) -> None:
    _, properties = job_function(synth)
    role_id = synth.logical_id("AWS::IAM::Role", "Job/Role/")
    log_group_id, log_group = synth.only("AWS::Logs::LogGroup")

    assert properties["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert properties["LoggingConfig"] == {"LogGroup": {"Ref": log_group_id}}
    assert log_group["Properties"]["RetentionInDays"] == 30


def test_one_job_at_a_time_by_default_and_unreserved_when_turned_off(
    synth: Synthesis, variant: Synthesis
) -> None:
    assert job_function(synth)[1]["ReservedConcurrentExecutions"] == 1
    assert "ReservedConcurrentExecutions" not in job_function(variant)[1]


def test_environment_carries_the_contract_with_the_handler(synth: Synthesis) -> None:
    _, properties = job_function(synth)
    topic_id, _ = synth.only("AWS::SNS::Topic")
    table_id, _ = synth.only("AWS::DynamoDB::Table")
    bucket_id = synth.logical_id("AWS::S3::Bucket", "Storage/JobBucket/")

    assert properties["Environment"]["Variables"] == {
        "CONNECT_INSTANCE_ID": INSTANCE_ID,
        "SUMMARY_TOPIC_ARN": {"Ref": topic_id},
        "IDEMPOTENCY_TABLE_NAME": {"Ref": table_id},
        # The scheduled snapshot has no S3 event to name the bucket.
        "JOB_BUCKET_NAME": {"Ref": bucket_id},
        "CONNECT_HEADROOM": "90",
        "MAX_PROFICIENCIES_PER_AGENT": "10",
        "MAX_GROUP_USERS": "1000",
        "POWERTOOLS_SERVICE_NAME": "connect-profiles",
        "POWERTOOLS_METRICS_NAMESPACE": "ConnectProfiles",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def test_environment_follows_the_settings(variant: Synthesis) -> None:
    variables = job_function(variant)[1]["Environment"]["Variables"]

    assert variables["CONNECT_INSTANCE_ID"] == INSTANCE_ID
    assert (variables["CONNECT_RATE"], variables["CONNECT_BURST"]) == ("0.5", "3")
    assert variables["CONNECT_API_RATES"] == "ListUserProficiencies=10:10"
    assert variables["CONNECT_HEADROOM"] == "75"
    assert variables["MAX_PROFICIENCIES_PER_AGENT"] == "20"
    assert variables["MAX_GROUP_USERS"] == "250"


def test_live_alias_points_at_the_current_version_and_versions_are_kept(synth: Synthesis) -> None:
    function_id, _ = job_function(synth)
    version_id, version = synth.only("AWS::Lambda::Version")
    _, alias = synth.only("AWS::Lambda::Alias")

    assert alias["Properties"] == {
        "Name": "live",
        "FunctionName": {"Ref": function_id},
        "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]},
    }
    assert version["Properties"]["FunctionName"] == {"Ref": function_id}
    assert (version["DeletionPolicy"], version["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_alias_is_created_after_the_function_can_checkpoint(synth: Synthesis) -> None:
    _, alias = synth.only("AWS::Lambda::Alias")
    durable_policy_id = synth.logical_id("AWS::IAM::Policy", "Job/DurableExecutionPolicy/")

    assert durable_policy_id in alias["DependsOn"]


def test_async_events_on_the_alias_wait_six_hours_are_not_retried_and_failures_are_queued(
    synth: Synthesis,
) -> None:
    function_id, _ = job_function(synth)
    alias_id, _ = synth.only("AWS::Lambda::Alias")
    queue_id, _ = synth.only("AWS::SQS::Queue")
    _, config = synth.only("AWS::Lambda::EventInvokeConfig")

    assert config["Properties"] == {
        "FunctionName": {"Ref": function_id},
        "Qualifier": {"Fn::Select": [7, {"Fn::Split": [":", {"Ref": alias_id}]}]},
        "MaximumEventAgeInSeconds": 21600,
        "MaximumRetryAttempts": 0,
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
    }


def test_the_on_failure_destination_is_granted_sqs_send_message_and_nothing_else(synth: Synthesis) -> None:
    """Lambda's on-failure destination (the job role) and the snapshot schedule's dead-letter queue
    (the schedule's role) are the same queue; each role may only send to it."""
    queue_id, _ = synth.only("AWS::SQS::Queue")
    job_role = {"Ref": synth.logical_id("AWS::IAM::Role", "Job/Role/")}
    schedule_role = {"Ref": synth.logical_id("AWS::IAM::Role", "Snapshots/Role/")}
    sqs_grants = [
        (role, action, statement["Resource"])
        for policy in synth.resources("AWS::IAM::Policy").values()
        for statement in statements(policy["Properties"]["PolicyDocument"])
        for action in statement["Action"]
        if action.startswith("sqs:") or f"${{{queue_id}.Arn}}" in statement["Resource"]
        for role in policy["Properties"]["Roles"]
    ]

    queue = [f"${{{queue_id}.Arn}}"]
    assert sorted(sqs_grants, key=str) == sorted(
        [(job_role, "sqs:SendMessage", queue), (schedule_role, "sqs:SendMessage", queue)], key=str
    )


def test_on_failure_queue_is_encrypted_tls_only_and_keeps_events_two_weeks(synth: Synthesis) -> None:
    queue_id, queue = synth.only("AWS::SQS::Queue")
    _, policy = synth.only("AWS::SQS::QueuePolicy")

    assert queue["Properties"] == {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True}
    (denial,) = statements(policy["Properties"]["PolicyDocument"])
    assert denial["Effect"] == "Deny"
    assert denial["Action"] == ["sqs:*"]
    assert denial["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert denial["Resource"] == [f"${{{queue_id}.Arn}}"]


def test_idempotency_table_is_on_demand_with_ttl_and_recovery(synth: Synthesis) -> None:
    _, table = synth.only("AWS::DynamoDB::Table")

    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["Properties"]["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
