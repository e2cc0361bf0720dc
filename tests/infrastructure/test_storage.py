"""The job bucket: private, TLS-only, encrypted, versioned, logged, tidy; its events reach the alias."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.intrinsics import render, statements
from tests.infrastructure.synthesis import Synthesis

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def bucket(synth: Synthesis, name: str) -> tuple[str, dict[str, Any]]:
    logical_id = synth.logical_id("AWS::S3::Bucket", f"Storage/{name}/")
    return logical_id, synth.resources("AWS::S3::Bucket")[logical_id]["Properties"]


def bucket_policy(synth: Synthesis, bucket_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        resource["Properties"]
        for resource in synth.resources("AWS::S3::BucketPolicy").values()
        if resource["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    return list(statements(policy["PolicyDocument"]))


@pytest.mark.parametrize("name", ["JobBucket", "AccessLogBucket"])
def test_buckets_block_public_access_and_encrypt(synth: Synthesis, name: str) -> None:
    _, properties = bucket(synth, name)

    assert properties["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


@pytest.mark.parametrize("name", ["JobBucket", "AccessLogBucket"])
def test_buckets_refuse_plain_http_and_old_tls(synth: Synthesis, name: str) -> None:
    bucket_id, _ = bucket(synth, name)
    denials = [statement for statement in bucket_policy(synth, bucket_id) if statement["Effect"] == "Deny"]
    everything = [f"${{{bucket_id}.Arn}}", f"${{{bucket_id}.Arn}}/*"]

    assert {"Bool": {"aws:SecureTransport": "false"}} in [denial["Condition"] for denial in denials]
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in [denial["Condition"] for denial in denials]
    for denial in denials:
        assert denial["Action"] == ["s3:*"]
        assert denial["Principal"] == {"AWS": "*"}
        assert sorted(denial["Resource"]) == sorted(everything)


def test_job_bucket_is_versioned_logged_and_retained(synth: Synthesis) -> None:
    bucket_id, properties = bucket(synth, "JobBucket")
    log_bucket_id, _ = bucket(synth, "AccessLogBucket")

    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": log_bucket_id},
        "LogFilePrefix": "job-bucket/",
    }
    resource = synth.resources("AWS::S3::Bucket")[bucket_id]
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_access_logs_are_delivered_by_bucket_policy_to_the_log_prefix(synth: Synthesis) -> None:
    job_bucket_id, _ = bucket(synth, "JobBucket")
    log_bucket_id, _ = bucket(synth, "AccessLogBucket")

    (delivery,) = [
        statement
        for statement in bucket_policy(synth, log_bucket_id)
        if statement["Effect"] == "Allow"
        and statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert delivery["Action"] == ["s3:PutObject"]
    assert delivery["Resource"] == [f"${{{log_bucket_id}.Arn}}/job-bucket/*"]
    assert render(delivery["Condition"]["ArnLike"]["aws:SourceArn"]) == f"${{{job_bucket_id}.Arn}}"


def lifecycle_rules(synth: Synthesis) -> dict[str, dict[str, Any]]:
    _, properties = bucket(synth, "JobBucket")
    return {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}


def test_reports_expire_after_the_retention_setting(synth: Synthesis, variant: Synthesis) -> None:
    expected = {"Id": "ExpireReports", "Prefix": "reports/", "Status": "Enabled"}

    assert lifecycle_rules(synth)["ExpireReports"] == {**expected, "ExpirationInDays": 90}
    assert lifecycle_rules(variant)["ExpireReports"] == {**expected, "ExpirationInDays": 30}


def test_old_versions_and_abandoned_uploads_are_cleaned_up_but_inputs_are_kept(synth: Synthesis) -> None:
    rules = lifecycle_rules(synth)

    assert rules["TidyVersionsAndUploads"] == {
        "Id": "TidyVersionsAndUploads",
        "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        "ExpiredObjectDeleteMarker": True,
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }
    assert sorted(rules) == ["ExpireReports", "TidyVersionsAndUploads"]


def test_access_logs_expire(synth: Synthesis) -> None:
    _, properties = bucket(synth, "AccessLogBucket")

    assert properties["LifecycleConfiguration"]["Rules"] == [
        {"Id": "ExpireAccessLogs", "ExpirationInDays": 365, "Status": "Enabled"}
    ]


def test_new_csv_files_under_incoming_dry_run_and_sync_invoke_the_live_alias(synth: Synthesis) -> None:
    _, notifications = synth.only("Custom::S3BucketNotifications")
    alias_id, _ = synth.only("AWS::Lambda::Alias")
    job_bucket_id, _ = bucket(synth, "JobBucket")

    configurations = notifications["Properties"]["NotificationConfiguration"]
    assert sorted(configurations) == ["LambdaFunctionConfigurations"]
    filters = set()
    for configuration in configurations["LambdaFunctionConfigurations"]:
        assert configuration["Events"] == ["s3:ObjectCreated:*"]
        assert configuration["LambdaFunctionArn"] == {"Ref": alias_id}
        rules = {rule["Name"]: rule["Value"] for rule in configuration["Filter"]["Key"]["FilterRules"]}
        filters.add((rules["prefix"], rules["suffix"]))
    assert filters == {
        ("incoming/", ".csv"),
        ("incoming/", ".CSV"),
        ("dry-run/", ".csv"),
        ("dry-run/", ".CSV"),
        ("sync/", ".csv"),
        ("sync/", ".CSV"),
    }
    assert notifications["Properties"]["BucketName"] == {"Ref": job_bucket_id}


def test_only_s3_from_this_account_and_bucket_may_invoke_the_alias(synth: Synthesis) -> None:
    _, permission = synth.only("AWS::Lambda::Permission")
    alias_id, _ = synth.only("AWS::Lambda::Alias")
    job_bucket_id, _ = bucket(synth, "JobBucket")

    assert permission["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": alias_id},
        "Principal": "s3.amazonaws.com",
        "SourceAccount": {"Ref": "AWS::AccountId"},
        "SourceArn": {"Fn::GetAtt": [job_bucket_id, "Arn"]},
    }
