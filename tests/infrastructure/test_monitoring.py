"""Alarms on job errors, failed events and persistent throttling, each notifying the topic."""

from __future__ import annotations

from typing import Any

from tests.infrastructure.synthesis import Synthesis


def alarm(synth: Synthesis, name: str) -> dict[str, Any]:
    logical_id = synth.logical_id("AWS::CloudWatch::Alarm", f"Monitoring/{name}/")
    properties: dict[str, Any] = synth.resources("AWS::CloudWatch::Alarm")[logical_id]["Properties"]
    return properties


def test_there_are_exactly_three_alarms_and_each_notifies_the_topic(synth: Synthesis) -> None:
    topic_id, _ = synth.only("AWS::SNS::Topic")

    alarms = synth.resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 3
    for resource in alarms.values():
        assert resource["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert resource["Properties"]["TreatMissingData"] == "notBreaching"
        assert resource["Properties"]["AlarmDescription"]


def test_any_function_error_alarms(synth: Synthesis) -> None:
    function_id = synth.logical_id("AWS::Lambda::Function", "Job/Function/")

    properties = alarm(synth, "JobErrors")
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/Lambda", "Errors")
    # All versions: in-flight executions replay on the version they started on.
    assert properties["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    assert (properties["Statistic"], properties["Period"]) == ("Sum", 300)
    assert (properties["Threshold"], properties["EvaluationPeriods"]) == (1, 1)
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_any_event_in_the_on_failure_queue_alarms(synth: Synthesis) -> None:
    queue_id, _ = synth.only("AWS::SQS::Queue")

    properties = alarm(synth, "FailedEvents")
    assert (properties["Namespace"], properties["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert properties["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    ]
    assert (properties["Statistic"], properties["Threshold"], properties["EvaluationPeriods"]) == (
        "Maximum",
        1,
        1,
    )
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_throttling_alarms_only_when_it_lasts_fifteen_minutes(synth: Synthesis) -> None:
    function_id = synth.logical_id("AWS::Lambda::Function", "Job/Function/")

    properties = alarm(synth, "JobThrottles")
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/Lambda", "Throttles")
    assert properties["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    assert (properties["Statistic"], properties["Period"], properties["Threshold"]) == ("Sum", 300, 1)
    assert (properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (3, 3)
