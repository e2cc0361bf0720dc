"""Local stand-ins for everything the Lambda job talks to, for tests and `make demo`.

moto in server mode plays S3, SNS, SQS and DynamoDB; the project's emulator plays Amazon Connect.
Both listen on 127.0.0.1 and are reached through the standard `AWS_ENDPOINT_URL_<SERVICE>`
variables, so the code under test runs exactly as deployed. The durable testing runner plays the
Lambda service, invoking the handler as often as the job needs.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import boto3
from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner
from moto.server import ThreadedMotoServer

from connect_emulator import ConnectEmulator, ConnectService, Instance, Quota

REGION = "us-east-1"
BUCKET = "connect-profiles-local"
TABLE = "connect-profiles-idempotency"
TOPIC = "connect-profiles-summary"
QUEUE = "connect-profiles-summary-inbox"

# Everything boto3 must find before any client exists: no real account is ever reached.
BASE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "ConnectProfiles",
    "POWERTOOLS_SERVICE_NAME": "connect-profiles",
}


@dataclass(slots=True)
class Invocation:
    status: str
    result: dict[str, Any] | None
    error: str | None
    invocations: int


class LocalAws:
    """moto server with the product's bucket, topic (and a queue to read it), and table."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""
        self.topic_arn = ""
        self.queue_url = ""

    def start(self) -> LocalAws:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def serialise_requests(self) -> None:
        """Answer one request at a time. moto's conditional writes are not atomic under concurrent
        requests (two `attribute_not_exists` puts can both succeed), which real DynamoDB never
        allows; a test of the lease under concurrency must not fail, or pass, for moto's sake."""
        server = self._server._server
        assert server is not None, "start() first"
        server.app = _OneAtATime(server.app)

    @property
    def environment(self) -> dict[str, str]:
        # Service-specific variables: the durable SDK's own Lambda client must not be redirected.
        return {
            f"AWS_ENDPOINT_URL_{service}": self.endpoint_url for service in ("S3", "SNS", "SQS", "DYNAMODB")
        }

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=REGION)

    def create_resources(self) -> None:
        """The stack's resources, as the CDK stack makes them (versioned bucket, TTL table)."""
        s3 = self.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(
            TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
        )
        sns, sqs = self.client("sns"), self.client("sqs")
        self.topic_arn = sns.create_topic(Name=TOPIC)["TopicArn"]
        self.queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        # Enveloped delivery keeps the Subject, as the email shows it.
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def upload(self, key: str, content: bytes) -> dict[str, Any]:
        """Put an object and return the S3 event notification real S3 would send for it."""
        response = self.client("s3").put_object(Bucket=BUCKET, Key=key, Body=content)
        return s3_event(
            key, size=len(content), etag=response["ETag"].strip('"'), version_id=response.get("VersionId")
        )

    def summaries(self) -> list[dict[str, str]]:
        """Every summary published so far (subject and body), oldest first, consumed."""
        sqs = self.client("sqs")
        received: list[dict[str, str]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = batch.get("Messages", [])
            if not messages:
                return received
            for message in messages:
                envelope = json.loads(message["Body"])
                received.append({"subject": envelope.get("Subject", ""), "body": envelope["Message"]})
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def free_connect_instances(self) -> None:
        """Delete every job's lease on a Connect instance. Tests reuse the sample instance's id, and a
        test that makes a job die holding its lease (as a refused DeleteItem does) would otherwise
        keep the next tests waiting until it expires."""
        dynamodb = self.client("dynamodb")
        pages = dynamodb.get_paginator("scan").paginate(TableName=TABLE, ProjectionExpression="id")
        for page in pages:
            for item in page["Items"]:
                if item["id"]["S"].startswith("lease#"):
                    dynamodb.delete_item(TableName=TABLE, Key={"id": item["id"]})

    def read(self, key: str) -> bytes:
        return bytes(self.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        pages = self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


class _OneAtATime:
    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


def s3_event(
    key: str, *, size: int, etag: str, version_id: str | None, bucket: str = BUCKET, encode: bool = True
) -> dict[str, Any]:
    """An ObjectCreated:Put notification in the shape AWS documents (key URL-encoded, with a
    version id and a sequencer), which moto's own notifications do not have."""
    sequencer = uuid.uuid4().hex[:18].upper()
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2026-11-25T12:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "example"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "incoming-csv",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/") if encode else key,
                        "size": size,
                        "eTag": etag,
                        **({"versionId": version_id} if version_id else {}),
                        "sequencer": sequencer,
                    },
                },
            }
        ]
    }


def start_connect(instance: Instance, quota: Quota | None = None, **options: Any) -> ConnectEmulator:
    """The emulator serving `instance`; `options` go to ConnectService (faults, outages, authorizer)."""
    service = ConnectService(quota=quota, **options)
    service.add_instance(instance)
    return ConnectEmulator(service).start()


def invoke(handler: Any, event: dict[str, Any], *, timeout: int = 600) -> Invocation:
    """Deliver one event to the durable handler through the durable testing runner, which invokes
    it again and again until the execution ends, as the Lambda service does."""
    [invocation] = invoke_together(handler, [event], timeout=timeout)
    return invocation


def invoke_together(handler: Any, events: list[dict[str, Any]], *, timeout: int = 600) -> list[Invocation]:
    """Start one durable execution per event at once (as separate uploads would), and wait for all."""
    with DurableFunctionTestRunner(handler=handler, region=REGION, poll_interval=0.05) as runner:
        arns = [runner.run_async(input=json.dumps(event), execution_timeout=timeout) for event in events]
        invocations = []
        for arn in arns:
            outcome = runner.wait_for_result(arn, timeout=timeout)
            history = runner.get_execution_history(arn)
            count = sum(1 for entry in history.events if entry.event_type == "InvocationCompleted")
            result = json.loads(outcome.result) if outcome.result else None
            error = f"{outcome.error.type}: {outcome.error.message}" if outcome.error else None
            invocations.append(Invocation(str(outcome.status.value), result, error, count))
    return invocations


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
