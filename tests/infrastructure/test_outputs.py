"""What `cdk deploy` prints at the end: where to drop files and where the results arrive."""

from __future__ import annotations

from tests.infrastructure.intrinsics import render
from tests.infrastructure.synthesis import Synthesis


def test_outputs_name_the_bucket_topic_and_how_to_upload(synth: Synthesis) -> None:
    bucket_id = synth.logical_id("AWS::S3::Bucket", "Storage/JobBucket/")
    topic_id, _ = synth.only("AWS::SNS::Topic")
    bucket = f"${{{bucket_id}}}"

    outputs = {name: render(output["Value"]) for name, output in synth.template_json["Outputs"].items()}
    assert outputs["BucketName"] == bucket
    assert outputs["TopicArn"] == f"${{{topic_id}}}"
    assert outputs["UploadCommand"] == f"aws s3 cp changes.csv s3://{bucket}/incoming/changes.csv"
    assert outputs["DryRunCommand"] == f"aws s3 cp changes.csv s3://{bucket}/dry-run/changes.csv"
    assert outputs["ReportsLocation"] == f"s3://{bucket}/reports/"
    assert sorted(outputs) == [
        "BucketName",
        "DashboardUrl",
        "DryRunCommand",
        "FailedEventsQueueUrl",
        "FunctionAlias",
        "ReportsLocation",
        "TopicArn",
        "UploadCommand",
    ]
