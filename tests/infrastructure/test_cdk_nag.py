"""cdk-nag's AwsSolutions pack runs on every synth: nothing unacknowledged, every acknowledgment reasoned."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from aws_cdk import Stack
from aws_cdk import aws_sqs as sqs

from infra.application import STACK_NAME, create_app
from tests.infrastructure.synthesis import INSTANCE_ID, SKIP_BUNDLING, Synthesis, cdk_json_context

CONNECT = f"Resource::arn:<AWS::Partition>:connect:<AWS::Region>:<AWS::AccountId>:instance/{INSTANCE_ID}"
JOB_BUCKET = "Resource::<StorageJobBucketC49E37D6.Arn>"
DURABLE_EXECUTIONS = "Resource::<JobFunction23969A7D.Arn>:*"
BASIC_EXECUTION_ROLE = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
# Each acknowledged finding: (resource path, rule, finding for granular rules). A new one must be added here.
EXPECTED_ACKNOWLEDGMENTS = {
    ("Job/Role", "AwsSolutions-IAM5", "Resource::*"),
    ("Job/Role", "AwsSolutions-IAM5", f"{CONNECT}/agent/*"),
    ("Job/Role", "AwsSolutions-IAM5", f"{JOB_BUCKET}/incoming/*"),
    ("Job/Role", "AwsSolutions-IAM5", f"{JOB_BUCKET}/dry-run/*"),
    ("Job/Role", "AwsSolutions-IAM5", f"{JOB_BUCKET}/sync/*"),
    ("Job/Role", "AwsSolutions-IAM5", f"{JOB_BUCKET}/snapshots/*"),
    ("Job/Role", "AwsSolutions-IAM5", f"{JOB_BUCKET}/reports/*"),
    ("Job/DurableExecutionPolicy", "AwsSolutions-IAM5", DURABLE_EXECUTIONS),
    ("Job/FailedEvents", "AwsSolutions-SQS3", ""),
    ("Job/Function", "AwsSolutions-L1", ""),
    (
        "BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role",
        "AwsSolutions-IAM4",
        BASIC_EXECUTION_ROLE,
    ),
}


def acknowledgments(synth: Synthesis) -> list[tuple[str, dict[str, Any]]]:
    """(construct path, suppression) for every cdk-nag suppression in the template."""
    found = []
    for resource in synth.template_json["Resources"].values():
        metadata = resource.get("Metadata", {})
        for suppression in metadata.get("cdk_nag", {}).get("rules_to_suppress", []):
            found.append((metadata["aws:cdk:path"], suppression))
    return found


def test_no_finding_is_left_unacknowledged_and_the_synth_is_silent(synth: Synthesis) -> None:
    findings = [message for message in synth.messages if "AwsSolutions-" in message[2]]

    assert findings == []
    assert synth.messages == []


def test_the_checks_actually_ran_and_recorded_their_verdicts(synth: Synthesis) -> None:
    (report_file,) = synth.outdir.glob(f"AwsSolutions-*{STACK_NAME}-NagReport.csv")
    report = report_file.read_text()

    assert '"Non-Compliant"' not in report
    assert report.count('"Suppressed"') == 11
    assert report.count('"Compliant"') > 10


def test_every_acknowledgment_has_a_reason_and_is_expected(synth: Synthesis) -> None:
    seen = set()
    for path, suppression in acknowledgments(synth):
        assert len(suppression["reason"]) >= 40, suppression
        applies_to = suppression.get("applies_to") or [""]
        for finding in applies_to:
            text = f"regex:{finding['regex']}" if isinstance(finding, dict) else finding
            resource = path.removeprefix(f"{STACK_NAME}/").rsplit("/", 1)[0]
            seen.add((resource.removesuffix("/DefaultPolicy"), suppression["id"], text))

    assert seen == EXPECTED_ACKNOWLEDGMENTS


def test_an_unacknowledged_finding_fails_the_synth(tmp_path: Path) -> None:
    context = {**cdk_json_context(), **SKIP_BUNDLING, "instanceId": INSTANCE_ID}
    app = create_app(context=context, outdir=str(tmp_path))
    sqs.Queue(cast(Stack, app.node.find_child(STACK_NAME)), "QueueWithoutTls")

    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()

    report = (tmp_path / "validation-report.json").read_text()
    assert "AwsSolutions-SQS4" in report
    assert f"{STACK_NAME}/QueueWithoutTls/Resource" in report
