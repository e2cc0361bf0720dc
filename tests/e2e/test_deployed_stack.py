"""End to end on a real AWS account: deploy the stack, drop a dry-run file, read the summary the
topic sends, deliver the same object version twice and upload the key again, then destroy.

Opt-in: it runs only with CONNECT_PROFILES_E2E=1 and CONNECT_PROFILES_E2E_INSTANCE_ID set to an
Amazon Connect instance in the Region of the caller's credentials. It deploys the stack
(`ConnectProfiles`) to that account and destroys it afterwards (the job bucket and its access-log
bucket are retained by design: empty and delete them by hand). Dry runs only: nothing in the
Connect instance is changed. It takes about 10 minutes.

    CONNECT_PROFILES_E2E=1 CONNECT_PROFILES_E2E_INSTANCE_ID=<id> .venv/bin/python -m pytest tests/e2e -m e2e
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest

ROOT = Path(__file__).parents[2]
STACK = "ConnectProfiles"
E2E = os.environ.get("CONNECT_PROFILES_E2E") == "1"
INSTANCE_ID = os.environ.get("CONNECT_PROFILES_E2E_INSTANCE_ID", "")
DEPLOY_TIMEOUT = 40 * 60
SUMMARY_TIMEOUT = 10 * 60
QUIET_SECONDS = 120  # how long a duplicate delivery is watched for a second summary

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not E2E,
        reason="e2e tier: runs against a real AWS account only with CONNECT_PROFILES_E2E=1 "
        "(and CONNECT_PROFILES_E2E_INSTANCE_ID)",
    ),
]


@dataclass(frozen=True, slots=True)
class Deployed:
    bucket: str
    topic_arn: str
    alias_arn: str
    queue_url: str


def _cdk(*args: str) -> None:
    """The CDK CLI pinned in package.json (`make install` puts it in node_modules)."""
    npx = shutil.which("npx")
    if npx is None:
        pytest.fail("the e2e tier needs Node.js: npx is not on PATH")
    subprocess.run(
        [npx, "--no-install", "cdk", *args, "-c", f"instanceId={INSTANCE_ID}"],
        cwd=ROOT,
        check=True,
        timeout=DEPLOY_TIMEOUT,
    )


def _outputs(path: Path) -> dict[str, str]:
    document = json.loads(path.read_text())
    return {str(k): str(v) for k, v in document[STACK].items()}


def _alias_arn() -> str:
    resources = boto3.client("cloudformation").describe_stack_resources(StackName=STACK)["StackResources"]
    [alias] = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Lambda::Alias"]
    return str(alias)


def _subscribe_queue(topic_arn: str) -> tuple[str, str]:
    """An SQS queue subscribed to the topic; returns its URL and the subscription ARN."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"connect-profiles-e2e-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    subscription = boto3.client("sns").subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    return str(url), str(subscription)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    if not INSTANCE_ID:
        pytest.fail("CONNECT_PROFILES_E2E=1 needs CONNECT_PROFILES_E2E_INSTANCE_ID (the Connect instance ID)")
    outputs_file = tmp_path_factory.mktemp("cdk") / "outputs.json"
    _cdk("deploy", "--require-approval", "never", "--outputs-file", str(outputs_file))
    queue_url = subscription = ""
    try:
        outputs = _outputs(outputs_file)
        queue_url, subscription = _subscribe_queue(outputs["TopicArn"])
        yield Deployed(outputs["BucketName"], outputs["TopicArn"], _alias_arn(), queue_url)
    finally:
        if subscription:
            boto3.client("sns").unsubscribe(SubscriptionArn=subscription)
        if queue_url:
            boto3.client("sqs").delete_queue(QueueUrl=queue_url)
        _cdk("destroy", "--force")


def _summaries(queue_url: str, file_name: str, *, wait: float, want: int | None = 1) -> list[dict[str, str]]:
    """Summaries naming `file_name` that arrive within `wait` seconds (stops early at `want`)."""
    sqs = boto3.client("sqs")
    found: list[dict[str, str]] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and (want is None or len(found) < want):
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=20)
        for message in response.get("Messages", []):
            envelope = json.loads(message["Body"])
            subject = str(envelope.get("Subject", ""))
            if f": {file_name}: " in subject:
                found.append({"subject": subject, "body": str(envelope["Message"])})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _execution_input(alias_arn: str, key: str, version_id: str) -> dict[str, Any]:
    """The S3 event that started the job for this object version, as the durable execution kept it."""
    client = boto3.client("lambda")
    function, _, qualifier = alias_arn.rpartition(":")
    executions = client.list_durable_executions_by_function(FunctionName=function, Qualifier=qualifier)
    for execution in executions["DurableExecutions"]:
        detail = client.get_durable_execution(DurableExecutionArn=execution["DurableExecutionArn"])
        event = json.loads(detail.get("InputPayload") or "{}")
        for record in event.get("Records", []):
            obj = record["s3"]["object"]
            if obj.get("versionId") == version_id and unquote_plus(obj["key"]) == key:
                return dict(event)
    raise AssertionError(f"no durable execution started for {key} version {version_id}")


def _report_folders(bucket: str, name: str) -> set[str]:
    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"reports/{name}/")
    return {item["Key"].split("/")[2] for page in pages for item in page.get("Contents", [])}


def test_a_dry_run_is_summarised_once_per_object_version(deployed: Deployed) -> None:
    s3 = boto3.client("s3")
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    key, file_name = f"dry-run/{name}.csv", f"{name}.csv"
    content = (
        b"identifier,identifier_type,action,attribute,value,level\r\n"
        b"00000000-0000-4000-8000-000000000000,user_id,add,language,English,3\r\n"
    )

    # Given a dry-run file dropped into the bucket
    first = s3.put_object(Bucket=deployed.bucket, Key=key, Body=content)["VersionId"]
    # Then one summary arrives, marked DRY RUN, with the row's outcome and where the report is
    [summary] = _summaries(deployed.queue_url, file_name, wait=SUMMARY_TIMEOUT)
    assert summary["subject"].startswith(f"DRY RUN Connect profiles: {file_name}: ")
    assert "Nothing was changed" in summary["body"]
    assert f"s3://{deployed.bucket}/reports/{name}/" in summary["body"]
    assert len(_report_folders(deployed.bucket, name)) == 1

    # When S3 delivers the same object version's event again (at-least-once delivery)
    event = _execution_input(deployed.alias_arn, key, first)
    boto3.client("lambda").invoke(
        FunctionName=deployed.alias_arn, InvocationType="Event", Payload=json.dumps(event).encode()
    )
    # Then no second job runs: no summary, no second report folder
    assert _summaries(deployed.queue_url, file_name, wait=QUIET_SECONDS, want=None) == []
    assert len(_report_folders(deployed.bucket, name)) == 1

    # When the same key is uploaded again: a new object version, so a new job
    second = s3.put_object(Bucket=deployed.bucket, Key=key, Body=content)["VersionId"]
    assert second != first
    [again] = _summaries(deployed.queue_url, file_name, wait=SUMMARY_TIMEOUT)
    assert again["subject"] == summary["subject"]
    assert len(_report_folders(deployed.bucket, name)) == 2
